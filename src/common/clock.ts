/**
 * The one source of "now" for everything that decides by time (boot timeouts, idle reaping, cost accrual).
 * Deadlines are derived from persisted timestamps and `now()` on each tick, never from in-memory timers,
 * so tests move time with a {@link FakeClock} and a restart loses nothing.
 */
export abstract class Clock {
  /** Milliseconds since the Unix epoch. */
  abstract now(): number;

  date(): Date {
    return new Date(this.now());
  }
}

export class SystemClock extends Clock {
  now(): number {
    return Date.now();
  }
}

/**
 * A clock tests control. By default it stands still until `advance()`; with `followRealTime` it also moves
 * with the wall clock, so simulators that take real milliseconds keep working while a test jumps ahead by
 * minutes to cross an idle or boot timeout without sleeping. With `rate` k > 1 it moves k times faster than
 * the wall clock (compressed time: a 150 s boot passes in 150/k real seconds); every real-time interval of the
 * code under test must then be scaled by 1/k too (README "Compressed time").
 */
export class FakeClock extends Clock {
  private offsetMs = 0;
  private readonly realStart = Date.now();

  constructor(
    private readonly startMs = Date.UTC(2026, 0, 1, 12, 0, 0),
    private readonly followRealTime = false,
    private readonly rate = 1,
  ) {
    super();
    if (!(rate > 0)) throw new Error('FakeClock rate must be positive');
  }

  now(): number {
    const real = this.followRealTime ? (Date.now() - this.realStart) * this.rate : 0;
    return this.startMs + real + this.offsetMs;
  }

  advance(ms: number): void {
    if (ms < 0) throw new Error('FakeClock cannot go backwards');
    this.offsetMs += ms;
  }
}

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
