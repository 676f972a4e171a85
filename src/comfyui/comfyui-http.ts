import { ComfyAbortedError, ComfyError, ComfyRequestError, ComfyUnavailableError } from './comfyui.errors';

export interface HttpCall {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string>;
  /** JSON body (sent with `content-type: application/json`). */
  json?: unknown;
  /** Any other body (e.g. FormData: fetch sets the multipart boundary). */
  body?: FormData;
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * The HTTP side of one ComfyUI server over Node's fetch. Every call has a timeout that also covers reading the
 * body, and is mapped to typed errors:
 * - network failure, timeout, 5xx → `ComfyUnavailableError`;
 * - the caller's signal → `ComfyAbortedError`;
 * - any other non-2xx, when the caller asked for `ok` → `ComfyRequestError`.
 * Responses are always read or cancelled, so no socket is left half-used.
 */
export class ComfyHttp {
  constructor(readonly baseUrl: string) {}

  url(path: string, query?: Record<string, string>): string {
    const qs = query ? new URLSearchParams(query).toString() : '';
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  /**
   * Sends the call and hands the response (any status) to `read`, under the same timeout.
   * @throws ComfyUnavailableError | ComfyAbortedError, or whatever `read` throws.
   */
  async send<T>(call: HttpCall, read: (response: Response) => Promise<T>): Promise<T> {
    const what = `${call.method} ${call.path}`;
    if (call.signal?.aborted) throw new ComfyAbortedError(call.signal.reason);
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, call.timeoutMs);
    const onAbort = () => controller.abort();
    call.signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const headers: Record<string, string> = {};
      let body: string | FormData | undefined = call.body;
      if (call.json !== undefined) {
        headers['content-type'] = 'application/json';
        body = JSON.stringify(call.json);
      }
      const response = await fetch(this.url(call.path, call.query), {
        method: call.method,
        headers,
        body,
        signal: controller.signal,
      });
      try {
        return await read(response);
      } finally {
        if (!response.bodyUsed) await response.body?.cancel().catch(() => undefined);
      }
    } catch (error) {
      if (error instanceof ComfyError) throw error;
      if (call.signal?.aborted) throw new ComfyAbortedError(call.signal.reason);
      if (timedOut)
        throw new ComfyUnavailableError(
          `ComfyUI ${what} timed out after ${call.timeoutMs} ms`,
          undefined,
          'TIMEOUT',
          {
            cause: error,
          },
        );
      const code = networkCode(error);
      throw new ComfyUnavailableError(
        `ComfyUI ${what} failed: ${code ?? (error instanceof Error ? error.message : String(error))}`,
        undefined,
        code,
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
      call.signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A 2xx JSON answer. @throws ComfyUnavailableError (5xx, not JSON) | ComfyRequestError (other non-2xx). */
  json<T = unknown>(call: HttpCall): Promise<T> {
    return this.send(call, async (response) => {
      await this.ensureOk(call, response);
      const text = await response.text();
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new ComfyUnavailableError(
          `ComfyUI ${call.method} ${call.path} answered ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`,
          response.status,
        );
      }
    });
  }

  /** A 2xx answer whose body does not matter (ComfyUI's empty-body 200s). */
  empty(call: HttpCall): Promise<void> {
    return this.send(call, async (response) => {
      await this.ensureOk(call, response);
      await response.arrayBuffer();
    });
  }

  async ensureOk(call: Pick<HttpCall, 'method' | 'path'>, response: Response): Promise<void> {
    if (response.ok) return;
    const text = await response.text().catch(() => '');
    const what = `ComfyUI ${call.method} ${call.path} answered ${response.status}${text ? `: ${text.slice(0, 300)}` : ''}`;
    if (response.status >= 500) throw new ComfyUnavailableError(what, response.status);
    throw new ComfyRequestError(what, response.status, text);
  }
}

function networkCode(error: unknown): string | undefined {
  // undici: TypeError('fetch failed', { cause: { code: 'ECONNREFUSED' } }); some errors nest one level deeper.
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
