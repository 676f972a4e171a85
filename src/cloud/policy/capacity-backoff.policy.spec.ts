import { FakeClock, MINUTE, SECOND } from '../../common/clock';
import { capacityBackoffMs, GpuCapacityBackoff } from './capacity-backoff.policy';

describe('GPU capacity back-off', () => {
  it('waits 1 minute after the first "no capacity", doubling on repeats, capped at 30 minutes', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(capacityBackoffMs)).toEqual(
      [1, 2, 4, 8, 16, 30, 30, 30].map((minutes) => minutes * MINUTE),
    );
  });

  it('skips a type until its window ends, and grows the window when it fails again', () => {
    const clock = new FakeClock();
    const backoff = new GpuCapacityBackoff();
    backoff.recordNoCapacity('A', clock.now());
    expect(backoff.isBackedOff('A', clock.now())).toBe(true);
    expect(backoff.isBackedOff('B', clock.now())).toBe(false);

    clock.advance(MINUTE - SECOND);
    expect(backoff.isBackedOff('A', clock.now())).toBe(true);
    clock.advance(SECOND);
    expect(backoff.isBackedOff('A', clock.now())).toBe(false);
    expect(backoff.active(clock.now())).toEqual([]);

    const second = backoff.recordNoCapacity('A', clock.now());
    expect(second).toEqual({ gpuType: 'A', failures: 2, until: clock.now() + 2 * MINUTE });
    expect(backoff.active(clock.now())).toEqual([second]);
  });

  it('forgets a type after a successful create', () => {
    const clock = new FakeClock();
    const backoff = new GpuCapacityBackoff();
    backoff.recordNoCapacity('A', clock.now());
    backoff.recordNoCapacity('A', clock.now());
    backoff.recordSuccess('A');
    expect(backoff.isBackedOff('A', clock.now())).toBe(false);
    expect(backoff.recordNoCapacity('A', clock.now()).failures).toBe(1);
  });

  it('lists active back-offs soonest first', () => {
    const clock = new FakeClock();
    const backoff = new GpuCapacityBackoff();
    backoff.recordNoCapacity('A', clock.now());
    backoff.recordNoCapacity('A', clock.now());
    backoff.recordNoCapacity('B', clock.now());
    expect(backoff.active(clock.now()).map((entry) => entry.gpuType)).toEqual(['B', 'A']);
  });
});
