import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { OutboundAddressError, OutboundAddressPolicy } from '../common/net/outbound-address-policy';
import { ComfyAbortedError, ComfyError, ComfyRequestError, ComfyUnavailableError } from './comfyui.errors';

export interface HttpCall {
  method: 'GET' | 'POST';
  path: string;
  query?: Record<string, string>;
  /** JSON body (sent with `content-type: application/json`). */
  json?: unknown;
  /** A multipart body (uploads); encoded with its boundary by the platform's Response. */
  body?: FormData;
  timeoutMs: number;
  signal?: AbortSignal;
  /**
   * Largest body read from the answer: above it the connection is dropped and the call fails with
   * ComfyUnavailableError (code BODY_TOO_LARGE). Unset: unbounded (downloads of outputs).
   */
  maxBytes?: number;
}

/** One answer. The body is read at most once; an unread body is drained so the connection can be reused. */
export interface ComfyResponse {
  readonly status: number;
  readonly ok: boolean;
  header(name: string): string | undefined;
  text(): Promise<string>;
  buffer(): Promise<Buffer>;
}

/**
 * Free keep-alive sockets are closed after this long. Well below the keep-alive of aiohttp, which serves
 * ComfyUI (75 s by aiohttp's default; not in reference/comfyui.md, so UNVERIFIED), so a request rarely goes out
 * on a socket the server has just closed; when a GET does, it is retried once on a new socket (below).
 */
const FREE_SOCKET_TIMEOUT_MS = 4000;

/**
 * One keep-alive pool per protocol, shared by every client in the process: the dispatcher makes a client per
 * job, and a connection per request would cost a TCP handshake each time. Node's fetch costs several times
 * the CPU of a plain http.request per call (measured by bench:dispatch, see the README).
 */
interface Agents {
  'http:': http.Agent;
  'https:': https.Agent;
}
/**
 * One pool per address policy: a socket connected under one set of rules (e.g. the local workers'
 * allowlist) is never handed to a client held to other rules.
 */
const AGENTS = new WeakMap<OutboundAddressPolicy, Agents>();
function agentsFor(policy: OutboundAddressPolicy): Agents {
  let agents = AGENTS.get(policy);
  if (!agents) {
    agents = {
      'http:': new http.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS }),
      'https:': new https.Agent({ keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS }),
    };
    AGENTS.set(policy, agents);
  }
  return agents;
}

/** Rules for clients given none: the address rules' defaults (metadata and link-local never; private allowed). */
export const DEFAULT_COMFY_ADDRESS_POLICY = new OutboundAddressPolicy();

interface Payload {
  bytes: Buffer;
  contentType: string;
}

/**
 * One call as an observer (metrics) sees it: the path's first segment only (`/history/<id>` is `/history`), so
 * a label never carries a prompt id or file name.
 */
export interface ComfyCallObservation {
  method: HttpCall['method'];
  endpoint: string;
  /** `ok`, or why it failed. `aborted`: the caller's signal (not the server's fault). */
  result:
    | 'ok'
    | 'http_4xx'
    | 'http_5xx'
    | 'invalid_response'
    | 'timeout'
    | 'network'
    | 'refused'
    | 'aborted'
    | 'error';
  durationMs: number;
}

/** Told about every call once it ended. Must not throw; it is never awaited. */
export type ComfyCallObserver = (observation: ComfyCallObservation) => void;

/** The request went out on a kept-alive socket that the server had closed; nothing reached the server. */
class StaleSocketError extends Error {}

/**
 * The HTTP side of one ComfyUI server over node:http with keep-alive. Every call has a timeout that also covers
 * reading the body, and is mapped to typed errors:
 * - network failure, timeout, 5xx → `ComfyUnavailableError`;
 * - the caller's signal → `ComfyAbortedError`;
 * - any other non-2xx, when the caller asked for `ok` → `ComfyRequestError`.
 * - a URL or address the address policy refuses → `ComfyUnavailableError` (code ERR_OUTBOUND_ADDRESS_REFUSED),
 *   before anything is sent: literal IPs are checked up front, host names in the connection's `lookup`.
 */
export class ComfyHttp {
  private readonly agents: Agents;
  /** Why the base URL itself is refused (scheme, credentials, a literal IP), found once. */
  private readonly refusal?: OutboundAddressError;

  constructor(
    readonly baseUrl: string,
    private readonly addressPolicy: OutboundAddressPolicy = DEFAULT_COMFY_ADDRESS_POLICY,
    private readonly observer?: ComfyCallObserver,
  ) {
    this.agents = agentsFor(addressPolicy);
    try {
      addressPolicy.checkUrl(baseUrl);
    } catch (error) {
      this.refusal = error as OutboundAddressError;
    }
  }

  url(path: string, query?: Record<string, string>): string {
    const qs = query ? new URLSearchParams(query).toString() : '';
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ''}`;
  }

  /**
   * Sends the call and hands the response (any status) to `read`, under the same timeout.
   * @throws ComfyUnavailableError | ComfyAbortedError, or whatever `read` throws.
   */
  async send<T>(call: HttpCall, read: (response: ComfyResponse) => Promise<T>): Promise<T> {
    if (!this.observer) return this.sendUnobserved(call, read);
    const startedAt = performance.now();
    let result: ComfyCallObservation['result'] = 'ok';
    try {
      return await this.sendUnobserved(call, read);
    } catch (error) {
      result = callResult(error);
      throw error;
    } finally {
      try {
        this.observer({
          method: call.method,
          endpoint: `/${call.path.split('/')[1] ?? ''}`,
          result,
          durationMs: performance.now() - startedAt,
        });
      } catch {
        // An observer's bug must not change the call's outcome.
      }
    }
  }

  private async sendUnobserved<T>(call: HttpCall, read: (response: ComfyResponse) => Promise<T>): Promise<T> {
    const what = `${call.method} ${call.path}`;
    if (call.signal?.aborted) throw new ComfyAbortedError(call.signal.reason);
    if (this.refusal) throw refusedError(what, this.refusal);
    const payload = await encodeBody(call);
    for (let attempt = 1; ; attempt++) {
      const outcome = { timedOut: false };
      try {
        return await this.exchange(call, payload, read, outcome);
      } catch (error) {
        if (error instanceof ComfyError) throw error;
        if (call.signal?.aborted) throw new ComfyAbortedError(call.signal.reason);
        // Only a GET is sent again: a POST the server might have read must not run twice.
        if (error instanceof StaleSocketError && call.method === 'GET' && attempt === 1) continue;
        if (outcome.timedOut) {
          throw new ComfyUnavailableError(
            `ComfyUI ${what} timed out after ${call.timeoutMs} ms`,
            undefined,
            'TIMEOUT',
            { cause: error },
          );
        }
        const cause = error instanceof StaleSocketError ? error.cause : error;
        if (cause instanceof OutboundAddressError) throw refusedError(what, cause);
        const code = networkCode(cause);
        throw new ComfyUnavailableError(
          `ComfyUI ${what} failed: ${code ?? (cause instanceof Error ? cause.message : String(cause))}`,
          undefined,
          code,
          { cause },
        );
      }
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
      await response.buffer();
    });
  }

  async ensureOk(call: Pick<HttpCall, 'method' | 'path'>, response: ComfyResponse): Promise<void> {
    if (response.ok) return;
    const text = await response.text().catch(() => '');
    const what = `ComfyUI ${call.method} ${call.path} answered ${response.status}${text ? `: ${text.slice(0, 300)}` : ''}`;
    if (response.status >= 500) throw new ComfyUnavailableError(what, response.status);
    throw new ComfyRequestError(what, response.status, text);
  }

  /** One request and its answer; rejects with the raw error (mapped by `send`). */
  private exchange<T>(
    call: HttpCall,
    payload: Payload | undefined,
    read: (response: ComfyResponse) => Promise<T>,
    outcome: { timedOut: boolean },
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const url = new URL(this.url(call.path, call.query));
      const transport = url.protocol === 'https:' ? https : http;
      const headers: Record<string, string | number> = {};
      if (payload) {
        headers['content-type'] = payload.contentType;
        headers['content-length'] = payload.bytes.length;
      }
      let settled = false;
      let responded = false;
      const request = transport.request(url, {
        method: call.method,
        headers,
        agent: url.protocol === 'https:' ? this.agents['https:'] : this.agents['http:'],
        lookup: this.addressPolicy.lookup,
      });
      const timer = setTimeout(() => {
        outcome.timedOut = true;
        request.destroy(new Error('timeout'));
      }, call.timeoutMs);
      const onAbort = () => request.destroy(new Error('aborted by the caller'));
      call.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (error: unknown, value?: T) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        call.signal?.removeEventListener('abort', onAbort);
        if (error === undefined) resolve(value as T);
        else reject(error instanceof Error ? error : new Error('the request failed', { cause: error }));
      };
      request.on('error', (error: NodeJS.ErrnoException) => {
        const stale =
          !responded && request.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE');
        settle(stale ? new StaleSocketError('stale keep-alive socket', { cause: error }) : error);
      });
      request.on('response', (message: IncomingMessage) => {
        responded = true;
        const response = new NodeComfyResponse(message, `${call.method} ${call.path}`, call.maxBytes);
        read(response).then(
          (value) => {
            response.drain();
            settle(undefined, value);
          },
          (error: unknown) => {
            response.drain();
            settle(error);
          },
        );
      });
      request.end(payload?.bytes);
    });
  }
}

class NodeComfyResponse implements ComfyResponse {
  readonly status: number;
  readonly ok: boolean;
  private used = false;

  constructor(
    private readonly message: IncomingMessage,
    private readonly what = '',
    private readonly maxBytes = Infinity,
  ) {
    this.status = message.statusCode ?? 0;
    this.ok = this.status >= 200 && this.status < 300;
  }

  header(name: string): string | undefined {
    const value = this.message.headers[name.toLowerCase()];
    return Array.isArray(value) ? value.join(', ') : value;
  }

  async text(): Promise<string> {
    return (await this.buffer()).toString('utf8');
  }

  buffer(): Promise<Buffer> {
    if (this.used) return Promise.reject(new Error('the response body was already read'));
    this.used = true;
    const message = this.message;
    const tooLarge = () =>
      new ComfyUnavailableError(
        `ComfyUI ${this.what} answered a body over ${this.maxBytes} bytes`,
        this.status,
        'BODY_TOO_LARGE',
      );
    const declared = Number(message.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBytes) {
      message.destroy();
      return Promise.reject(tooLarge());
    }
    return new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      let received = 0;
      message.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > this.maxBytes) {
          // The rest is not read: the socket goes, instead of back to the keep-alive pool.
          reject(tooLarge());
          message.destroy();
          return;
        }
        chunks.push(chunk);
      });
      message.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
      message.on('error', reject);
      message.on('close', () => {
        if (!message.complete) reject(new Error('the connection closed before the body was complete'));
      });
    });
  }

  /** Reads and drops a body nobody asked for, so the keep-alive socket goes back to the pool. */
  drain(): void {
    if (this.used) return;
    this.used = true;
    this.message.on('error', () => undefined);
    this.message.resume();
  }
}

async function encodeBody(call: HttpCall): Promise<Payload | undefined> {
  if (call.json !== undefined) {
    return { bytes: Buffer.from(JSON.stringify(call.json)), contentType: 'application/json' };
  }
  if (call.body) {
    // The platform writes the multipart boundary and parts exactly as fetch would send them.
    const encoded = new Response(call.body);
    return {
      bytes: Buffer.from(await encoded.arrayBuffer()),
      contentType: encoded.headers.get('content-type') ?? 'multipart/form-data',
    };
  }
  return undefined;
}

function refusedError(what: string, refusal: OutboundAddressError): ComfyUnavailableError {
  return new ComfyUnavailableError(
    `ComfyUI ${what} refused: the URL ${refusal.message}`,
    undefined,
    refusal.code,
    {
      cause: refusal,
    },
  );
}

function callResult(error: unknown): ComfyCallObservation['result'] {
  if (error instanceof ComfyAbortedError) return 'aborted';
  if (error instanceof ComfyUnavailableError) {
    if (error.code === 'ERR_OUTBOUND_ADDRESS_REFUSED') return 'refused';
    if (error.code === 'TIMEOUT') return 'timeout';
    if (error.status !== undefined) return error.status >= 500 ? 'http_5xx' : 'invalid_response';
    return 'network';
  }
  if (error instanceof ComfyRequestError) return 'http_4xx';
  return 'error';
}

function networkCode(error: unknown): string | undefined {
  // Node's errors carry `code` (ECONNREFUSED, ...); some wrap it one level deeper in `cause`.
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
