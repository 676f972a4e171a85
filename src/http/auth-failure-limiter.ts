import type { Clock } from '../common/clock';
import { FixedWindowCounter } from './fixed-window-counter';

const MINUTE_MS = 60_000;

/**
 * Limits guessing API keys: after `limit` wrong keys from one client (see rateLimitClient) in a minute, every
 * request from it that needs a key answers 429 until the minute ends, even one with the right key, so a guesser
 * cannot tell a hit from the answer. Only presented-but-wrong keys count: a request without a key guesses
 * nothing. In memory, per instance (see FixedWindowCounter). `limit` 0 turns it off.
 */
export class AuthFailureLimiter {
  private readonly failures: FixedWindowCounter;

  constructor(
    clock: Clock,
    private readonly limit: number,
  ) {
    this.failures = new FixedWindowCounter(clock, MINUTE_MS);
  }

  /** Seconds until the client may try again; 0 when it is not blocked. */
  blockedForSeconds(client: string): number {
    if (this.limit === 0) return 0;
    const { count, resetInMs } = this.failures.peek(client);
    return count >= this.limit ? Math.max(1, Math.ceil(resetInMs / 1000)) : 0;
  }

  /** Counts one wrong key; true when this failure used up the client's allowance (worth one log line). */
  recordFailure(client: string): boolean {
    if (this.limit === 0) return false;
    return this.failures.hit(client).count === this.limit;
  }
}
