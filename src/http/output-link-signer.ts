import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Default and bounds of a signed output link's lifetime, in seconds. */
export const OUTPUT_LINK_DEFAULT_TTL_S = 600;
export const OUTPUT_LINK_MIN_TTL_S = 10;
export const OUTPUT_LINK_MAX_TTL_S = 24 * 3600;

/** Labels the derived key, so an HMAC made for links can never be mistaken for any other use of API_KEY. */
const KEY_LABEL = 'cloud-workers/output-links/v1';

/** The output route's path for one job and file, exactly as links are signed and as Express decodes it back. */
export function outputPath(jobId: string, filename: string): string {
  return `/api/jobs/${encodeURIComponent(jobId)}/outputs/${encodeURIComponent(filename)}`;
}

/**
 * Signs and checks short-lived links to job outputs (`?expires=<unix s>&signature=<hex>`), so a browser can show
 * an output in an <img> or <video> without the API key in a URL or a header.
 *
 * signature = HMAC-SHA256(key, "GET\n<path>\n<expires>"), key = HMAC-SHA256(API_KEY, KEY_LABEL). Every instance
 * with the same API_KEY verifies the same links; the key itself never leaves this class, and a link says nothing
 * about it. Without API_KEY the service is open anyway: links are signed with a random per-process key.
 */
export class OutputLinkSigner {
  private readonly key: Buffer;

  constructor(apiKey: string | undefined) {
    this.key = apiKey ? createHmac('sha256', apiKey).update(KEY_LABEL).digest() : randomBytes(32);
  }

  sign(path: string, expiresUnixSeconds: number): string {
    return createHmac('sha256', this.key).update(`GET\n${path}\n${expiresUnixSeconds}`).digest('hex');
  }

  /** A same-origin URL for `path` valid until `expiresUnixSeconds`. */
  link(path: string, expiresUnixSeconds: number): string {
    return `${path}?expires=${expiresUnixSeconds}&signature=${this.sign(path, expiresUnixSeconds)}`;
  }

  /**
   * True only for a well-formed, unexpired signature of exactly this path. HEAD is checked as GET (Express
   * answers HEAD with the GET handler). Compared in constant time.
   */
  verify(method: string, path: string, expires: unknown, signature: unknown, nowMs: number): boolean {
    if (method !== 'GET' && method !== 'HEAD') return false;
    if (typeof expires !== 'string' || !/^\d{1,12}$/.test(expires)) return false;
    if (typeof signature !== 'string' || !/^[0-9a-f]{64}$/.test(signature)) return false;
    const expiresUnixSeconds = Number(expires);
    if (expiresUnixSeconds * 1000 <= nowMs) return false;
    const expected = Buffer.from(this.sign(path, expiresUnixSeconds), 'hex');
    return timingSafeEqual(expected, Buffer.from(signature, 'hex'));
  }
}
