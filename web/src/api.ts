/**
 * The one way the dashboard talks to the service: same origin, the key in the Authorization header (never in a
 * URL), JSON in and out. The key lives in sessionStorage: it survives a reload of this tab, not the browser.
 */

const KEY_STORAGE = 'cloud-workers.apiKey';

export function storedKey(): string | null {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

export function storeKey(key: string | null): void {
  try {
    if (key === null) sessionStorage.removeItem(KEY_STORAGE);
    else sessionStorage.setItem(KEY_STORAGE, key);
  } catch {
    // Private mode without storage: the key lasts as long as the page.
  }
}

let currentKey: string | null = storedKey();
let onUnauthorized: () => void = () => undefined;

export function setKey(key: string | null): void {
  currentKey = key;
  storeKey(key);
}

export function getKey(): string | null {
  return currentKey;
}

/** Called when the service answers 401: the key was rotated or is wrong, so the user signs in again. */
export function handleUnauthorized(callback: () => void): void {
  onUnauthorized = callback;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export function authHeaders(key = currentKey): Record<string, string> {
  return key ? { Authorization: `Bearer ${key}` } : {};
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  signal?: AbortSignal;
  /** Sign-in checks a key before it is stored. */
  key?: string | null;
  /** Do not sign out on 401 (the sign-in form reports it itself). */
  quiet401?: boolean;
}

export async function request<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = {
    Accept: 'application/json',
    ...authHeaders(options.key ?? currentKey),
  };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body !== undefined ? JSON.stringify(options.body) : undefined,
      signal: options.signal,
      cache: 'no-store',
    });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'The service cannot be reached', null);
  }
  const text = await response.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  if (!response.ok) {
    if (response.status === 401 && !options.quiet401) onUnauthorized();
    throw new ApiError(response.status, errorMessage(response, body), body);
  }
  return body as T;
}

function errorMessage(response: Response, body: unknown): string {
  if (body && typeof body === 'object' && 'message' in body)
    return String((body as { message: unknown }).message);
  return `${response.status} ${response.statusText || 'error'}`;
}

/** Downloads a protected resource (CSV, an output) with the key in the header, then saves it under `filename`. */
export async function download(path: string, filename: string): Promise<void> {
  const response = await fetch(path, { headers: authHeaders(), cache: 'no-store' });
  if (!response.ok) throw new ApiError(response.status, `Download failed: ${response.status}`, null);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A protected file as an object URL (outputs when signed links are not available). */
export async function blobUrl(path: string): Promise<string> {
  const response = await fetch(path, { headers: authHeaders(), cache: 'no-store' });
  if (!response.ok) throw new ApiError(response.status, `${response.status} for ${path}`, null);
  return URL.createObjectURL(await response.blob());
}
