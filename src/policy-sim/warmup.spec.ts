import { createPolicy } from './baselines';
import { runSimulation } from './engine';
import { fakeRunpodModel } from './model';
import { runMeasured, windowJobs } from './warmup';
import type { SimJob, Workload } from './workloads';

/** The cut: 2 simulated hours (the script's cut is whole days; the arithmetic is the same and runs faster). */
const CUT_S = 7200;

/** The fake RunPod's model: fixed 150 s boot, no cold start, no failures, so only the policy's choices matter. */
const model = fakeRunpodModel(10);

function trace(arrivals: number[], horizonS: number): Workload {
  const jobs: SimJob[] = arrivals.map((arrivalS, id) => ({ id, arrivalS, durationS: 30, kind: 'image' }));
  return { name: 'w', jobs, horizonS };
}

describe('--warmup-days: metrics of the measured window only', () => {
  // Ten jobs a minute apart before the cut, ten more after it: the fleet is idle and reaped between the two.
  const warmArrivals = Array.from({ length: 10 }, (_, i) => 600 + i * 60);
  const windowArrivals = Array.from({ length: 10 }, (_, i) => CUT_S + 600 + i * 60);
  const full = trace([...warmArrivals, ...windowArrivals], 2 * CUT_S);
  const windowOnly = trace(windowArrivals, 2 * CUT_S);

  it.each(['always-pods', 'always-serverless', 'seed', 'breakeven'] as const)(
    '%s: with an idle fleet at the cut, the window costs what its jobs alone cost',
    (policy) => {
      const make = () => createPolicy(policy, { model, workload: full, seed: 1 });
      const measured = runMeasured(full, make, { model, seed: 1, warmupS: CUT_S });
      const alone = runSimulation(windowOnly, createPolicy(policy, { model, workload: full, seed: 1 }), {
        model,
        seed: 1,
      });
      const whole = runSimulation(full, make(), { model, seed: 1 });
      expect(measured.jobs).toBe(10);
      expect(measured.costUsd).toBeCloseTo(alone.costUsd, 9);
      expect(measured.costUsd).toBeLessThan(whole.costUsd);
      expect(measured.waits).toEqual(alone.waits);
      expect(measured.waitP95).toBe(alone.waitP95);
      expect(measured.podLaunches).toBe(alone.podLaunches);
      expect(measured.lost).toBe(0);
    },
  );

  it('warm-up 0 is the plain run, and the bounds see the window re-based to 0', () => {
    const make = () => createPolicy('seed', { model, workload: full, seed: 1 });
    expect(runMeasured(full, make, { model, seed: 1, warmupS: 0 }).costUsd).toBe(
      runSimulation(full, make(), { model, seed: 1 }).costUsd,
    );
    const jobs = windowJobs(
      [...full.jobs, { id: 20, arrivalS: CUT_S + 10, durationS: 5, kind: 'image', deadlineS: CUT_S + 100 }],
      CUT_S,
    );
    expect(jobs.map((j) => [j.id, j.arrivalS])).toEqual([
      ...windowArrivals.map((a, i) => [i, a - CUT_S]),
      [10, 10],
    ]);
    expect(jobs[10].deadlineS).toBe(100);
  });

  it('a pod alive at the cut: its cost after the cut counts, the warm-up jobs still running are not', () => {
    // A steady stream across the cut: pods stay up; the window still costs less than the whole run.
    const steady = trace(
      Array.from({ length: 200 }, (_, i) => CUT_S - 50 * 60 + i * 30),
      2 * CUT_S,
    );
    const make = () => createPolicy('always-pods', { model, workload: steady, seed: 1 });
    const whole = runSimulation(steady, make(), { model, seed: 1 });
    const measured = runMeasured(steady, make, { model, seed: 1, warmupS: CUT_S });
    expect(measured.jobs).toBe(100);
    expect(measured.waits).toHaveLength(100);
    expect(measured.costUsd).toBeGreaterThan(0);
    expect(measured.costUsd).toBeLessThan(whole.costUsd);
    // About half the work is after the cut (100 x 30 s at $0.34/h = $0.28 busy), plus idle and the reaper's tail.
    expect(measured.breakdown.podBusy).toBeGreaterThan(0.25);
    expect(measured.breakdown.podBusy).toBeLessThan(0.32);
  });
});
