import { ComfyRequestError } from '../comfyui/comfyui.errors';
import { CAPABILITY_LIMITS, capabilitiesFrom, type WorkerCapabilities } from './worker-capabilities';

/** The two reads a capability refresh needs (`ComfyUiClient` has them). */
export interface CapabilitySource {
  objectInfo(signal?: AbortSignal): Promise<Record<string, unknown>>;
  models(folder?: string, signal?: AbortSignal): Promise<string[]>;
}

export interface FetchCapabilitiesOptions {
  signal?: AbortSignal;
  /** Clock for `fetchedAt` (ms). Default Date.now. */
  now?: () => number;
  /** Folder listings read at once. Default 4: a worker's ComfyUI scans its disk for each. */
  concurrency?: number;
}

/** /models keys that are not model files. */
const NOT_MODEL_FOLDERS = new Set(['custom_nodes']);

/**
 * Reads a worker's capabilities: `GET /object_info`, `GET /models`, then `GET /models/{folder}` for each folder.
 * A server without `/models` (404: old ComfyUI) gets its model lists from the core loaders' combos instead; a
 * folder that vanished in between (404) is skipped.
 * @throws what the client throws for /object_info or a failing (not 404) listing: the caller keeps the
 *   capabilities it had and retries later.
 */
export async function fetchCapabilities(
  client: CapabilitySource,
  options: FetchCapabilitiesOptions = {},
): Promise<WorkerCapabilities> {
  const { signal } = options;
  const objectInfo = await client.objectInfo(signal);
  const folders = await client.models(undefined, signal).catch(notFoundAs(undefined));
  let listings: Record<string, string[]> | undefined;
  if (folders) {
    const queue = [...new Set(folders)]
      .filter((f) => !NOT_MODEL_FOLDERS.has(f))
      .slice(0, CAPABILITY_LIMITS.maxFolders);
    const found: Array<[string, string[]]> = [];
    const worker = async () => {
      for (let folder = queue.shift(); folder !== undefined; folder = queue.shift()) {
        const files = await client.models(folder, signal).catch(notFoundAs(undefined));
        if (files) found.push([folder, files]);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, worker));
    listings = Object.fromEntries(found.sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  return capabilitiesFrom(objectInfo, listings, (options.now ?? Date.now)());
}

function notFoundAs<T>(value: T): (error: unknown) => T {
  return (error) => {
    if (error instanceof ComfyRequestError && error.status === 404) return value;
    throw error;
  };
}
