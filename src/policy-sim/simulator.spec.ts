import { createPolicy, POLICY_NAMES } from './baselines';
import { runSimulation } from './engine';
import { lowerBound } from './lower-bound';
import {
  coldStartQuantileS,
  DEFAULT_MODEL,
  fakeRunpodModel,
  serverlessNoticeS,
  withoutFailures,
  type SimModel,
} from './model';
import { SEED_DEFAULTS, SeedPolicy } from './seed-policy';
import { parseTrace } from './trace-file';
import { upperBound } from './upper-bound';
import { buildWorkload, ISSUE_WORKLOAD_NAMES, type SimJob, type Workload } from './workloads';

/** Pods only, no failures, a fixed 150 s boot and a 1 s tick: the setting of the §6.6 adversarial check. */
const podsOnly: SimModel = {
  ...withoutFailures(DEFAULT_MODEL),
  podBootMinS: 150,
  podBootMaxS: 150,
  tickS: 1,
};

/** Single 1 s jobs spaced so that every idle gap outlasts the timeout (gap = T + boot + job + margin). */
function gapTrace(timeoutS: number, count: number): Workload {
  const spacing = timeoutS + 150 + 1 + 10;
  const jobs: SimJob[] = Array.from({ length: count }, (_, id) => ({
    id,
    arrivalS: 10 + id * spacing,
    durationS: 1,
    kind: 'image',
  }));
  return { name: 'gaps', jobs, horizonS: 10 + count * spacing };
}

describe('policy simulator', () => {
  it.each([
    ['the seed reaper (5 min) with a 150 s boot', 300_000, 3.0],
    ['a break-even reaper (T = B = 150 s)', 150_000, 2.0],
  ])('the adversarial gap trace measures 1 + T/B for %s', (_label, idleTimeoutMs, ratio) => {
    const count = 150;
    const workload = gapTrace(idleTimeoutMs / 1000, count);
    const policy = new SeedPolicy('pods', { ...SEED_DEFAULTS, serverlessConfigured: false, idleTimeoutMs });
    const result = runSimulation(workload, policy, { model: podsOnly, seed: 1 });
    const pp = podsOnly.podPricePerHour / 3600;
    const beta = pp * 150;
    expect(result.podLaunches).toBe(count);
    expect(result.lost).toBe(0);
    // Policy: a boot per job plus T idle after each; offline optimum: the first boot plus min(g·p_p, β) = β per gap.
    const measured = (result.costUsd - result.breakdown.podBusy - beta) / ((count - 1) * beta);
    expect(measured).toBeGreaterThan(ratio - 0.01);
    expect(measured).toBeLessThan(ratio + 0.05);
  });

  it('gives every policy the same trace and draws (common random numbers) and is deterministic', () => {
    const workload = buildWorkload('bursty-gamma', { days: 0.25, seed: 7, mix: 'mixed' });
    const again = buildWorkload('bursty-gamma', { days: 0.25, seed: 7, mix: 'mixed' });
    expect(again.jobs).toEqual(workload.jobs);
    const run = () =>
      runSimulation(workload, createPolicy('seed', { model: DEFAULT_MODEL, workload, seed: 7 }), {
        model: DEFAULT_MODEL,
        seed: 7,
      });
    const first = run();
    const second = run();
    expect(second.costUsd).toBe(first.costUsd);
    expect(second.waits).toEqual(first.waits);
  });

  it('routes a job by its id, whatever its place in the trace (a trace as the service ran it is not in id order)', () => {
    // The agreement test's batch: 80 jobs of 30 s within 4 s, due 900 s later, on the fake RunPod (3 workers).
    const batch = (idOf: (i: number) => number): Workload => ({
      name: 'batch-ids',
      jobs: Array.from({ length: 80 }, (_, i) => ({
        id: idOf(i),
        arrivalS: 5 + i * 0.05,
        durationS: 30,
        kind: 'image' as const,
        deadlineS: 905,
      })),
      horizonS: 905,
    });
    const model = { ...fakeRunpodModel(3), tickS: 5 };
    const run = (workload: Workload) =>
      runSimulation(workload, createPolicy('breakeven', { model, workload, seed: 1 }), { model, seed: 1 });
    const inOrder = run(batch((i) => i));
    // Neighbours swap ids, as submission order and recorded arrival order differ by a few milliseconds.
    const swapped = run(batch((i) => i ^ 1));
    expect(inOrder.deadlineMisses).toBe(0);
    expect(swapped.deadlineMisses).toBe(0);
    expect(swapped.podLaunches).toBe(inOrder.podLaunches);
    expect(swapped.costUsd).toBeCloseTo(inOrder.costUsd, 2);
    expect(() => run(batch(() => 7))).toThrow(/job id 7 twice/);
  });

  it('retries failed jobs: with failure injection every job still completes when pods can take retries', () => {
    const model: SimModel = {
      ...DEFAULT_MODEL,
      serverlessCrashProb: 0.2,
      jobErrorProb: 0.05,
      podBootFailureProb: 0.3,
    };
    const workload = buildWorkload('steady-high', { days: 0.1, seed: 3, mix: 'image' });
    const result = runSimulation(workload, createPolicy('ski-rental', { model, workload, seed: 3 }), {
      model,
      seed: 3,
    });
    expect(result.podBootFailures).toBeGreaterThan(0);
    expect(result.completed + result.lost).toBe(result.jobs);
    expect(result.lost).toBeLessThanOrEqual(Math.ceil(result.jobs * 0.01));
    expect(result.invalidActions).toBe(0);
  });

  it("LB(W) is at most the bill of every policy and the clairvoyant UB, with W = that policy's own max wait", async () => {
    const model = withoutFailures(DEFAULT_MODEL);
    for (const name of ['steady-high', 'bursty-mmpp'] as const) {
      const workload = buildWorkload(name, { days: 2 / 24, seed: 11, mix: 'mixed' });
      const ub = upperBound(workload.jobs, model, 120, 11);
      const lb120 = await lowerBound(workload.jobs, workload.horizonS, model, { waitS: 120, slotS: 10 });
      expect(lb120.status).toBe('optimal');
      if (ub.lateJobs === 0) expect(lb120.costUsd).toBeLessThanOrEqual(ub.costUsd + 1e-9);
      let checked = 0;
      for (const policyName of POLICY_NAMES) {
        const result = runSimulation(workload, createPolicy(policyName, { model, workload, seed: 11 }), {
          model,
          seed: 11,
        });
        // A policy that never ran some jobs did less work than the bound prices (seed-no-overflow strands the
        // last < 6 jobs of a trace: below the threshold nothing spawns a pod when serverless is configured).
        if (result.lost > 0) continue;
        checked++;
        const lb = await lowerBound(workload.jobs, workload.horizonS, model, {
          waitS: Math.ceil(result.waitMax),
          slotS: 10,
        });
        expect(lb.costUsd).toBeGreaterThan(0);
        expect(lb.costUsd).toBeLessThanOrEqual(result.costUsd + 1e-9);
      }
      expect(checked).toBeGreaterThanOrEqual(POLICY_NAMES.length - 1);
    }
  });

  it('reads a CSV and a JSONL trace (relative seconds or ISO times, optional fields)', () => {
    const csv = parseTrace(
      'arrival,duration_s,gpu_class,signature,deadline\n10,6,,sdxl,\n0,240,NVIDIA A40,wan,3600\n',
      't.csv',
      'csv',
    );
    expect(csv.jobs.map((j) => [j.arrivalS, j.durationS, j.kind, j.signature, j.deadlineS])).toEqual([
      [0, 240, 'video', 'wan', 3600],
      [10, 6, 'image', 'sdxl', undefined],
    ]);
    const jsonl = parseTrace(
      '{"arrival":"2026-01-05T00:00:30Z","duration_s":5}\n{"arrival":"2026-01-05T00:00:00Z","duration_s":7,"kind":"video"}\n',
      't.jsonl',
      'jsonl',
    );
    expect(jsonl.jobs.map((j) => [j.id, j.arrivalS, j.kind])).toEqual([
      [0, 0, 'video'],
      [1, 30, 'image'],
    ]);
  });

  it("builds the issue's workloads for --minutes 30 --mix const:30", () => {
    const opts = { days: 7, minutes: 30, seed: 1, mix: 'const:30' as const };
    const [low, high, bursty, batch] = ISSUE_WORKLOAD_NAMES.map((name) => buildWorkload(name, opts));
    for (const w of [low, high, bursty, batch]) {
      expect(w.horizonS).toBe(1800);
      expect(w.jobs.every((j) => j.durationS === 30 && j.arrivalS < 1800)).toBe(true);
    }
    // Poisson 1 / 2 min and 4 / min over 30 minutes: 15 and 120 expected.
    expect(low.jobs.length).toBeGreaterThan(5);
    expect(low.jobs.length).toBeLessThan(30);
    expect(high.jobs.length).toBeGreaterThan(90);
    expect(high.jobs.length).toBeLessThan(150);
    // 20 at once every 10 min from t = 0; 100 at once at t = 0.
    expect([...new Set(bursty.jobs.map((j) => j.arrivalS))]).toEqual([0, 600, 1200]);
    expect(bursty.jobs).toHaveLength(60);
    expect(batch.jobs).toHaveLength(100);
    expect(batch.jobs.every((j) => j.arrivalS === 0)).toBe(true);
  });

  it('--model fake-runpod: serverless bills execution only on a fixed worker count, pods boot in 150 s', () => {
    const model = fakeRunpodModel(10);
    const batch = buildWorkload('issue-batch', { days: 1, minutes: 30, seed: 1, mix: 'const:30' });
    const serverless = runSimulation(
      batch,
      createPolicy('always-serverless', { model, workload: batch, seed: 1 }),
      {
        model,
        seed: 1,
      },
    );
    // 100 x 30 s at $0.00034/s, nothing else; ten at a time, so the last ten start after 270 s.
    expect(serverless.costUsd).toBeCloseTo(100 * 30 * 0.00034, 9);
    expect(serverless.breakdown.serverlessCold + serverless.breakdown.serverlessIdle).toBeCloseTo(0, 9);
    expect(serverless.coldStarts).toBe(10);
    expect(serverless.waitMax).toBeCloseTo(270, 6);
    expect(serverless.lost).toBe(0);

    const pods = runSimulation(batch, createPolicy('always-pods', { model, workload: batch, seed: 1 }), {
      model,
      seed: 1,
    });
    expect(pods.podLaunches).toBe(model.maxPods);
    expect(pods.podBootFailures).toBe(0);
    // The first jobs start when the first pods are ready: one tick (spawn) plus the fixed 150 s boot.
    expect(Math.min(...pods.waits)).toBeGreaterThanOrEqual(150);
    expect(Math.min(...pods.waits)).toBeLessThanOrEqual(150 + model.tickS);
  });
});

describe("the cold starts' p90 the simulated router is given (the service learns it from its cold starts)", () => {
  it('is a FlashBoot miss in the default mixture and 0 on the fake, whose workers start at once', () => {
    // Half hits (~2 s), 49.5% misses U(30, 60), 0.5% tail: P(<= x) = 0.5 + 0.495 (x - 30) / 30 = 0.9 at x ~ 54 s.
    const p90 = coldStartQuantileS(DEFAULT_MODEL, 0.9);
    expect(p90).toBeGreaterThan(51);
    expect(p90).toBeLessThan(57);
    expect(coldStartQuantileS(DEFAULT_MODEL, 0.9)).toBe(p90); // a fixed sample: deterministic
    expect(coldStartQuantileS(DEFAULT_MODEL, 0.4)).toBeLessThan(10);
    expect(coldStartQuantileS(fakeRunpodModel(3), 0.9)).toBe(0);
  });
});

describe("the service's serverless polls (SERVERLESS_POLL_INTERVAL, SERVERLESS_POLL_MAX_INTERVAL)", () => {
  it('sees a job end at its first /status poll at or after it: at once, 1 s, then doubling to 5 s', () => {
    const polls = { serverlessPollS: 1, serverlessPollMaxS: 5 };
    // Polls at 0, 1, 3, 7, 12, 17, 22, ...
    expect([0, 0.5, 1, 2, 3, 6, 10, 12.5, 30, 240].map((end) => serverlessNoticeS(polls, end))).toEqual([
      0, 1, 1, 3, 3, 7, 12, 17, 32, 242,
    ]);
    expect(serverlessNoticeS({ serverlessPollS: 0, serverlessPollMaxS: 5 }, 30)).toBe(30);
    // A maximum below the first interval is the first interval.
    expect(serverlessNoticeS({ serverlessPollS: 2, serverlessPollMaxS: 1 }, 5)).toBe(6);
  });

  it("a serverless slot stays the service's until it sees the job's end: the next job waits for that poll", () => {
    const jobs: SimJob[] = [0, 1].map((id) => ({ id, arrivalS: 0, durationS: 30, kind: 'image' }));
    const workload: Workload = { name: 'two', jobs, horizonS: 1 };
    const run = (serverlessPollS: number) => {
      // One serverless worker, no pods: the second job waits for the first's slot (RUNPOD_SERVERLESS_MAX_WORKERS).
      const model: SimModel = { ...fakeRunpodModel(1), maxPods: 0, serverlessPollS };
      return runSimulation(workload, createPolicy('breakeven', { model, workload, seed: 1 }), {
        model,
        seed: 1,
      });
    };
    // Ends at 30 s at RunPod, seen at the poll at 31 s (the defaults: polls at 0, 1, 3, 5, ... 29, 31); with no
    // polling delay, at 30 s.
    expect(DEFAULT_MODEL.serverlessPollMaxS).toBe(2);
    expect(Math.max(...run(1).waits)).toBeCloseTo(31, 6);
    expect(Math.max(...run(0).waits)).toBeCloseTo(30, 6);
    // RunPod bills the execution, not the service's notice.
    expect(run(1).costUsd).toBeCloseTo(run(0).costUsd, 9);
  });
});

describe('breakeven with the service settings bench:policy passes (--pod-wait-target, --pod-wait-per-run)', () => {
  it('a job waits for a pod only as long as CLOUD_POD_WAIT_TARGET_SECONDS / CLOUD_POD_WAIT_PER_RUN allow', () => {
    const model = withoutFailures(DEFAULT_MODEL);
    const workload = buildWorkload('steady-low', { days: 3 / 24, seed: 5, mix: 'video' });
    const run = (podWaitTargetS: number, podWaitPerRun: number) =>
      runSimulation(
        workload,
        createPolicy('breakeven', { model, workload, seed: 5, breakEven: { podWaitTargetS, podWaitPerRun } }),
        { model, seed: 5 },
      );
    const never = run(0, 0);
    const defaults = runSimulation(workload, createPolicy('breakeven', { model, workload, seed: 5 }), {
      model,
      seed: 5,
    });
    const aWholeRun = run(30, 1);
    // Never waiting sends more work to serverless; a video may wait up to its whole run for a pod (a boot).
    expect(never.serverlessShare).toBeGreaterThan(aWholeRun.serverlessShare);
    expect(aWholeRun.waitMax).toBeGreaterThan(never.waitMax);
    // The defaults are the service's (30 s, 0.5 × the run).
    expect(run(30, 0.5).costUsd).toBe(defaults.costUsd);
  });
});
