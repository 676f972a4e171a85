import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The headers of every delivery. The scheme is Stripe's: the signature header carries the time of the attempt
 * and an HMAC-SHA256 (key WEBHOOK_SECRET) of `${t}.${body}` as hex, so a receiver can refuse both a forged body
 * and a replayed old one.
 *
 *   X-CloudWorkers-Signature: t=1767268800,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
 *   X-CloudWorkers-Event: jobCompleted
 *   X-CloudWorkers-Delivery: dlv_...   (the same on every retry of one delivery: deduplicate on it)
 */
export const WEBHOOK_SIGNATURE_HEADER = 'X-CloudWorkers-Signature';
export const WEBHOOK_EVENT_HEADER = 'X-CloudWorkers-Event';
export const WEBHOOK_DELIVERY_HEADER = 'X-CloudWorkers-Delivery';

/** How old a signature a receiver should accept by default (seconds); our retries re-sign with a fresh `t`. */
export const DEFAULT_SIGNATURE_TOLERANCE_S = 300;

function hmacHex(secret: string, timestampS: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestampS}.${body}`).digest('hex');
}

/** The signature header's value for `body` sent at `timestampS` (Unix seconds). */
export function signWebhook(secret: string, timestampS: number, body: string): string {
  return `t=${timestampS},v1=${hmacHex(secret, timestampS, body)}`;
}

/**
 * What a receiver does (exported for receivers written in TypeScript, and for our tests): parse `t` and every
 * `v1`, recompute the HMAC over the raw body exactly as received, compare in constant time, and refuse a `t`
 * further than `toleranceS` from now.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined,
  rawBody: string,
  nowS: number,
  toleranceS = DEFAULT_SIGNATURE_TOLERANCE_S,
): boolean {
  if (!header) return false;
  let timestampS: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const [key, value] = part.trim().split('=', 2);
    if (key === 't' && /^\d{1,12}$/.test(value ?? '')) timestampS = Number(value);
    if (key === 'v1' && /^[0-9a-f]{64}$/.test(value ?? '')) signatures.push(value);
  }
  if (timestampS === undefined || signatures.length === 0) return false;
  if (Math.abs(nowS - timestampS) > toleranceS) return false;
  const expected = Buffer.from(hmacHex(secret, timestampS, rawBody), 'hex');
  return signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected));
}
