import { FakeClock, HOUR, MINUTE, SECOND } from '../../common/clock';
import { type AgingPod, decideLifetime, decideReaping, type ReapCandidate } from './reaper.policy';

const IDLE_TIMEOUT = 5 * MINUTE;

describe('decideReaping', () => {
  let clock: FakeClock;
  beforeEach(() => (clock = new FakeClock()));

  function readyPod(name: string, idleSince: number, idleMarkedAt: number | null = null): ReapCandidate {
    return { name, state: 'ready', lastBusyAt: idleSince, idleMarkedAt };
  }

  it('leaves a pod idle for less than idleTimeout alone', () => {
    const pod = readyPod('a', clock.now());
    clock.advance(IDLE_TIMEOUT - SECOND);
    expect(decideReaping([pod], clock.now(), IDLE_TIMEOUT)).toEqual({ mark: [], unmark: [], terminate: [] });
  });

  it('marks a pod idle for idleTimeout first, and terminates it only on a later tick if still idle', () => {
    const pod = readyPod('a', clock.now());
    clock.advance(IDLE_TIMEOUT);
    const first = decideReaping([pod], clock.now(), IDLE_TIMEOUT);
    expect(first).toEqual({ mark: ['a'], unmark: [], terminate: [] });

    pod.idleMarkedAt = clock.now();
    clock.advance(5 * SECOND);
    const second = decideReaping([pod], clock.now(), IDLE_TIMEOUT);
    expect(second.terminate).toEqual([{ name: 'a', idleMs: IDLE_TIMEOUT + 5 * SECOND }]);
  });

  it('never reaps a busy pod, however long ago it was last idle', () => {
    const busy: ReapCandidate = { name: 'b', state: 'busy', lastBusyAt: clock.now(), idleMarkedAt: null };
    clock.advance(10 * IDLE_TIMEOUT);
    expect(decideReaping([busy], clock.now(), IDLE_TIMEOUT)).toEqual({ mark: [], unmark: [], terminate: [] });
  });

  it('clears the mark of a pod that got work between the mark and the re-check', () => {
    const marked: ReapCandidate = {
      name: 'c',
      state: 'busy',
      lastBusyAt: clock.now(),
      idleMarkedAt: clock.now(),
    };
    clock.advance(10 * SECOND);
    expect(decideReaping([marked], clock.now(), IDLE_TIMEOUT)).toEqual({
      mark: [],
      unmark: ['c'],
      terminate: [],
    });
  });

  it('clears the mark of a pod whose idle clock restarted after a job', () => {
    const start = clock.now();
    clock.advance(IDLE_TIMEOUT);
    const pod = readyPod('d', clock.now() - MINUTE, start);
    expect(decideReaping([pod], clock.now(), IDLE_TIMEOUT).unmark).toEqual(['d']);
  });

  it('does not terminate in the same tick it marks (the mark time must be in the past)', () => {
    const pod = readyPod('e', clock.now());
    clock.advance(IDLE_TIMEOUT);
    pod.idleMarkedAt = clock.now();
    expect(decideReaping([pod], clock.now(), IDLE_TIMEOUT)).toEqual({ mark: [], unmark: [], terminate: [] });
  });

  it('ignores pods that are not ready yet', () => {
    const booting: ReapCandidate = { name: 'f', state: 'starting', lastBusyAt: null, idleMarkedAt: null };
    clock.advance(10 * IDLE_TIMEOUT);
    expect(decideReaping([booting], clock.now(), IDLE_TIMEOUT)).toEqual({
      mark: [],
      unmark: [],
      terminate: [],
    });
  });
});

describe('decideLifetime', () => {
  const LIFETIME = 2 * HOUR;
  let clock: FakeClock;
  beforeEach(() => (clock = new FakeClock()));

  const aging = (
    name: string,
    state: AgingPod['state'],
    drainRequestedAt: number | null = null,
  ): AgingPod => ({
    name,
    state,
    createdAt: clock.now(),
    drainRequestedAt,
  });

  it('does nothing without CLOUD_MAX_POD_LIFETIME', () => {
    const pods = [aging('a', 'ready')];
    clock.advance(100 * HOUR);
    expect(decideLifetime(pods, clock.now(), undefined)).toEqual({ terminate: [], drain: [] });
  });

  it('terminates a ready pod older than the lifetime, and not one a second younger', () => {
    const pods = [aging('a', 'ready')];
    clock.advance(LIFETIME - SECOND);
    expect(decideLifetime(pods, clock.now(), LIFETIME)).toEqual({ terminate: [], drain: [] });
    clock.advance(SECOND);
    expect(decideLifetime(pods, clock.now(), LIFETIME)).toEqual({ terminate: ['a'], drain: [] });
  });

  it('drains a busy pod past the lifetime once, and terminates it when it is ready again', () => {
    const pod = aging('a', 'busy');
    clock.advance(LIFETIME);
    expect(decideLifetime([pod], clock.now(), LIFETIME)).toEqual({ terminate: [], drain: ['a'] });
    pod.drainRequestedAt = clock.now();
    expect(decideLifetime([pod], clock.now(), LIFETIME)).toEqual({ terminate: [], drain: [] });
    pod.state = 'ready';
    expect(decideLifetime([pod], clock.now(), LIFETIME)).toEqual({ terminate: ['a'], drain: [] });
  });

  it('leaves booting pods to the boot deadline', () => {
    const pods = [aging('a', 'starting'), { ...aging('b', 'requested'), createdAt: null }];
    clock.advance(10 * LIFETIME);
    expect(decideLifetime(pods, clock.now(), LIFETIME)).toEqual({ terminate: [], drain: [] });
  });
});

describe('decideReaping with per-pod timeouts', () => {
  it("uses a pod's own timeout when given, and the common one otherwise", () => {
    const now = 1_000_000;
    const pods = [
      { name: 'kept', state: 'ready' as const, lastBusyAt: now - 60_000, idleMarkedAt: null },
      { name: 'released', state: 'ready' as const, lastBusyAt: now - 60_000, idleMarkedAt: null },
      { name: 'other', state: 'ready' as const, lastBusyAt: now - 60_000, idleMarkedAt: null },
    ];
    const decision = decideReaping(pods, now, 300_000, { kept: 300_000, released: 0 });
    expect(decision.mark).toEqual(['released']);
  });
});
