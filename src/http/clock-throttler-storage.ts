import type { ThrottlerStorage } from '@nestjs/throttler';
import type { Clock } from '../common/clock';
import { FixedWindowCounter } from './fixed-window-counter';

/**
 * @nestjs/throttler's storage on our clock: fixed windows of `ttl` ms per key; past `limit` the key is blocked
 * until its window ends (Retry-After = the seconds left). The library's own storage reads Date.now(), which
 * tests cannot move.
 *
 * In memory, per instance: several instances behind a load balancer each count on their own, so the limit is per
 * instance, and a restart forgets the counts. Good enough to stop a runaway script or a brute-force loop; a
 * shared store (e.g. Redis) would be needed for an exact global limit.
 */
/** What the storage answers for one hit (@nestjs/throttler does not export the type from its entry). */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

export class ClockThrottlerStorage implements ThrottlerStorage {
  private readonly counters = new Map<number, FixedWindowCounter>();

  constructor(private readonly clock: Clock) {}

  increment(
    key: string,
    ttl: number,
    limit: number,
    _blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    let counter = this.counters.get(ttl);
    if (!counter) {
      counter = new FixedWindowCounter(this.clock, ttl);
      this.counters.set(ttl, counter);
    }
    const { count, resetInMs } = counter.hit(`${throttlerName}:${key}`);
    const secondsLeft = Math.max(1, Math.ceil(resetInMs / 1000));
    const isBlocked = count > limit;
    return Promise.resolve({
      totalHits: count,
      timeToExpire: secondsLeft,
      isBlocked,
      timeToBlockExpire: isBlocked ? secondsLeft : 0,
    });
  }
}
