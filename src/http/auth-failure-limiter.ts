import { normalizeIp } from '@nestjs/throttler';
import type { Clock } from '../common/clock';
import { FixedWindowCounter } from './fixed-window-counter';

const MINUTE_MS = 60_000;

/**
 * Limits guessing API keys: after `limit` wrong keys from one client address in a minute, every request from it
 * that needs a key answers 429 until the minute ends, even one with the right key, so a guesser cannot tell a
 * hit from the answer. Only presented-but-wrong keys count: a request without a key guesses nothing. IPv6
 * addresses count per /64, as a single host usually has the whole prefix. In memory, per instance (see
 * FixedWindowCounter). `limit` 0 turns it off.
 */
export class AuthFailureLimiter {
  private readonly failures: FixedWindowCounter;

  constructor(
    clock: Clock,
    private readonly limit: number,
  ) {
    this.failures = new FixedWindowCounter(clock, MINUTE_MS);
  }

  /** Seconds until the address may try again; 0 when it is not blocked. */
  blockedForSeconds(address: string): number {
    if (this.limit === 0) return 0;
    const { count, resetInMs } = this.failures.peek(normalizeIp(address));
    return count >= this.limit ? Math.max(1, Math.ceil(resetInMs / 1000)) : 0;
  }

  /** Counts one wrong key; true when this failure used up the address's allowance (worth one log line). */
  recordFailure(address: string): boolean {
    if (this.limit === 0) return false;
    return this.failures.hit(normalizeIp(address)).count === this.limit;
  }
}
