import type { Clock } from '../common/clock';

export interface WindowCount {
  /** Hits counted in the current window (including this one, for `hit`). */
  count: number;
  /** Milliseconds until the window ends and the count starts again from zero. */
  resetInMs: number;
}

/**
 * Counts hits per key in fixed windows, in memory, by the injected clock (so tests move time instead of
 * sleeping). In memory means per instance: behind a load balancer with N instances a client gets up to N
 * times the limit. Ended windows are dropped when the map grows, so a flood of distinct keys cannot grow it
 * without bound beyond one window's worth.
 */
export class FixedWindowCounter {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();

  constructor(
    private readonly clock: Clock,
    private readonly windowMs: number,
    private readonly pruneAbove = 10_000,
  ) {}

  hit(key: string): WindowCount {
    const now = this.clock.now();
    let window = this.windows.get(key);
    if (!window || window.endsAt <= now) {
      if (!window && this.windows.size >= this.pruneAbove) this.prune(now);
      window = { count: 0, endsAt: now + this.windowMs };
      this.windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, resetInMs: window.endsAt - now };
  }

  peek(key: string): WindowCount {
    const now = this.clock.now();
    const window = this.windows.get(key);
    if (!window || window.endsAt <= now) return { count: 0, resetInMs: 0 };
    return { count: window.count, resetInMs: window.endsAt - now };
  }

  private prune(now: number): void {
    for (const [key, window] of this.windows) if (window.endsAt <= now) this.windows.delete(key);
  }
}
