import type { LoggerService } from '@nestjs/common';
import axios, { type AxiosInstance, type AxiosResponse } from 'axios';
import { redactSecret } from './redact';
import {
  RunPodAuthError,
  RunPodError,
  RunPodRateLimitError,
  RunPodRequestError,
  RunPodUnavailableError,
} from './runpod.errors';

export interface RunPodHttpOptions {
  apiKey: string;
  /**
   * Other secrets this client sends (RUNPOD_POD_ENV values, in create bodies): scrubbed like the key from every
   * answer it parses and every message it builds, in case RunPod echoes them (a pod's `env` comes back in v2).
   */
  secrets?: readonly string[];
  /** Deadline for one attempt (connect + response body). Default 30000. */
  timeoutMs?: number;
  /** Retries after the first attempt. Default 4 (so at most 5 attempts). */
  maxRetries?: number;
  /** Backoff base: attempt n waits random(0, min(max, base * 2^n)) ("full jitter"). Default 500. */
  retryBaseDelayMs?: number;
  /** Cap on one backoff delay and on an honoured `Retry-After`. Default 10000. */
  retryMaxDelayMs?: number;
  /** Injectable for tests: record delays instead of sleeping. */
  sleep?: (ms: number) => Promise<void>;
  /** Injectable for tests: jitter source in [0, 1). Default Math.random. */
  random?: () => number;
  /**
   * Where retry warnings go. The module should pass `new Logger('RunPod')`. The default writes to the console:
   * @nestjs/common 12 is ESM-only, so importing it at runtime here would keep this file out of the CommonJS jest
   * setup (Node 20); only its types are imported.
   */
  logger?: Pick<LoggerService, 'warn'>;
  /** Sent as User-Agent. */
  userAgent?: string;
  /** Told about every attempt once it has its answer (metrics). Must not throw; it is never awaited. */
  onAttempt?: (attempt: RunPodAttemptObservation) => void;
}

/** One attempt, as an observer sees it: no URL (it may name a pod or endpoint), no body, no key. */
export interface RunPodAttemptObservation {
  method: HttpMethod;
  /** The HTTP status, or undefined when no answer came (see `networkCode`). */
  status?: number;
  /** `TIMEOUT`, `ECONNREFUSED`, ... when no answer came. */
  networkCode?: string;
  durationMs: number;
}

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export interface RunPodHttpRequest {
  method: HttpMethod;
  /** Absolute URL. Must not carry the key (checked). */
  url: string;
  body?: unknown;
  /**
   * Whether repeating the call is harmless. Defaults to true for GET/PATCH/DELETE and false for POST. A
   * non-idempotent call (create a pod, enqueue a serverless job) is retried only when RunPod certainly did not
   * act on it: 429, 503, or a failure to connect. After a timeout, a reset mid-request, 500, 502 or 504 it
   * might have been carried out, and a blind retry could start a second paid pod, so the error goes to the
   * caller (who can look the pod up by its unique name).
   */
  idempotent?: boolean;
}

export interface RunPodHttpResponse {
  status: number;
  /** Parsed JSON, the raw text when it is not JSON, or null for an empty body. Already scrubbed of the key. */
  body: unknown;
  headers: Record<string, string>;
}

/** Network error codes that mean the request never reached RunPod, so even a create is safe to repeat. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/** Statuses after which a non-idempotent call is known not to have been carried out. */
const NOT_PROCESSED_STATUSES = new Set([429, 503]);

const DETAIL_MAX_CHARS = 500;

const CONSOLE_LOGGER: Pick<LoggerService, 'warn'> = {
  warn: (message: unknown) => console.warn(`[RunPod] ${String(message)}`),
};

type Attempt =
  { kind: 'response'; response: RunPodHttpResponse } | { kind: 'network'; code: string; timedOut: boolean };

/**
 * The one HTTP transport for every RunPod call (REST v2, GraphQL, serverless). It owns the key, timeouts,
 * retries and the scrubbing of anything RunPod sends back.
 *
 * Returns the response for 2xx/3xx and for 4xx other than 401/403/429, so each adapter can decide what a 404 or
 * 400 means for its call. Throws `RunPodAuthError` (401/403), `RunPodRateLimitError` (429 after retries) and
 * `RunPodUnavailableError` (network error, timeout, 5xx after retries). Never rethrows an axios error: those carry
 * the request config, headers included.
 */
export class RunPodHttp {
  /** ES private: not visible to JSON.stringify, console.log or `Object.keys`. */
  readonly #apiKey: string;
  readonly #secrets: readonly string[];
  readonly #client: AxiosInstance;
  private readonly timeoutMs: number;
  private readonly maxRetries: number;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly logger: Pick<LoggerService, 'warn'>;
  private readonly onAttempt?: (attempt: RunPodAttemptObservation) => void;

  constructor(options: RunPodHttpOptions) {
    if (!options.apiKey) throw new RunPodError('RunPod API key is empty');
    this.#apiKey = options.apiKey;
    // Longest first, so a secret that contains another is scrubbed whole.
    this.#secrets = [...new Set(options.secrets ?? [])].sort((a, b) => b.length - a.length);
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.maxRetries = Math.max(0, options.maxRetries ?? 4);
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 500;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? 10_000;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? CONSOLE_LOGGER;
    this.onAttempt = options.onAttempt;
    this.#client = axios.create({
      validateStatus: () => true,
      // Raw text: we parse (and scrub) ourselves, and 204 / problem+json / HTML error pages all arrive intact.
      responseType: 'text',
      transformResponse: [(data: unknown) => data],
      // RunPod does not redirect; following one could carry the Authorization header somewhere else.
      maxRedirects: 0,
      headers: {
        Accept: 'application/json',
        'User-Agent': options.userAgent ?? 'comfyui-cloud-workers',
      },
    });
  }

  /** Scrubs the key (and any bearer token / api_key parameter) from text that may be shown or logged. */
  redact(text: string): string {
    return this.#secrets.reduce((out, secret) => redactSecret(out, secret), redactSecret(text, this.#apiKey));
  }

  async request(req: RunPodHttpRequest): Promise<RunPodHttpResponse> {
    if (req.url.includes(this.#apiKey)) {
      // A programming error; say so without echoing the URL.
      throw new RunPodError('Refusing to send a RunPod request whose URL contains the API key');
    }
    const idempotent = req.idempotent ?? req.method !== 'POST';
    const path = this.pathOf(req.url);

    for (let attempt = 0; ; attempt++) {
      const startedAt = performance.now();
      const outcome = await this.attempt(req);
      this.observe(req.method, outcome, performance.now() - startedAt);
      const retryable = this.isRetryable(outcome, idempotent);

      if (outcome.kind === 'response') {
        const { status } = outcome.response;
        if (status === 401 || status === 403) {
          throw new RunPodAuthError(this.describe(req.method, path, outcome.response), status);
        }
        if (!retryable) {
          if (status === 429) throw this.rateLimitError(req.method, path, outcome.response, attempt);
          if (status >= 500) throw this.unavailableError(req.method, path, outcome, attempt);
          return outcome.response;
        }
      } else if (!retryable) {
        throw this.unavailableError(req.method, path, outcome, attempt);
      }

      if (attempt >= this.maxRetries) {
        if (outcome.kind === 'response' && outcome.response.status === 429) {
          throw this.rateLimitError(req.method, path, outcome.response, attempt);
        }
        throw this.unavailableError(req.method, path, outcome, attempt);
      }

      const delayMs = this.delayBeforeRetry(attempt, outcome);
      this.logger.warn(
        `${req.method} ${path} -> ${outcome.kind === 'response' ? outcome.response.status : outcome.code}; ` +
          `retry ${attempt + 1}/${this.maxRetries} in ${delayMs} ms`,
      );
      await this.sleep(delayMs);
    }
  }

  private async attempt(req: RunPodHttpRequest): Promise<Attempt> {
    let response: AxiosResponse<unknown>;
    try {
      response = await this.#client.request({
        method: req.method,
        url: req.url,
        data: req.body === undefined ? undefined : JSON.stringify(req.body),
        headers: {
          Authorization: `Bearer ${this.#apiKey}`,
          ...(req.body === undefined ? {} : { 'Content-Type': 'application/json' }),
        },
        // `timeout` alone is a socket-idle timer in Node; the signal bounds the whole attempt.
        timeout: this.timeoutMs,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      // Keep only a code; the axios error itself (config, headers, request) must go no further.
      return networkOutcome(err);
    }
    return {
      kind: 'response',
      response: {
        status: response.status,
        body: this.parseBody(response.data),
        headers: flattenHeaders(response.headers),
      },
    };
  }

  private observe(method: HttpMethod, outcome: Attempt, durationMs: number): void {
    if (!this.onAttempt) return;
    try {
      this.onAttempt(
        outcome.kind === 'response'
          ? { method, status: outcome.response.status, durationMs }
          : { method, networkCode: outcome.code, durationMs },
      );
    } catch {
      // An observer's bug must not turn a RunPod answer into a failure.
    }
  }

  private isRetryable(outcome: Attempt, idempotent: boolean): boolean {
    if (outcome.kind === 'response') {
      const { status } = outcome.response;
      if (status !== 429 && status < 500) return false;
      return idempotent || NOT_PROCESSED_STATUSES.has(status);
    }
    return idempotent || NOT_SENT_CODES.has(outcome.code);
  }

  private delayBeforeRetry(attempt: number, outcome: Attempt): number {
    if (outcome.kind === 'response' && outcome.response.status === 429) {
      const retryAfter = parseRetryAfterMs(outcome.response.headers['retry-after'], Date.now());
      if (retryAfter !== undefined) return Math.min(retryAfter, this.retryMaxDelayMs);
    }
    const ceiling = Math.min(this.retryMaxDelayMs, this.retryBaseDelayMs * 2 ** attempt);
    return Math.round(this.random() * ceiling);
  }

  private parseBody(data: unknown): unknown {
    if (data === undefined || data === null) return null;
    // responseType 'text' gives a string; a Buffer/other would be a transport surprise: decode, don't guess.
    const text =
      typeof data === 'string' ? data : Buffer.isBuffer(data) ? data.toString('utf8') : JSON.stringify(data);
    if (text.trim() === '') return null;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text) as unknown;
    } catch {
      return this.redact(text);
    }
    // Scrubbed after parsing, value by value: a secret such as a RUNPOD_POD_ENV value "true" or "1024" scrubbed
    // from the raw text replaced JSON literals (the answer no longer parsed), and one with a quote or a
    // backslash is escaped in the text, so it was never found there.
    return this.redactValues(parsed);
  }

  private redactValues(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((item) => this.redactValues(item));
    if (typeof value === 'object' && value !== null)
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.redactValues(item)]));
    return value;
  }

  private pathOf(url: string): string {
    try {
      return new URL(url).pathname;
    } catch {
      return '(invalid url)';
    }
  }

  private describe(method: string, path: string, response: RunPodHttpResponse, suffix = ''): string {
    const detail = describeBody(response.body);
    return this.redact(
      `RunPod ${method} ${path} -> HTTP ${response.status}${suffix}${detail ? `: ${detail}` : ''}`,
    );
  }

  private rateLimitError(
    method: string,
    path: string,
    response: RunPodHttpResponse,
    attempt: number,
  ): RunPodRateLimitError {
    const retryAfter = parseRetryAfterMs(response.headers['retry-after'], Date.now());
    return new RunPodRateLimitError(
      this.describe(method, path, response, ` after ${attempt + 1} attempt(s)`),
      retryAfter,
    );
  }

  private unavailableError(
    method: string,
    path: string,
    outcome: Attempt,
    attempt: number,
  ): RunPodUnavailableError {
    const attempts = ` after ${attempt + 1} attempt(s)`;
    if (outcome.kind === 'response') {
      return new RunPodUnavailableError(
        this.describe(method, path, outcome.response, attempts),
        outcome.response.status,
      );
    }
    const what = outcome.timedOut ? `timed out after ${this.timeoutMs} ms` : `network error ${outcome.code}`;
    return new RunPodUnavailableError(
      this.redact(`RunPod ${method} ${path} ${what}${attempts}`),
      undefined,
      outcome.code,
    );
  }
}

function networkOutcome(err: unknown): Attempt {
  const e = err as { code?: unknown; name?: unknown; cause?: { code?: unknown } };
  const rawCode =
    typeof e?.code === 'string' ? e.code : typeof e?.cause?.code === 'string' ? e.cause.code : '';
  // ERR_CANCELED: our AbortSignal.timeout fired (nothing else cancels). ECONNABORTED/ETIMEDOUT: axios' own timer.
  const timedOut =
    rawCode === 'ERR_CANCELED' ||
    rawCode === 'ECONNABORTED' ||
    rawCode === 'ETIMEDOUT' ||
    e?.name === 'CanceledError' ||
    e?.name === 'TimeoutError';
  const code = timedOut ? 'TIMEOUT' : /^[A-Z0-9_]{2,40}$/.test(rawCode) ? rawCode : 'NETWORK_ERROR';
  return { kind: 'network', code, timedOut };
}

function flattenHeaders(headers: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers ?? {})) {
    if (v === undefined || v === null) continue;
    if (Array.isArray(v)) out[k.toLowerCase()] = v.map((item) => String(item as string)).join(', ');
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean')
      out[k.toLowerCase()] = String(v);
  }
  return out;
}

/**
 * `Retry-After` as delay-seconds or an HTTP-date (RFC 9110 §10.2.3). Returns undefined when absent or unreadable.
 */
export function parseRetryAfterMs(value: string | undefined, nowMs: number): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}

/**
 * RunPod's explanation in any of its error shapes: problem+json `{title,status,detail,errors?}` (REST v2),
 * GraphQL `{errors:[{message}]}`, REST v1 / serverless `{error}` or `{message}` (shapes UNVERIFIED for
 * serverless), or plain text. Truncated; the caller has already scrubbed the body.
 */
export function describeBody(body: unknown): string {
  let text = '';
  if (typeof body === 'string') {
    text = body;
  } else if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>;
    const parts: string[] = [];
    if (typeof b.detail === 'string') parts.push(b.detail.trim());
    else if (typeof b.title === 'string') parts.push(b.title.trim());
    if (Array.isArray(b.errors)) {
      for (const item of b.errors) {
        if (typeof item === 'string') parts.push(item);
        else if (item && typeof (item as { message?: unknown }).message === 'string') {
          parts.push(((item as { message: string }).message ?? '').trim());
        }
      }
    }
    if (!parts.length && typeof b.error === 'string') parts.push(b.error);
    if (!parts.length && typeof b.message === 'string') parts.push(b.message);
    text = parts.join('; ');
  }
  text = text.replace(/\s+/g, ' ').trim();
  return text.length > DETAIL_MAX_CHARS ? `${text.slice(0, DETAIL_MAX_CHARS)}...` : text;
}

/** Builds the error for a 4xx the adapter has no special meaning for. */
export function requestErrorFrom(what: string, response: RunPodHttpResponse): RunPodRequestError {
  const detail = describeBody(response.body);
  const b = response.body as { errors?: unknown } | null;
  const errors =
    b && typeof b === 'object' && Array.isArray(b.errors) && b.errors.every((e) => typeof e === 'string')
      ? b.errors
      : undefined;
  return new RunPodRequestError(
    `${what} rejected by RunPod: HTTP ${response.status}${detail ? `: ${detail}` : ''}`,
    response.status,
    detail || undefined,
    errors,
  );
}
