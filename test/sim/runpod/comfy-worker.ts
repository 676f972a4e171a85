import { randomUUID } from 'node:crypto';
import { httpRequest, type HttpResult, sleep } from './http-util';

/**
 * A TypeScript re-telling of runpod-workers/worker-comfyui 5.x `handler.py` (reference/runpod.md §6), run by the
 * fake's serverless workers against a (fake) ComfyUI over HTTP.
 *
 * Deviation: the real handler waits on ComfyUI's websocket (`executing` with `node: null`, or `execution_error`).
 * This sim worker POLLS `GET /history/{prompt_id}` instead (what worker-comfyui < 5.0 did, §6.4): the history
 * entry appears when execution ends and carries the same `execution_error` payload in `status.messages`, so the
 * job result is the same. A ComfyUI that disappears while we wait is reported with the websocket-path wording.
 * S3 upload (`BUCKET_ENDPOINT_URL`) is simulated by the `s3Upload` option: the test plays the bucket and
 * returns the URL the worker would report (rp_upload.upload_image gives a presigned GET URL).
 */
export interface ComfyWorkerOptions {
  /** `check_server` attempts (GET /). Real: 500 x 50 ms (5.8: unlimited while ComfyUI's PID lives). */
  checkServerRetries?: number;
  checkServerIntervalMs?: number;
  /** Poll interval for GET /history/{id}. */
  historyPollMs?: number;
  /**
   * Set: images are "uploaded" here and reported as `{type: "s3_url", data: <the returned URL>}`, as the real
   * worker does when BUCKET_ENDPOINT_URL is set (reference/runpod.md §6.2). Unset: `type: "base64"`.
   */
  s3Upload?: (jobId: string, filename: string, bytes: Buffer) => string | Promise<string>;
}

/** What the handler returns: `{error, ...rest}` means FAILED (runpod-python moves `error` to the job). */
export type HandlerResult = Record<string, unknown>;

const COMFY_HOST = '127.0.0.1:8188'; // what the real worker prints in its messages

class ValueError extends Error {}
class RequestException extends Error {}
class WebSocketException extends Error {}

/** Python-ish repr, used where the handler formats Python objects into strings. */
function pyRepr(v: unknown): string {
  if (v === null || v === undefined) return 'None';
  if (v === true) return 'True';
  if (v === false) return 'False';
  if (typeof v === 'string') return `'${v.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
  if (typeof v === 'number') return String(v);
  if (Array.isArray(v)) return `[${v.map(pyRepr).join(', ')}]`;
  if (typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>)
      .map(([k, x]) => `${pyRepr(k)}: ${pyRepr(x)}`)
      .join(', ')}}`;
  }
  return typeof v === 'bigint' ? v.toString() : '<unrepresentable>';
}

function httpStatusError(res: HttpResult, url: string): RequestException {
  const kind = res.status >= 500 ? 'Server Error' : 'Client Error';
  return new RequestException(`${res.status} ${kind}: for url: ${url}`);
}

async function req(url: string, opts: Parameters<typeof httpRequest>[1], signal: AbortSignal): Promise<HttpResult> {
  try {
    return await httpRequest(url, { ...opts, signal });
  } catch (e) {
    if (signal.aborted) throw e;
    throw new RequestException(`${(e as Error).message}`);
  }
}

function multipart(fields: Array<{ name: string; filename?: string; contentType?: string; data: Buffer | string }>): {
  body: Buffer;
  contentType: string;
} {
  const boundary = `----simworker${randomUUID().replace(/-/g, '')}`;
  const parts: Buffer[] = [];
  for (const f of fields) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${f.name}"`;
    if (f.filename !== undefined) head += `; filename="${f.filename}"`;
    head += '\r\n';
    if (f.contentType) head += `Content-Type: ${f.contentType}\r\n`;
    parts.push(Buffer.from(`${head}\r\n`), Buffer.isBuffer(f.data) ? f.data : Buffer.from(f.data), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` };
}

interface Validated {
  workflow: unknown;
  images?: Array<{ name: string; image: string }>;
  comfyOrgApiKey?: string;
}

export function validateInput(jobInput: unknown): [Validated | null, string | null] {
  if (jobInput === null || jobInput === undefined) return [null, 'Please provide input'];
  let input = jobInput;
  if (typeof input === 'string') {
    try {
      input = JSON.parse(input);
    } catch {
      return [null, 'Invalid JSON format in input'];
    }
  }
  const obj = (input ?? {}) as Record<string, unknown>;
  const workflow = obj.workflow;
  if (workflow === null || workflow === undefined) return [null, "Missing 'workflow' parameter"];
  const images = obj.images;
  if (images !== null && images !== undefined) {
    if (!Array.isArray(images) || !images.every((i) => typeof i === 'object' && i !== null && 'name' in i && 'image' in i)) {
      return [null, "'images' must be a list of objects with 'name' and 'image' keys"];
    }
  }
  // 5.5+: `comfy_org_api_key` (reference §6.1); older handlers read `api_key_comfy_org`.
  const key = (obj.comfy_org_api_key ?? obj.api_key_comfy_org) as string | undefined;
  return [{ workflow, images: (images ?? undefined) as Validated['images'], comfyOrgApiKey: key }, null];
}

async function checkServer(base: string, retries: number, delayMs: number, signal: AbortSignal): Promise<boolean> {
  for (let i = 0; i < retries; i++) {
    try {
      const res = await httpRequest(`${base}/`, { timeoutMs: 5000, signal });
      if (res.status === 200) return true;
      // Tolerance: a fake ComfyUI without a static index still proves the server is up if /system_stats answers.
      if (res.status === 404) {
        const stats = await httpRequest(`${base}/system_stats`, { timeoutMs: 5000, signal });
        if (stats.status === 200) return true;
      }
    } catch {
      if (signal.aborted) return false;
    }
    await sleep(delayMs);
  }
  return false;
}

async function uploadImages(base: string, images: Array<{ name: string; image: string }>, signal: AbortSignal) {
  const errors: string[] = [];
  const responses: string[] = [];
  for (const image of images) {
    const name = image.name;
    const b64 = image.image.includes(',') ? image.image.split(',', 2)[1] : image.image;
    const blob = Buffer.from(b64, 'base64');
    try {
      const form = multipart([
        { name: 'image', filename: name, contentType: 'image/png', data: blob },
        { name: 'overwrite', data: 'true' },
      ]);
      const url = `${base}/upload/image`;
      const res = await req(url, { method: 'POST', headers: { 'content-type': form.contentType }, body: form.body, timeoutMs: 30000 }, signal);
      if (res.status >= 400) throw httpStatusError(res, url);
      responses.push(`Successfully uploaded ${name}`);
    } catch (e) {
      if (signal.aborted) throw e;
      errors.push(`Error uploading ${name}: ${(e as Error).message}`);
    }
  }
  return errors.length
    ? { status: 'error', message: 'Some images failed to upload', details: errors }
    : { status: 'success', message: 'All images uploaded successfully', details: responses };
}

async function availableCheckpoints(base: string, signal: AbortSignal): Promise<string[]> {
  try {
    const res = await httpRequest(`${base}/object_info`, { timeoutMs: 10000, signal });
    if (res.status !== 200) return [];
    const info = JSON.parse(res.body.toString()) as Record<string, { input?: { required?: Record<string, unknown[]> } }>;
    const opts = info.CheckpointLoaderSimple?.input?.required?.ckpt_name;
    return opts && Array.isArray(opts[0]) ? (opts[0] as string[]) : [];
  } catch {
    return [];
  }
}

async function queueWorkflow(base: string, workflow: unknown, clientId: string, apiKey: string | undefined, signal: AbortSignal) {
  const payload: Record<string, unknown> = { prompt: workflow, client_id: clientId };
  if (apiKey) payload.extra_data = { api_key_comfy_org: apiKey };
  const url = `${base}/prompt`;
  const res = await req(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload), timeoutMs: 30000 }, signal);
  const text = res.body.toString();
  if (res.status === 400) {
    let errorData: Record<string, unknown>;
    try {
      errorData = JSON.parse(text) as Record<string, unknown>;
    } catch {
      throw new ValueError(`ComfyUI validation failed (could not parse error response): ${text}`);
    }
    let errorMessage = 'Workflow validation failed';
    const errorDetails: string[] = [];
    if ('error' in errorData) {
      const info = errorData.error;
      if (info && typeof info === 'object') {
        const i = info as Record<string, unknown>;
        errorMessage = (i.message as string | undefined) ?? errorMessage;
        if (i.type === 'prompt_outputs_failed_validation') errorMessage = 'Workflow validation failed';
      } else errorMessage = String(info);
    }
    if (errorData.node_errors && typeof errorData.node_errors === 'object') {
      for (const [nodeId, nodeError] of Object.entries(errorData.node_errors as Record<string, unknown>)) {
        if (nodeError && typeof nodeError === 'object' && !Array.isArray(nodeError)) {
          for (const [type, msg] of Object.entries(nodeError as Record<string, unknown>)) {
            errorDetails.push(`Node ${nodeId} (${type}): ${typeof msg === 'string' ? msg : pyRepr(msg)}`);
          }
        } else errorDetails.push(`Node ${nodeId}: ${pyRepr(nodeError)}`);
      }
    }
    if (errorDetails.length) {
      let detailed = `${errorMessage}:\n${errorDetails.map((d) => `• ${d}`).join('\n')}`;
      if (errorDetails.some((d) => d.includes('not in list') && d.includes('ckpt_name'))) {
        const ckpts = await availableCheckpoints(base, signal);
        detailed += ckpts.length
          ? `\n\nAvailable checkpoint models: ${ckpts.join(', ')}`
          : '\n\nNo checkpoint models appear to be available. Please check your model installation.';
      }
      throw new ValueError(detailed);
    }
    throw new ValueError(`${errorMessage}. Raw response: ${text}`);
  }
  if (res.status >= 400) throw httpStatusError(res, url);
  return JSON.parse(text) as { prompt_id?: string };
}

interface HistoryEntry {
  outputs?: Record<string, Record<string, unknown>>;
  status?: { status_str?: string; completed?: boolean; messages?: Array<[string, Record<string, unknown>]> };
}

/** Runs one job the way worker-comfyui's `handler(job)` does and returns the handler's dict. */
export async function runComfyHandler(
  comfyBase: string,
  job: { id: string; input: unknown },
  signal: AbortSignal,
  opts: ComfyWorkerOptions = {},
): Promise<HandlerResult> {
  const [validated, error] = validateInput(job.input);
  if (error || !validated) return { error };

  if (!(await checkServer(comfyBase, opts.checkServerRetries ?? 20, opts.checkServerIntervalMs ?? 50, signal))) {
    return { error: `ComfyUI server (${COMFY_HOST}) not reachable after multiple retries.` };
  }

  if (validated.images?.length) {
    const up = await uploadImages(comfyBase, validated.images, signal);
    if (up.status === 'error') return { error: 'Failed to upload one or more input images', details: up.details };
  }

  const clientId = randomUUID();
  const outputData: Array<{ filename: string; type: 'base64' | 's3_url'; data: string }> = [];
  const errors: string[] = [];
  try {
    let promptId: string;
    try {
      const queued = await queueWorkflow(comfyBase, validated.workflow, clientId, validated.comfyOrgApiKey, signal);
      if (!queued.prompt_id) throw new ValueError(`Missing 'prompt_id' in queue response: ${pyRepr(queued)}`);
      promptId = queued.prompt_id;
    } catch (e) {
      if (e instanceof ValueError || signal.aborted) throw e;
      if (e instanceof RequestException) throw new ValueError(`Error queuing workflow: ${e.message}`);
      throw new ValueError(`Unexpected error queuing workflow: ${(e as Error).message}`);
    }

    // Wait for the end of execution (sim: poll /history instead of the websocket, see file comment).
    let entry: HistoryEntry | undefined;
    const historyUrl = `${comfyBase}/history/${encodeURIComponent(promptId)}`;
    for (;;) {
      if (signal.aborted) throw new Error('aborted');
      let res: HttpResult;
      try {
        res = await httpRequest(historyUrl, { timeoutMs: 30000, signal });
      } catch (e) {
        if (signal.aborted) throw e;
        // The real worker loses its websocket, probes http://127.0.0.1:8188/, finds it dead and gives up.
        throw new WebSocketException('ComfyUI HTTP unreachable during websocket reconnect');
      }
      if (res.status === 200) {
        const history = JSON.parse(res.body.toString()) as Record<string, HistoryEntry>;
        if (history[promptId]) {
          entry = history[promptId];
          break;
        }
      }
      await sleep(opts.historyPollMs ?? 100);
    }
    const execError = entry.status?.messages?.find((m) => m[0] === 'execution_error');
    if (execError) {
      const d = execError[1];
      errors.push(
        `Workflow execution error: Node Type: ${String(d.node_type)}, Node ID: ${String(d.node_id)}, Message: ${String(d.exception_message)}`,
      );
    }

    const outputs = entry.outputs ?? {};
    if (Object.keys(outputs).length === 0 && errors.length === 0) errors.push(`No outputs found in history for prompt ${promptId}.`);
    for (const [nodeId, nodeOutput] of Object.entries(outputs)) {
      const images = nodeOutput.images;
      if (Array.isArray(images)) {
        for (const info of images as Array<Record<string, unknown>>) {
          const filename = info.filename as string | undefined;
          const subfolder = (info.subfolder as string | undefined) ?? '';
          const type = info.type as string | undefined;
          if (type === 'temp') continue; // PreviewImage outputs are skipped
          if (!filename) {
            errors.push(`Skipping image in node ${nodeId} due to missing filename: ${pyRepr(info)}`);
            continue;
          }
          const q = new URLSearchParams({ filename, subfolder, type: type ?? 'None' });
          let bytes: Buffer | undefined;
          try {
            const res = await httpRequest(`${comfyBase}/view?${q.toString()}`, { timeoutMs: 60000, signal });
            if (res.status < 400 && res.body.length > 0) bytes = res.body;
          } catch (e) {
            if (signal.aborted) throw e;
          }
          if (bytes && opts.s3Upload) outputData.push({ filename, type: 's3_url', data: await opts.s3Upload(job.id, filename, bytes) });
          else if (bytes) outputData.push({ filename, type: 'base64', data: bytes.toString('base64') });
          else errors.push(`Failed to fetch image data for ${filename} from /view endpoint.`);
        }
      }
      // Other keys (VHS `gifs`, `text`, `audio`, ...) only produce a log line in the real worker.
    }
  } catch (e) {
    if (signal.aborted) throw e;
    if (e instanceof WebSocketException) return { error: `WebSocket communication error: ${e.message}` };
    if (e instanceof RequestException) return { error: `HTTP communication error with ComfyUI: ${e.message}` };
    if (e instanceof ValueError) return { error: e.message };
    return { error: `An unexpected error occurred: ${(e as Error).message}` };
  }

  const result: HandlerResult = {};
  if (outputData.length) result.images = outputData;
  if (errors.length) result.errors = errors;
  if (!outputData.length && errors.length) return { error: 'Job processing failed', details: errors };
  if (!outputData.length && !errors.length) {
    result.status = 'success_no_images';
    result.images = [];
  }
  return result;
}
