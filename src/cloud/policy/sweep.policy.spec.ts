import { FakeClock, HOUR, MINUTE, SECOND } from '../../common/clock';
import {
  costSinceCreation,
  decideSweep,
  type RemotePod,
  REQUESTED_GRACE_MS,
  type SweptRow,
} from './sweep.policy';

describe('decideSweep', () => {
  let clock: FakeClock;
  beforeEach(() => (clock = new FakeClock()));

  const remote = (id: string, name: string, alive = true): RemotePod => ({
    id,
    name,
    alive,
    createdAt: clock.now() - HOUR,
    costPerHour: 0.44,
  });
  const row = (name: string, state: SweptRow['state'], runpodId: string | null): SweptRow => ({
    name,
    state,
    runpodId,
    requestedAt: clock.now() - HOUR,
    createdAt: runpodId ? clock.now() - HOUR : null,
  });

  it('finds nothing to do when RunPod and our rows agree', () => {
    const decision = decideSweep(
      [remote('p1', 'w-1')],
      [row('w-1', 'ready', 'p1')],
      clock.now(),
      clock.now(),
      'terminate',
    );
    expect(decision).toEqual({ orphans: [], strays: [], attach: [], neverCreated: [], gone: [] });
  });

  it('calls a prefixed pod with no row an orphan, with the configured action', () => {
    const orphan = remote('p9', 'w-9');
    expect(decideSweep([orphan], [], clock.now(), clock.now(), 'terminate').orphans).toEqual([
      { pod: orphan, action: 'terminate' },
    ]);
    expect(decideSweep([orphan], [], clock.now(), clock.now(), 'adopt').orphans).toEqual([
      { pod: orphan, action: 'adopt' },
    ]);
  });

  it('ignores pods RunPod lists as terminated', () => {
    const decision = decideSweep([remote('p9', 'w-9', false)], [], clock.now(), clock.now(), 'terminate');
    expect(decision.orphans).toEqual([]);
  });

  it('terminates a pod still alive at RunPod whose row says it ended', () => {
    const stray = remote('p1', 'w-1');
    expect(
      decideSweep([stray], [row('w-1', 'failed', null)], clock.now(), clock.now(), 'adopt').strays,
    ).toEqual([{ pod: stray, name: 'w-1' }]);
  });

  it('attaches a write-ahead row to the pod RunPod has under its name', () => {
    const pod = remote('p1', 'w-1');
    const pending = { ...row('w-1', 'requested', null), requestedAt: clock.now() };
    expect(decideSweep([pod], [pending], clock.now(), clock.now(), 'terminate').attach).toEqual([
      { name: 'w-1', pod },
    ]);
  });

  it('fails a write-ahead row RunPod does not have, only after the grace period', () => {
    const pending = { ...row('w-1', 'requested', null), requestedAt: clock.now() };
    clock.advance(REQUESTED_GRACE_MS - SECOND);
    expect(decideSweep([], [pending], clock.now(), clock.now(), 'terminate').neverCreated).toEqual([]);
    clock.advance(SECOND);
    expect(decideSweep([], [pending], clock.now(), clock.now(), 'terminate').neverCreated).toEqual(['w-1']);
  });

  it('calls running rows gone when RunPod no longer lists their pod', () => {
    const rows = [
      row('a', 'starting', 'pa'),
      row('b', 'ready', 'pb'),
      row('c', 'busy', 'pc'),
      row('d', 'terminating', 'pd'),
      row('e', 'terminated', 'pe'),
    ];
    expect(decideSweep([], rows, clock.now(), clock.now(), 'terminate').gone).toEqual(['a', 'b', 'c']);
  });

  it('does not call a pod gone that was created after the listing was taken', () => {
    const listedAt = clock.now();
    clock.advance(5 * SECOND);
    const fresh = { ...row('a', 'starting', 'pa'), createdAt: clock.now(), requestedAt: clock.now() };
    expect(decideSweep([], [fresh], listedAt, clock.now(), 'terminate').gone).toEqual([]);
  });

  it('prices what an orphan has cost since RunPod created it', () => {
    const orphan = remote('p9', 'w-9');
    expect(costSinceCreation(orphan, clock.now())).toBeCloseTo(0.44, 10);
    expect(costSinceCreation({ ...orphan, createdAt: null }, clock.now())).toBe(0);
    clock.advance(30 * MINUTE);
    expect(costSinceCreation(orphan, clock.now())).toBeCloseTo(0.66, 10);
  });
});
