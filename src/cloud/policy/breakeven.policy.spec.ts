import {
  breakEvenIdleTimeoutS,
  breakEvenUtilisation,
  decideBreakEvenScale,
  expectedDurationS,
  holdForLiveOrNewPods,
  holdForPods,
  idlePodTimeoutsS,
  jobClassOf,
  learnedIdleTimeoutS,
  mostRecentlyBusyFirst,
  podsFreeInS,
  podWaitAllowanceS,
  serverlessPremiumUsd,
  serverlessSlots,
  UNKNOWN_JOB_CLASS,
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
    const onePodUp = decideBreakEvenScale({
      ...base,
      recentCloudArrivals: videos,
      pods: [{ state: 'busy' }],
    });
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
    expect(decideBreakEvenScale({ ...base, queue, maxPods: 0 })).toMatchObject({
      spawn: 0,
      cappedByMaxPods: true,
    });
  });

  it('without serverless, brings pods to drain the queue within a horizon', () => {
    const queue = times(7, { jobClass: 'video', podOnly: false }); // 1,400 s: 5 pods
    expect(decideBreakEvenScale({ ...base, serverlessAvailable: false, queue, maxPods: 10 }).spawn).toBe(5);
    expect(
      decideBreakEvenScale({
        ...base,
        serverlessAvailable: false,
        queue: [{ jobClass: 'image', podOnly: false }],
      }).spawn,
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

  it('puts a job in its kind, or the unknown class (the mean job) for a row from before kinds', () => {
    expect(jobClassOf('video')).toBe('video');
    expect(jobClassOf(null)).toBe(UNKNOWN_JOB_CLASS);
    expect(expectedDurationS(jobClassOf(null), { image: 6, video: 240 }, 30)).toBe(30);
    expect(expectedDurationS(jobClassOf('video'), { image: 6, video: 240 }, 30)).toBe(240);
  });

  it("frees a busy pod when its running job's expected end says, not a mean job after its start", () => {
    const now = 1_000_000;
    const busy = { state: 'busy' as const, createdAt: now - 500_000, busySince: now - 10_000 };
    expect(
      podsFreeInS(
        [
          // A 4-minute video 10 s in: free in 230 s, where the mean job (30 s) said 20 s.
          { ...busy, busyUntil: now + 230_000 },
          // Its end already passed (the estimates move it on; a stale one counts as now).
          { ...busy, busyUntil: now - 5_000 },
          // No estimate (a job started before a restart), or a broken one: the mean job, as before.
          { ...busy, busyUntil: undefined },
          { ...busy, busyUntil: Number.NaN },
        ],
        now,
        150,
        30,
      ),
    ).toEqual([230, 0, 20, 20]);
  });

  it('holds a job for a pod that starts it within the wait target, counting what it has waited', () => {
    // Pods free in 10 s and 40 s; wait target 30 s; 20 s jobs, no deadline.
    const job = { durationS: 20, podOnly: false };
    // A starts at 10 (held); B on the same pod at 30 (held); C waited 25 s: pod 2 at 40, 65 > 30 (not held).
    expect(holdForPods([job, job, { ...job, waitedS: 25 }], [10, 40], 0, 30)).toEqual([true, true, false]);
    // Wait target 0 and no allowance per run second: only deadlines hold.
    expect(holdForPods([job], [0], 0, 0, 0)).toEqual([false]);
    // The default wait target holds a job for a pod free now.
    expect(holdForPods([job], [0], 0)).toEqual([true]);
  });

  it('replayed arrivals: a steady stream buys a pod, the same volume in one burst does not', () => {
    // Pod $0.0001/s, serverless $0.0004/s (4x), no overhead. Window 600 s: a pod is worth starting when the
    // serverless bill of what it would have taken, over the window and over its last third, beats its cost.
    const steady = Array.from({ length: 20 }, (_, i) => ({ agoS: 10 + i * 29, jobClass: 'thirty' }));
    const inputs = {
      ...base,
      observedDurationS: { thirty: 30 },
      arrivalWindowS: 600,
      podWaitTargetS: 30,
      spawnEvidenceZ: 0,
    };
    // 20 × 30 s on rank 0, each 1 s later than the last: 561 s busy up to now, 0.935 of the window.
    const steadyDecision = decideBreakEvenScale({ ...inputs, recentArrivals: steady });
    expect(steadyDecision).toMatchObject({ spawn: 1, reason: 'break-even', podsWorthKeeping: 1 });
    expect(steadyDecision.firstPodBusyFraction).toBeCloseTo(561 / 600, 9);
    // 20 at once: each rank takes 2 (60 s of 600: 0.1), below u*: no pod, none worth keeping.
    const burst = Array.from({ length: 20 }, () => ({ agoS: 300, jobClass: 'thirty' }));
    expect(decideBreakEvenScale({ ...inputs, recentArrivals: burst })).toMatchObject({
      spawn: 0,
      podsWorthKeeping: 0,
    });
    // The old volume forecast would have bought pods for the burst.
    expect(decideBreakEvenScale({ ...inputs, recentCloudArrivals: burst.map((a) => a.jobClass) }).spawn).toBe(
      2,
    );
    // Evidence: less 1 standard error of 20 jobs (×(1 − 1/√20)) it still pays; 4 old jobs (none in the last
    // third of the window) do not.
    expect(decideBreakEvenScale({ ...inputs, spawnEvidenceZ: 1, recentArrivals: steady }).spawn).toBe(1);
    const four = steady.slice(16).map((a) => ({ ...a }));
    expect(decideBreakEvenScale({ ...inputs, spawnEvidenceZ: 1, recentArrivals: four }).spawn).toBe(0);
    // A live pod already covers rank 0.
    expect(decideBreakEvenScale({ ...inputs, recentArrivals: steady, pods: [{ state: 'busy' }] }).spawn).toBe(
      0,
    );
  });

  it('idle timeouts: pods worth keeping get τ*, the others the release time', () => {
    const pods = [
      { name: 'old', state: 'ready' as const, lastBusyAt: 10 },
      { name: 'busy', state: 'busy' as const, lastBusyAt: 5 },
      { name: 'warm', state: 'ready' as const, lastBusyAt: 30 },
      { name: 'boot', state: 'starting' as const, lastBusyAt: null },
    ];
    // Ranks: busy, warm, old, boot. Two worth keeping: busy and warm keep 200 s; old and boot 0.
    expect(idlePodTimeoutsS(pods, 2, 200)).toEqual({ busy: 200, warm: 200, old: 0, boot: 0 });
    expect(idlePodTimeoutsS(pods, 0, 200, 60)).toEqual({ busy: 60, warm: 60, old: 60, boot: 60 });
    // Never longer than τ*.
    expect(idlePodTimeoutsS(pods, 0, 50, 60).old).toBe(50);
    // A rank's gap timeout lengthens its kept pod's wait, never shortens it, and leaves the others alone.
    expect(idlePodTimeoutsS(pods, 2, 200, 0, [1800, null, 900])).toEqual({
      busy: 1800,
      warm: 200,
      old: 0,
      boot: 0,
    });
    expect(idlePodTimeoutsS(pods, 2, 200, 0, [20, 20])).toEqual({ busy: 200, warm: 200, old: 0, boot: 0 });
    expect(idlePodTimeoutsS(pods, 2, 200, 0, []).warm).toBe(200);
  });

  describe('the idle timeout learned from gaps', () => {
    // Pod $0.0001/s; a re-buy costs $0.01, i.e. 100 s of idling.
    const options = { minSamples: 3, keepThroughS: 1800 };

    it('idles through gaps shorter than a re-buy: every gap at most 100 s, then the pod is kept through a window', () => {
      // Each gap costs its idling (≤ $0.008) against $0.01 released: keeping through all of them is cheapest,
      // and the longest one seen is only the sample's edge.
      expect(learnedIdleTimeoutS([20, 50, 80, 60], 0.01, 0.0001, options)).toBe(1800);
      expect(learnedIdleTimeoutS([20, 50, 80, 60], 0.01, 0.0001, { minSamples: 3, keepThroughS: 0 })).toBe(
        80,
      );
    });

    it('releases at once when gaps are far longer than a re-buy', () => {
      // τ = 0: 3 × $0.01 = $0.03; τ = 300: 3 × $0.03 = $0.09 (+ more for the longer ones).
      expect(learnedIdleTimeoutS([300, 500, 900], 0.01, 0.0001, options)).toBe(0);
    });

    it('bursty gaps: waits out the short gaps of a burst, not the long ones between bursts', () => {
      // 20 gaps of 2 s inside bursts, 4 of an hour between them. τ = 2: 20 × $0.0002 + 4 × ($0.0002 + $0.01)
      // = $0.0448; τ = 0: 24 × $0.01 = $0.24; τ = 3600: 20 × $0.0002 + 4 × $0.36 = $1.444.
      const gaps = [...Array.from({ length: 20 }, () => 2), 3600, 3600, 3600, 3600];
      expect(learnedIdleTimeoutS(gaps, 0.01, 0.0001, options)).toBe(2);
    });

    it('needs enough gaps, a price and a re-buy cost', () => {
      expect(learnedIdleTimeoutS([20, 50], 0.01, 0.0001, options)).toBeNull();
      expect(learnedIdleTimeoutS([20, 50, 80], 0.01, 0, options)).toBeNull();
      expect(learnedIdleTimeoutS([20, 50, 80], NaN, 0.0001, options)).toBeNull();
      // Not a number or negative: not a gap.
      expect(learnedIdleTimeoutS([20, NaN, -5, 50], 0.01, 0.0001, options)).toBeNull();
    });
  });

  it("gap window: each kept pod's idle timeout comes from its rank's own idle gaps in the replay", () => {
    // Pod $0.0001/s, serverless $0.0004/s, 20 s of overhead per serverless job: releasing a pod costs a 100 s
    // boot ($0.01) and the premium of a 50 s mean job ($0.0004 × 70 − $0.0001 × 50 = $0.023): 330 s of pod time.
    const inputs = {
      ...base,
      serverlessOverheadPerJobS: 20,
      observedDurationS: { thirty: 30 },
      arrivalWindowS: 1800,
      podWaitTargetS: 30,
      pods: [{ state: 'ready' as const }],
    };
    // A 30 s job every 2 min for 2 h: rank 0 takes them all, idle 90 s between them (59 gaps), each cheaper to
    // idle through than buying the pod again: kept through an arrival window. The other ranks take no job.
    const stream = Array.from({ length: 60 }, (_, i) => ({ agoS: 60 + i * 120, jobClass: 'thirty' }));
    const decided = decideBreakEvenScale({ ...inputs, recentArrivals: stream, gapWindowS: 7200 });
    expect(decided.podsWorthKeeping).toBe(1);
    expect(decided.gapTimeoutsS).toEqual([1800, null, null, null, null]);
    // Over the arrival window alone rank 0 has 14 gaps: fewer than GAP_TIMEOUT_MIN_SAMPLES, so τ* applies.
    expect(decideBreakEvenScale({ ...inputs, recentArrivals: stream }).gapTimeoutsS[0]).toBeNull();
    // A job every 5 min for 4 h: idle 270 s each time, more than the premium alone (230 s) but less than a boot
    // and the premium: kept through.
    const fives = Array.from({ length: 48 }, (_, i) => ({ agoS: 60 + i * 300, jobClass: 'thirty' }));
    expect(
      decideBreakEvenScale({ ...inputs, recentArrivals: fives, gapWindowS: 14_400 }).gapTimeoutsS[0],
    ).toBe(1800);
    // A job every 10 min for 6 h: idle 570 s each time, more than buying the pod again: released at once.
    const sparse = Array.from({ length: 36 }, (_, i) => ({ agoS: 60 + i * 600, jobClass: 'thirty' }));
    expect(
      decideBreakEvenScale({ ...inputs, recentArrivals: sparse, gapWindowS: 21_600 }).gapTimeoutsS[0],
    ).toBe(0);
    // Gaps of 570 s say nothing for keeping: the stream's pod is kept only as the arrival window values it.
    expect(
      decideBreakEvenScale({ ...inputs, recentArrivals: sparse, gapWindowS: 21_600 }).podsWorthKeeping,
    ).toBe(0);
    // Without serverless nothing is learned (a released pod's next job waits for a boot: τ* decides).
    expect(
      decideBreakEvenScale({
        ...inputs,
        recentArrivals: stream,
        gapWindowS: 7200,
        serverlessAvailable: false,
      }).gapTimeoutsS,
    ).toEqual([]);
  });

  it('keeps a pod whose idle gaps are all worth idling through, though the arrival window lacks a long job', () => {
    // 6 s images every 2 min for 2 h, and a 300 s video 50 and 90 minutes ago. 20 s of overhead per serverless
    // job; releasing a pod costs a boot and a mean job's premium, 330 s of pod time.
    const images = Array.from({ length: 60 }, (_, i) => ({ agoS: 30 + i * 120, jobClass: 'image' }));
    const videos = [3000, 5400].map((agoS) => ({ agoS, jobClass: 'video' }));
    const inputs = {
      ...base,
      serverlessOverheadPerJobS: 20,
      observedDurationS: { image: 6, video: 300 },
      arrivalWindowS: 1800,
      podWaitTargetS: 30,
      recentArrivals: [...images, ...videos],
      pods: [{ state: 'ready' as const }],
    };
    // The last 30 minutes hold 15 images: (15 × 6 s + 15 × 20 s) × 4 = 1,560 s of serverless against 1,800 s
    // of pod. On that alone the pod goes.
    expect(decideBreakEvenScale(inputs).podsWorthKeeping).toBe(0);
    // Its rank idled at most 114 s between jobs over the 2 h, each gap cheaper than buying the pod again: it
    // stays, and through 30 minutes without a job.
    const decided = decideBreakEvenScale({ ...inputs, gapWindowS: 7200 });
    expect(decided.podsWorthKeeping).toBe(1);
    expect(decided.gapTimeoutsS[0]).toBe(1800);
  });

  it('keeps a pod the gap window values above its price, through an arrival window without a job', () => {
    // Clusters of four 10 s jobs every 5 minutes, the last 20 minutes ago: rank 0 takes each cluster within the
    // 30 s wait target. 20 s of overhead per serverless job: a cluster is (40 s + 4 × 20 s) × 4 = 480 s of pod
    // time on serverless.
    const clusters = Array.from({ length: 18 }, (_, c) =>
      Array.from({ length: 4 }, () => ({ agoS: 1200 + c * 300, jobClass: 'ten' })),
    ).flat();
    const inputs = {
      ...base,
      serverlessOverheadPerJobS: 20,
      observedDurationS: { ten: 10 },
      arrivalWindowS: 1800,
      podWaitTargetS: 30,
      recentArrivals: clusters,
      pods: [{ state: 'ready' as const }],
    };
    // The last 30 minutes hold two clusters (960 s against 1,800 s), and rank 0 had 17 gaps, too few to learn a
    // timeout from: on those alone the pod goes.
    expect(decideBreakEvenScale(inputs)).toMatchObject({ podsWorthKeeping: 0 });
    expect(decideBreakEvenScale(inputs).gapTimeoutsS[0]).toBeNull();
    // Over the 2 h gap window the 18 clusters are 8,640 s against 7,200 s: kept, through 30 minutes without a job.
    const decided = decideBreakEvenScale({ ...inputs, gapWindowS: 7200 });
    expect(decided.podsWorthKeeping).toBe(1);
    expect(decided.gapTimeoutsS).toEqual([1800, null, null, null, null]);
    // Two clusters fewer (the oldest): 7,680 s against 7,200 s, still kept; four fewer: 6,720 s, released.
    const fewer = (n: number) => clusters.filter((a) => a.agoS < 1200 + (18 - n) * 300);
    expect(
      decideBreakEvenScale({ ...inputs, recentArrivals: fewer(2), gapWindowS: 7200 }).podsWorthKeeping,
    ).toBe(1);
    expect(decideBreakEvenScale({ ...inputs, recentArrivals: fewer(4), gapWindowS: 7200 })).toMatchObject({
      podsWorthKeeping: 0,
      gapTimeoutsS: [null, null, null, null, null],
    });
  });

  it('a long job may wait longer for a pod: the larger of the wait target and a fraction of its run', () => {
    expect(podWaitAllowanceS(30, 30, 0.5)).toBe(30);
    expect(podWaitAllowanceS(240, 30, 0.5)).toBe(120);
    expect(podWaitAllowanceS(240, 0, 0)).toBe(0);
    // A 240 s video waits 100 s for a busy pod; a 20 s image would not.
    expect(holdForPods([{ durationS: 240, podOnly: false }], [100], 0, 30, 0.5)).toEqual([true]);
    expect(holdForPods([{ durationS: 20, podOnly: false }], [100], 0, 30, 0.5)).toEqual([false]);
  });

  it('holds for a pod the next scaling pass may start, and says which jobs need it', () => {
    // No live pod; one may be started, up in 155 s. A 1,900 s video (allowance 950 s) and a deadline job wait
    // for it; a 6 s image does not (allowance 30 s).
    const jobs = [
      { durationS: 1900, podOnly: false },
      { durationS: 6, podOnly: false },
      { durationS: 100, deadlineInS: 3600, podOnly: false },
    ];
    expect(holdForLiveOrNewPods(jobs, [], 1, 155, 120, 30, 0.5)).toEqual({
      hold: [true, false, true],
      forNewPod: [true, false, true],
    });
    // A live pod free now takes the video; the deadline job still fits on it (1,900 + 100 ≤ 3,480).
    expect(holdForLiveOrNewPods(jobs, [0], 1, 155, 120, 30, 0.5)).toEqual({
      hold: [true, false, true],
      forNewPod: [false, false, false],
    });
    // No room for a new pod: only live pods count.
    expect(holdForLiveOrNewPods(jobs, [], 0, 155)).toEqual({
      hold: [false, false, false],
      forNewPod: [false, false, false],
    });
  });

  it('a job held for a new pod counts as pod work: the pod is started', () => {
    const queue = [{ jobClass: 'video', podOnly: false, heldForNewPod: true }];
    expect(decideBreakEvenScale({ ...base, queue })).toMatchObject({ spawn: 1 });
    expect(decideBreakEvenScale({ ...base, queue: [{ jobClass: 'video', podOnly: false }] }).spawn).toBe(0);
  });
});

describe('decideBreakEvenScale with local workers', () => {
  const base = {
    podPricePerS: 0.34 / 3600,
    serverlessPricePerS: 0.00034,
    serverlessAvailable: false,
    serverlessConcurrency: 0,
    serverlessOverheadPerJobS: 0,
    bootS: 150,
    horizonS: 230,
    observedDurationS: {},
    defaultDurationS: 60,
    recentCloudArrivals: [],
    pods: [],
    maxPods: 5,
  };
  const waiting = (n: number, mayRunLocally: boolean) =>
    Array.from({ length: n }, () => ({ jobClass: 'job', podOnly: false, mayRunLocally }));

  it('spawns nothing for jobs the busy local workers drain before a pod could boot', () => {
    expect(decideBreakEvenScale({ ...base, queue: waiting(4, true), localSlots: 2 }).spawn).toBe(0);
  });

  it('spawns for what the local workers cannot drain in a boot, and for jobs no local worker may take', () => {
    expect(decideBreakEvenScale({ ...base, queue: waiting(12, true), localSlots: 2 }).spawn).toBeGreaterThan(
      0,
    );
    expect(decideBreakEvenScale({ ...base, queue: waiting(4, false), localSlots: 2 }).spawn).toBeGreaterThan(
      0,
    );
  });
});

describe('decideBreakEvenScale for jobs held for a new pod', () => {
  it('starts the pod the holds count on, even when the forecast would not', () => {
    const decision = decideBreakEvenScale({
      podPricePerS: 0.34 / 3600,
      serverlessPricePerS: 0.00034,
      serverlessAvailable: true,
      serverlessConcurrency: 10,
      serverlessOverheadPerJobS: 0,
      bootS: 150,
      horizonS: 1728,
      observedDurationS: {},
      defaultDurationS: 600,
      queue: [
        { jobClass: 'job', podOnly: false },
        { jobClass: 'job', podOnly: false, heldForNewPod: true },
      ],
      recentCloudArrivals: [],
      recentArrivals: [],
      pods: [{ state: 'starting' }],
      maxPods: 5,
    });
    expect(decision).toMatchObject({ spawn: 1, reason: 'held-for-new-pod' });
  });
});
