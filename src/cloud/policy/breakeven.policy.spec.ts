import {
  breakEvenIdleTimeoutS,
  breakEvenUtilisation,
  decideBreakEvenScale,
  holdForPods,
  mostRecentlyBusyFirst,
  podsFreeInS,
  serverlessPremiumUsd,
  serverlessSlots,
  type BreakEvenInputs,
} from './breakeven.policy';

// Round numbers: pod $0.0001/s, serverless $0.0004/s (u* = 0.25), boot 100 s, horizon 300 s (pod life 400 s).
const base: BreakEvenInputs = {
  podPricePerS: 0.0001,
  serverlessPricePerS: 0.0004,
  serverlessAvailable: true,
  serverlessConcurrency: Infinity,
  serverlessOverheadPerJobS: 0,
  bootS: 100,
  horizonS: 300,
  observedDurationS: { image: 10, video: 200 },
  defaultDurationS: 50,
  queue: [],
  recentCloudArrivals: [],
  pods: [],
  maxPods: 5,
};
const times = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);

describe('break-even policy', () => {
  it('u* is the price ratio and τ* is boot + wait penalty / pod price', () => {
    expect(breakEvenUtilisation(0.0001, 0.0004)).toBe(0.25);
    expect(breakEvenIdleTimeoutS(150, 0, 0.0001)).toBe(150);
    expect(breakEvenIdleTimeoutS(150, 0.01, 0.0001)).toBeCloseTo(250, 9);
    // premium of one 10 s job with 20 s overhead: 0.0004·30 − 0.0001·10 = 0.011
    expect(
      serverlessPremiumUsd({
        podPricePerS: 0.0001,
        serverlessPricePerS: 0.0004,
        jobDurationS: 10,
        serverlessOverheadPerJobS: 20,
      }),
    ).toBeCloseTo(0.011, 12);
  });

  it('spawns when the forecast busy fraction exceeds u*, not at or below it', () => {
    // 10 images in the last horizon = 100 s of work: 100/400 = 0.25, not above u*.
    expect(decideBreakEvenScale({ ...base, recentCloudArrivals: times(10, 'image') }).spawn).toBe(0);
    // 11 images: 110/400 = 0.275 > 0.25.
    const eleven = decideBreakEvenScale({ ...base, recentCloudArrivals: times(11, 'image') });
    expect(eleven).toMatchObject({ spawn: 1, reason: 'break-even', excessWorkS: 110 });
    expect(eleven.firstPodBusyFraction).toBeCloseTo(0.275, 12);
  });

  it("counts serverless's per-job overhead: u* = p_p / (p_s·(1 + o/d))", () => {
    // 6 images (60 s) with 10 s overhead each: u* = 0.25 / 2 = 0.125; 60/400 = 0.15 > 0.125.
    const decision = decideBreakEvenScale({
      ...base,
      serverlessOverheadPerJobS: 10,
      recentCloudArrivals: times(6, 'image'),
    });
    expect(decision.breakEvenUtilisation).toBeCloseTo(0.125, 12);
    expect(decision.spawn).toBe(1);
    expect(decideBreakEvenScale({ ...base, recentCloudArrivals: times(6, 'image') }).spawn).toBe(0);
  });

  it('live pods cover a horizon each; more work asks for more pods, capped by maxPods', () => {
    // 4 videos = 800 s: pod 1 gets 300, pod 2 300, pod 3 200 (0.5 > 0.25).
    const videos = times(4, 'video');
    expect(decideBreakEvenScale({ ...base, recentCloudArrivals: videos }).spawn).toBe(3);
    const onePodUp = decideBreakEvenScale({ ...base, recentCloudArrivals: videos, pods: [{ state: 'busy' }] });
    expect(onePodUp).toMatchObject({ spawn: 2, excessWorkS: 500 });
    expect(decideBreakEvenScale({ ...base, recentCloudArrivals: videos, maxPods: 2 })).toMatchObject({
      spawn: 2,
      cappedByMaxPods: true,
    });
  });

  it('no spawn for a queue serverless drains before a pod could boot; the rest counts', () => {
    // 20 queued images = 200 s; 10 serverless workers do 1,000 s during a 100 s boot.
    const queue = times(20, { jobClass: 'image', podOnly: false });
    expect(decideBreakEvenScale({ ...base, serverlessConcurrency: 10, queue }).spawn).toBe(0);
    // 2 workers do 200 s before boot: 20 images + 2 videos (600 s) leave 400 s: pods 1 (300) and 2 (100 = 0.25, no).
    const bigger = [...queue, ...times(2, { jobClass: 'video', podOnly: false })];
    expect(decideBreakEvenScale({ ...base, serverlessConcurrency: 2, queue: bigger })).toMatchObject({
      spawn: 1,
      excessWorkS: 400,
    });
  });

  it('uses observed durations per class, the default for an unseen class', () => {
    expect(decideBreakEvenScale({ ...base, recentCloudArrivals: ['video'] }).excessWorkS).toBe(200);
    expect(decideBreakEvenScale({ ...base, recentCloudArrivals: ['upscale'] }).excessWorkS).toBe(50);
  });

  it('never strands a pod-only job: one pod when none is starting or ready', () => {
    const queue = [{ jobClass: 'image', podOnly: true }];
    expect(decideBreakEvenScale({ ...base, queue })).toMatchObject({ spawn: 1, reason: 'pod-only-job' });
    expect(decideBreakEvenScale({ ...base, queue, pods: [{ state: 'starting' }] }).spawn).toBe(0);
    expect(decideBreakEvenScale({ ...base, queue, pods: [{ state: 'busy' }] }).spawn).toBe(1);
    expect(decideBreakEvenScale({ ...base, queue, maxPods: 0 })).toMatchObject({ spawn: 0, cappedByMaxPods: true });
  });

  it('without serverless, brings pods to drain the queue within a horizon', () => {
    const queue = times(7, { jobClass: 'video', podOnly: false }); // 1,400 s: 5 pods
    expect(decideBreakEvenScale({ ...base, serverlessAvailable: false, queue, maxPods: 10 }).spawn).toBe(5);
    expect(
      decideBreakEvenScale({ ...base, serverlessAvailable: false, queue: [{ jobClass: 'image', podOnly: false }] })
        .spawn,
    ).toBe(1);
  });

  it('serverless slots: concurrency minus in flight, unlimited when unknown', () => {
    expect(serverlessSlots(7, 10)).toBe(3);
    expect(serverlessSlots(12, 10)).toBe(0);
    expect(serverlessSlots(12, Infinity)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('holds deadline jobs a pod finishes in time; others go to serverless', () => {
    // One pod free in 100 s; margin 50. Job A (100 s, deadline 300): done at 200 ≤ 250, held.
    // Job B (100 s, deadline 300): done at 300 > 250, not held. C has no deadline. D (pod-only) takes the pod.
    const jobs = [
      { durationS: 100, deadlineInS: 300, podOnly: false },
      { durationS: 100, deadlineInS: 300, podOnly: false },
      { durationS: 10, podOnly: false },
      { durationS: 100, podOnly: true },
      { durationS: 10, deadlineInS: 400, podOnly: false },
    ];
    // E: the pod is free at 300 after D; 310 ≤ 350, held.
    expect(holdForPods(jobs, [100], 50)).toEqual([true, false, false, false, true]);
    expect(holdForPods(jobs, [], 50)).toEqual([false, false, false, false, false]);
  });

  it('orders pods most recently busy first', () => {
    const pods = [
      { name: 'a', lastBusyAt: 10 },
      { name: 'b', lastBusyAt: 30 },
      { name: 'c', lastBusyAt: null },
    ];
    expect(mostRecentlyBusyFirst(pods).map((pod) => pod.name)).toEqual(['b', 'a', 'c']);
  });

  it("pods' free times: ready now, booting at created + boot, busy at busy since + mean job (never negative)", () => {
    const now = 1_000_000;
    expect(
      podsFreeInS(
        [
          { state: 'ready', createdAt: now - 500_000, busySince: null },
          { state: 'starting', createdAt: now - 40_000, busySince: null },
          { state: 'starting', createdAt: now - 200_000, busySince: null },
          { state: 'busy', createdAt: now - 500_000, busySince: now - 10_000 },
          { state: 'busy', createdAt: now - 500_000, busySince: now - 90_000 },
        ],
        now,
        150,
        30,
      ),
    ).toEqual([0, 110, 0, 20, 0]);
  });
});
