/**
 * Bounds on a job's caller metadata. It is stored with the job and returned by GET /api/jobs/:id, so it
 * is kept to what labels need: a body may carry megabytes, metadata may not.
 */
export const MAX_METADATA_BYTES = 64 * 1024;
export const MAX_METADATA_DEPTH = 8;

/**
 * Walks `value` iteratively and stops as soon as it is nested deeper than MAX_METADATA_DEPTH or its JSON
 * would surely exceed MAX_METADATA_BYTES (the estimate counts keys and scalars, never more than the JSON
 * has), so the work is bounded whatever the caller sent.
 */
function boundsProblem(value: unknown): string | null {
  let bytes = 0;
  const pending: Array<[unknown, number]> = [[value, 1]];
  while (pending.length > 0) {
    const [current, depth] = pending.pop()!;
    if (typeof current === 'string') bytes += current.length + 2;
    else if (typeof current !== 'object' || current === null) bytes += String(current).length;
    else {
      if (depth > MAX_METADATA_DEPTH) return `metadata is nested deeper than ${MAX_METADATA_DEPTH} levels`;
      for (const key in current) {
        if (!Object.hasOwn(current, key)) continue;
        bytes += key.length + 3;
        if (bytes > MAX_METADATA_BYTES) break;
        pending.push([(current as Record<string, unknown>)[key], depth + 1]);
      }
    }
    if (bytes > MAX_METADATA_BYTES) {
      return `metadata is over ${MAX_METADATA_BYTES} bytes as JSON; at most that is kept with a job`;
    }
  }
  return null;
}

/** Serializes metadata for storage (`{}` when absent), or returns why it is refused, with a message. */
export function serializeMetadata(
  metadata: unknown,
): { json: string; problem?: undefined } | { json?: undefined; problem: string } {
  if (metadata === undefined) return { json: '{}' };
  if (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata)) {
    return { problem: 'metadata must be a JSON object' };
  }
  const problem = boundsProblem(metadata);
  if (problem) return { problem };
  const json = JSON.stringify(metadata);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_METADATA_BYTES) {
    return {
      problem: `metadata is ${bytes} bytes as JSON; at most ${MAX_METADATA_BYTES} are kept with a job`,
    };
  }
  return { json };
}
