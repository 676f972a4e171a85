import { decideScale, type ScaleSnapshot } from './autoscale.policy';

const idleFleet: ScaleSnapshot = { waitingForCloud: 0, waitingForPodOnly: 0, starting: 0, ready: 0, busy: 0 };
const settings = { maxPods: 5, autoScaleThreshold: 5 };

describe('decideScale', () => {
  it('spawns ceil(waiting / threshold) pods when the queue exceeds the threshold (seed: 8 waiting -> 2 pods)', () => {
    expect(decideScale({ ...idleFleet, waitingForCloud: 8 }, settings)).toMatchObject({
      spawn: 2,
      reason: 'queue-length',
    });
    expect(decideScale({ ...idleFleet, waitingForCloud: 11 }, settings).spawn).toBe(3);
  });

  it('does nothing at or below the threshold', () => {
    expect(decideScale({ ...idleFleet, waitingForCloud: 5 }, settings).spawn).toBe(0);
    expect(decideScale({ ...idleFleet, waitingForCloud: 3 }, settings).spawn).toBe(0);
  });

  it('counts starting pods, so a second tick does not double-spawn while pods boot', () => {
    const first = decideScale({ ...idleFleet, waitingForCloud: 8 }, settings);
    const second = decideScale({ ...idleFleet, waitingForCloud: 8, starting: first.spawn }, settings);
    expect(second.spawn).toBe(0);
  });

  it('counts ready and busy pods toward the target', () => {
    expect(decideScale({ ...idleFleet, waitingForCloud: 16, ready: 1, busy: 2 }, settings).spawn).toBe(1);
  });

  it('never exceeds maxPods and says it was capped', () => {
    const decision = decideScale({ ...idleFleet, waitingForCloud: 100, busy: 3 }, settings);
    expect(decision).toMatchObject({ spawn: 2, wanted: 20, cappedByMaxPods: true });
    expect(decideScale({ ...idleFleet, waitingForCloud: 100, busy: 5 }, settings).spawn).toBe(0);
  });

  it('spawns one pod for a pod-only job below the threshold when no pod is starting or ready', () => {
    expect(decideScale({ ...idleFleet, waitingForCloud: 1, waitingForPodOnly: 1 }, settings)).toMatchObject({
      spawn: 1,
      reason: 'pod-only-job',
    });
  });

  it('does not spawn for a pod-only job when a pod is already starting or ready', () => {
    expect(
      decideScale({ ...idleFleet, waitingForCloud: 1, waitingForPodOnly: 1, starting: 1 }, settings).spawn,
    ).toBe(0);
    expect(
      decideScale({ ...idleFleet, waitingForCloud: 1, waitingForPodOnly: 1, ready: 1 }, settings).spawn,
    ).toBe(0);
  });

  it('respects maxPods for pod-only jobs too', () => {
    expect(
      decideScale({ ...idleFleet, waitingForCloud: 1, waitingForPodOnly: 1, busy: 5 }, settings).spawn,
    ).toBe(0);
    expect(
      decideScale({ ...idleFleet, waitingForCloud: 1, waitingForPodOnly: 1 }, { ...settings, maxPods: 0 })
        .spawn,
    ).toBe(0);
  });
});
