import { runSimulation, type CostBreakdown, type RunOptions, type RunResult } from './engine';
import type { Decision, SimPolicy, SimState } from './policy';
import { quantile } from './rng';
import type { SimJob, Workload } from './workloads';

/**
 * `--warmup-days D` (autoscaling-theory.md §6.3: "1 warm-up day discarded"). The run simulates the whole trace;
 * the metrics cover only the measured window [warm-up end T, end of the run):
 *
 * - Cost: the incremental bill of the measured window, cost(full run) − cost(warm-up run), where the warm-up run
 *   is the same policy, seed and model on the trace's jobs that arrive before T only. Both runs are identical up
 *   to T (same decisions, same draws: they are keyed by job and pod-launch ordinal), so the difference is what
 *   the full run paid after T minus what the warm-up's own jobs still cost after T (the ones running or queued
 *   at T, finished in the warm-up run without any new arrival). Each cost component (pod boot/busy/idle,
 *   serverless cold/busy/idle/active) is differenced the same way, as are pod launches, cold starts, lost jobs
 *   and deadline misses.
 * - Waits (p50/p95/max): over the jobs that arrive in the window, as the full run measured them.
 * - Jobs: the number of jobs arriving in the window. GPU utilisation and serverless share are the full run's.
 *
 * The engine (engine.ts) bills an instance when it stops, so it cannot clip a bill at T itself; the difference
 * of two runs gives the same number for every instance that stops before T or starts after T, and splits an
 * instance alive at T by what the warm-up jobs alone would have kept it for.
 */
export interface MeasuredRunOptions extends RunOptions {
  /** Start of the measured window in seconds from the trace start (0 = measure everything). */
  warmupS: number;
}

/** The trace's jobs arriving at or after `fromS`, re-based so the window starts at 0 (for LB / UB). */
export function windowJobs(jobs: readonly SimJob[], fromS: number): SimJob[] {
  return jobs
    .filter((job) => job.arrivalS >= fromS)
    .map((job, id) => ({
      ...job,
      id,
      arrivalS: job.arrivalS - fromS,
      deadlineS: job.deadlineS === undefined ? undefined : job.deadlineS - fromS,
    }));
}

/** Passes decisions through and records which jobs it routed to a GPU (so waits can be matched to jobs). */
class StartRecorder implements SimPolicy {
  readonly name: string;
  readonly serverlessActiveWorkers?: number;
  readonly routed = new Set<number>();

  constructor(private readonly inner: SimPolicy) {
    this.name = inner.name;
    this.serverlessActiveWorkers = inner.serverlessActiveWorkers;
  }

  decide(state: SimState, now: number): Decision {
    const decision = this.inner.decide(state, now);
    for (const route of decision.route) if (route.to !== 'reject') this.routed.add(route.jobId);
    return decision;
  }
}

const minus = (a: CostBreakdown, b: CostBreakdown): CostBreakdown => ({
  podBoot: a.podBoot - b.podBoot,
  podBusy: a.podBusy - b.podBusy,
  podIdle: a.podIdle - b.podIdle,
  serverlessCold: a.serverlessCold - b.serverlessCold,
  serverlessBusy: a.serverlessBusy - b.serverlessBusy,
  serverlessIdle: a.serverlessIdle - b.serverlessIdle,
  serverlessActive: a.serverlessActive - b.serverlessActive,
});

/**
 * The per-job waits of a run: `result.waits` holds one wait per job that started, in job order. A job starts
 * once the policy routes it to a GPU (a serverless submission always starts: RunPod's queue drains), so the
 * recorder's routed set names them; if the counts disagree (a route the engine refused), null.
 */
function waitsByJob(result: RunResult, routed: Set<number>, jobCount: number): Map<number, number> | null {
  const started =
    result.waits.length === jobCount
      ? Array.from({ length: jobCount }, (_, i) => i)
      : [...routed].sort((a, b) => a - b);
  if (started.length !== result.waits.length) return null;
  return new Map(started.map((id, i) => [id, result.waits[i]]));
}

/**
 * Runs `workload` with a fresh policy from `makePolicy` and reports the measured window's metrics (the whole
 * run when `warmupS` is 0). `makePolicy` must build the same policy each call (from the full workload).
 */
export function runMeasured(
  workload: Workload,
  makePolicy: () => SimPolicy,
  options: MeasuredRunOptions,
): RunResult {
  const { warmupS, ...runOptions } = options;
  if (!(warmupS > 0)) return runSimulation(workload, makePolicy(), runOptions);

  const recorder = new StartRecorder(makePolicy());
  const full = runSimulation(workload, recorder, runOptions);
  const warmJobs = workload.jobs.filter((job) => job.arrivalS < warmupS);
  const warm = runSimulation(
    { name: workload.name, jobs: warmJobs, horizonS: Math.min(warmupS, workload.horizonS) },
    makePolicy(),
    runOptions,
  );
  const byJob = waitsByJob(full, recorder.routed, workload.jobs.length);
  if (!byJob)
    throw new Error(`${workload.name}/${full.policy}: cannot match waits to jobs for the warm-up window`);
  const waits: number[] = [];
  const imageWaits: number[] = [];
  for (const [index, job] of workload.jobs.entries()) {
    // The engine keeps jobs in trace order: index i is the i-th job (its id in built and parsed traces).
    const wait = job.arrivalS >= warmupS ? byJob.get(index) : undefined;
    if (wait === undefined) continue;
    waits.push(wait);
    if (job.kind === 'image') imageWaits.push(wait);
  }
  const windowCount = workload.jobs.length - warmJobs.length;
  return {
    ...full,
    jobs: windowCount,
    completed: full.completed - warm.completed,
    lost: Math.max(0, full.lost - warm.lost),
    rejected: Math.max(0, full.rejected - warm.rejected),
    costUsd: full.costUsd - warm.costUsd,
    breakdown: minus(full.breakdown, warm.breakdown),
    waits,
    waitP50: quantile(waits, 0.5),
    waitP95: quantile(waits, 0.95),
    imageWaitP95: quantile(imageWaits, 0.95),
    waitMax: waits.length ? waits.reduce((a, w) => Math.max(a, w), 0) : NaN,
    podLaunches: full.podLaunches - warm.podLaunches,
    podBootFailures: full.podBootFailures - warm.podBootFailures,
    coldStarts: full.coldStarts - warm.coldStarts,
    deadlineMisses: Math.max(0, full.deadlineMisses - warm.deadlineMisses),
    wallMs: full.wallMs + warm.wallMs,
  };
}
