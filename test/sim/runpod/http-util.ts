import { type IncomingMessage, request as httpRequestRaw, type ServerResponse } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';

/** Small HTTP helpers shared by the fake's route modules. */

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function readBody(req: IncomingMessage, limitBytes = 50 * 1024 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > limitBytes) throw new HttpError(413, 'payload too large');
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON body; an empty body gives `undefined`. Throws HttpError(400) on malformed JSON. */
export function parseJson(body: Buffer): unknown {
  if (body.length === 0) return undefined;
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'malformed JSON body');
  }
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
  contentType = 'application/json',
): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, headers);
  res.end();
}

export function sendText(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(text);
}

export const STATUS_TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  413: 'Content Too Large',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** REST v2 errors: RFC 9457 problem+json `{title,status,detail,errors?}` (V2OAS `ErrorResponse`). */
export function sendProblem(
  res: ServerResponse,
  status: number,
  detail: string,
  extra: { errors?: string[]; headers?: Record<string, string> } = {},
): void {
  const body: Record<string, unknown> = { title: STATUS_TITLES[status] ?? 'Error', status, detail };
  if (extra.errors) body.errors = extra.errors;
  sendJson(res, status, body, extra.headers ?? {}, 'application/problem+json');
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    setTimeout(resolve, ms);
  });
}

const ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Lowercase alphanumeric id like RunPod's pod ids (14 chars, e.g. `50qynxzilsxoey`). */
export function randomId(length = 14): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += ALNUM[bytes[i] % ALNUM.length];
  return out;
}

export function randomDigits(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += String(bytes[i] % 10);
  return out;
}

export { randomUUID };

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** Minimal HTTP client (node:http), used by the sim's worker to talk to ComfyUI and to post webhooks. */
export function httpRequest(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer | string; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequestRaw(url, { method: opts.method ?? 'GET', headers: opts.headers, signal: opts.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    const timeoutMs = opts.timeoutMs;
    if (timeoutMs) {
      req.setTimeout(timeoutMs, () => req.destroy(new Error(`Read timed out. (read timeout=${timeoutMs / 1000})`)));
    }
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}
