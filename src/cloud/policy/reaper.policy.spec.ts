import { FakeClock, MINUTE, SECOND } from '../../common/clock';
import { decideReaping, type ReapCandidate } from './reaper.policy';

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
