import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** Which configured key a request presented. */
export type KeyMatch = 'admin' | 'read' | 'none' | 'wrong';

/** Compares in constant time: both sides are hashed first, so neither content nor length leaks by timing. */
function sameSecret(presented: Buffer, expected: Buffer): boolean {
  return timingSafeEqual(createHash('sha256').update(presented).digest(), expected);
}

/** The key a request carries: `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
export function presentedKey(headers: IncomingHttpHeaders): string | undefined {
  const authorization = headers.authorization;
  if (authorization && /^bearer /i.test(authorization)) {
    const bearer = authorization.slice('bearer '.length).trim();
    if (bearer) return bearer;
  }
  const header = headers['x-api-key'];
  const value = Array.isArray(header) ? header[0] : header;
  return value?.trim() || undefined;
}

/**
 * The configured API keys, held only as SHA-256 digests (the plain keys are not kept here, so they cannot end
 * up in a log line or an error by accident).
 */
export class ApiKeyCredentials {
  private readonly adminDigest: Buffer | undefined;
  private readonly readDigest: Buffer | undefined;

  constructor(adminKey: string | undefined, readKey: string | undefined) {
    this.adminDigest = adminKey ? createHash('sha256').update(adminKey).digest() : undefined;
    this.readDigest = readKey ? createHash('sha256').update(readKey).digest() : undefined;
  }

  /** False when API_KEY is unset: the service then runs unauthenticated on loopback only. */
  get enabled(): boolean {
    return this.adminDigest !== undefined;
  }

  match(presented: string | undefined): KeyMatch {
    if (presented === undefined) return 'none';
    const bytes = Buffer.from(presented);
    // Both comparisons always run, so the time taken does not tell which key was close.
    const admin = this.adminDigest ? sameSecret(bytes, this.adminDigest) : false;
    const read = this.readDigest ? sameSecret(bytes, this.readDigest) : false;
    if (admin) return 'admin';
    if (read) return 'read';
    return 'wrong';
  }
}
