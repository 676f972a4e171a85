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
