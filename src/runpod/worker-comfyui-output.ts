/**
 * worker-comfyui's wire format (the RunPod serverless handler that runs ComfyUI): how it reports failures and
 * how it returns images. Pure functions; the serverless executor stores what they describe.
 */

/**
 * worker-comfyui (5.x) reports failures as a plain `error` string (reference runpod.md §6.3). These mean the
 * workflow itself is wrong, so running it elsewhere gives the same answer. Everything else (a raised
 * exception serialized as JSON, "not reachable", websocket/HTTP errors with ComfyUI, timeouts) is
 * infrastructure: the seed's "fallback to on-demand if serverless fails" re-runs the job on a pod.
 */
const WORKFLOW_ERROR_PREFIXES = [
  'Workflow validation failed',
  'Workflow execution error',
  "Missing 'workflow' parameter",
  'Invalid JSON format in input',
  'Please provide input',
  "'images' must be a list",
];

export function isServerlessWorkflowError(error: string | undefined, output: unknown): boolean {
  if (!error) return false;
  if (WORKFLOW_ERROR_PREFIXES.some((prefix) => error.startsWith(prefix))) return true;
  // "Job processing failed" carries the execution errors in `details` (UNVERIFIED whether /status shows them).
  if (error.startsWith('Job processing failed')) {
    const details = (output as { details?: unknown } | undefined)?.details;
    return JSON.stringify(details ?? '').includes('Workflow execution error');
  }
  return false;
}

/** A raised exception arrives as a JSON string; show its message rather than the whole blob. */
export function readableServerlessError(error: string | undefined): string {
  if (!error) return 'serverless job failed without an error message';
  try {
    const parsed = JSON.parse(error) as { error_message?: string; error_type?: string };
    if (parsed.error_message) return `${parsed.error_type ?? 'error'}: ${parsed.error_message}`;
  } catch {
    // not JSON: the handler's own message
  }
  return error;
}

/** One image of a completed job's output, as worker-comfyui sends it. */
export type WorkerComfyImage =
  /** `type: "s3_url"`: a presigned URL to download (ServerlessOutputDownloader). */
  | { filename: string; kind: 'url'; url: string }
  /** `type: "base64"` (a `data:` URL prefix is allowed): the bytes themselves. */
  | { filename: string; kind: 'bytes'; bytes: Buffer }
  /** An entry with no `data`: the job's output is broken. */
  | { filename: string; kind: 'missing' };

export interface WorkerComfyOutput {
  images: WorkerComfyImage[];
  /** Non-fatal problems the handler reported next to its images (5.x `errors`). */
  errors: string[];
}

interface RawImage {
  filename?: string;
  type?: string;
  data?: string;
}

/**
 * Reads a COMPLETED job's `output`: 5.x `{images: [{filename, type, data}], errors?}`, or worker-comfyui < 5.0's
 * single image as `message` (base64, or a URL when it starts with `http`). An image without a filename is
 * `output_<n>.png` (1-based).
 */
export function parseWorkerComfyOutput(output: unknown): WorkerComfyOutput {
  const raw = (output ?? {}) as { images?: RawImage[]; errors?: string[]; message?: string };
  const images: RawImage[] =
    raw.images ??
    (raw.message
      ? [
          {
            filename: 'output.png',
            type: raw.message.startsWith('http') ? 's3_url' : 'base64',
            data: raw.message,
          },
        ]
      : []);
  return {
    errors: raw.errors ?? [],
    images: images.map((image, index): WorkerComfyImage => {
      const filename = image.filename ?? `output_${index + 1}.png`;
      const data = image.data;
      if (!data) return { filename, kind: 'missing' };
      if (image.type === 's3_url') return { filename, kind: 'url', url: data };
      const comma = data.startsWith('data:') ? data.indexOf(',') : -1;
      return {
        filename,
        kind: 'bytes',
        bytes: Buffer.from(comma >= 0 ? data.slice(comma + 1) : data, 'base64'),
      };
    }),
  };
}
