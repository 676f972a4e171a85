import loadHighsModule from 'highs';
import { coldStartFloorS, podPricePerSecond, type SimModel } from './model';
import type { SimJob } from './workloads';

/**
 * LB(W): the time-indexed fluid LP of autoscaling-theory.md §2.2, a lower bound on the cost of any schedule
 * (the policy under test and the clairvoyant optimum alike) that starts every job within W seconds of its
 * arrival (jobs with a deadline: done by the deadline), solved with HiGHS (WebAssembly).
 *
 * Time is cut into slots of Δ seconds. Per slot t: x_t pods usable, u_t pod launches (each billed the shortest
 * possible boot), s_t serverless workers, v_t serverless starts (each billed the shortest possible cold start),
 * l_t local GPUs (free), and Y_t the cumulative GPU-seconds done. Work may be done from the start of its
 * arrival slot and must be done by the end of the slot holding arrival + W + duration. This is the EDF
 * (cumulative) form of the per-job transportation LP: it also drops each job's one-GPU-at-a-time limit, so it
 * is a relaxation of it and stays a valid lower bound, with 6 variables and 3 rows per slot.
 *
 *   min Σ_t p_p·Δ·x_t + p_p·B·u_t + p_s·Δ·s_t + p_s·C·v_t
 *   s.t. Y_t − Y_{t−1} ≤ Δ·(l_t + x_t + s_t);  u_t ≥ x_t − x_{t−1};  v_t ≥ s_t − s_{t−1}
 *        Due_t ≤ Y_t ≤ Released_t;  l ≤ L, x ≤ M, s ≤ S;  x_t = 0 before the first boot could finish.
 *
 * Every relaxation keeps it valid: per-second rounding and serverless idle billing are ignored, boot and cold
 * start are billed at their minimum, and the horizon is solved in segments (about a day each) cut where the
 * fewest job windows straddle the cut; straddling jobs are dropped and the pods/workers running at a cut come
 * free (no launch cost), both of which only lower the bound. Sum over segments = LB.
 */
export interface LowerBoundOptions {
  /** Start-within budget W in seconds. */
  waitS: number;
  /** Slot length Δ in seconds. */
  slotS: number;
  /** Target segment length in seconds (cuts are placed within ±2 h of its multiples). */
  segmentS?: number;
}

export interface LowerBoundResult {
  costUsd: number;
  podUsd: number;
  serverlessUsd: number;
  /** Jobs left out because their window straddles a segment cut (their work is not in the bound). */
  droppedJobs: number;
  segments: number;
  variables: number;
  solveMs: number;
  /** Per segment: slot start (s), slot length, and the LP's pods per slot (for the integral upper bound). */
  plans: Array<{ startS: number; slotS: number; pods: number[]; serverless: number[] }>;
  status: 'optimal' | 'infeasible';
  /** Segments whose deadlines no schedule could meet: bounded without deadlines instead. */
  relaxedSegments: number;
}

interface HighsColumn {
  Primal: number;
}
interface HighsSolver {
  solve(
    problem: string,
    options?: Record<string, unknown>,
  ): {
    Status: string;
    ObjectiveValue: number;
    Columns: Record<string, HighsColumn>;
  };
}

let highsPromise: Promise<HighsSolver> | null = null;

/** HiGHS compiled to WebAssembly (the npm package `highs`), loaded once. */
export function loadHighs(): Promise<HighsSolver> {
  highsPromise ??= (loadHighsModule as unknown as () => Promise<HighsSolver>)();
  return highsPromise;
}

interface Window {
  releaseS: number;
  dueS: number;
  workS: number;
}

export function jobWindow(job: SimJob, waitS: number): Window {
  const dueS = job.deadlineS !== undefined ? job.deadlineS : job.arrivalS + waitS + job.durationS;
  return { releaseS: job.arrivalS, dueS: Math.max(dueS, job.arrivalS + job.durationS), workS: job.durationS };
}

/** Cut points near multiples of segmentS where the least work straddles (its window spans the cut). */
export function chooseCuts(windows: Window[], horizonS: number, segmentS: number, slotS: number): number[] {
  const cuts: number[] = [];
  const byRelease = [...windows].sort((a, b) => a.releaseS - b.releaseS);
  const end = Math.max(horizonS, ...windows.map((w) => w.dueS));
  for (let target = segmentS; target < end - segmentS / 4; target += segmentS) {
    const from = Math.max(slotS, target - 7200);
    const to = target + 7200;
    const near = byRelease.filter((w) => w.dueS > from && w.releaseS < to);
    let best = target;
    let bestWork = Infinity;
    for (let t = Math.ceil(from / slotS) * slotS; t <= to; t += slotS) {
      let work = 0;
      for (const w of near) if (w.releaseS < t && w.dueS > t) work += w.workS;
      if (work < bestWork || (work === bestWork && Math.abs(t - target) < Math.abs(best - target))) {
        bestWork = work;
        best = t;
      }
      if (bestWork === 0 && t >= target) break;
    }
    cuts.push(best);
  }
  return cuts;
}

export async function lowerBound(
  jobs: SimJob[],
  horizonS: number,
  model: SimModel,
  options: LowerBoundOptions,
): Promise<LowerBoundResult> {
  const highs = await loadHighs();
  const slotS = options.slotS;
  const windows = jobs.map((job) => jobWindow(job, options.waitS));
  const cuts = chooseCuts(windows, horizonS, options.segmentS ?? 86_400, slotS);
  const bounds = [0, ...cuts, Infinity];
  const result: LowerBoundResult = {
    costUsd: 0,
    podUsd: 0,
    serverlessUsd: 0,
    droppedJobs: 0,
    segments: 0,
    variables: 0,
    solveMs: 0,
    plans: [],
    status: 'optimal',
    relaxedSegments: 0,
  };
  for (let k = 0; k + 1 < bounds.length; k++) {
    const from = bounds[k];
    const to = bounds[k + 1];
    const inside = windows.filter((w) => w.releaseS >= from && w.releaseS < to);
    const kept = inside.filter((w) => w.dueS <= to);
    result.droppedJobs += inside.length - kept.length;
    if (kept.length === 0) continue;
    let segment = solveSegment(highs, kept, from, model, slotS, k === 0, false);
    if (segment.status !== 'optimal') {
      // More work due than M pods + S workers can do in time: the bound for "start within W" does not exist.
      // Fall back to "finish at all" (no deadlines in this segment), which bounds every policy.
      result.relaxedSegments++;
      segment = solveSegment(highs, kept, from, model, slotS, k === 0, true);
    }
    result.segments++;
    result.variables += segment.variables;
    result.solveMs += segment.solveMs;
    if (segment.status !== 'optimal') {
      result.status = 'infeasible';
      continue;
    }
    result.costUsd += segment.costUsd;
    result.podUsd += segment.podUsd;
    result.serverlessUsd += segment.serverlessUsd;
    result.plans.push({ startS: from, slotS, pods: segment.pods, serverless: segment.serverless });
  }
  return result;
}

function solveSegment(
  highs: HighsSolver,
  windows: Window[],
  fromS: number,
  model: SimModel,
  slotS: number,
  atStart: boolean,
  withoutDeadlines: boolean,
): {
  status: 'optimal' | 'infeasible';
  costUsd: number;
  podUsd: number;
  serverlessUsd: number;
  pods: number[];
  serverless: number[];
  variables: number;
  solveMs: number;
} {
  const slotOf = (s: number) => Math.floor((s - fromS) / slotS);
  const totalWork = windows.reduce((sum, w) => sum + w.workS, 0);
  const lastRelease = Math.max(...windows.map((w) => slotOf(w.releaseS)));
  // Without deadlines the horizon must let one pod do all the work after one boot: a shorter one (all capacity
  // busy) forced the work into fewer, costlier slots and "bounded" a pods-only policy that simply took longer
  // from above (issue-batch: 0.66 x LB). With this horizon no finishing schedule is cheaper than the LP optimum.
  const slots = withoutDeadlines
    ? lastRelease + Math.ceil((totalWork + model.podBootMaxS) / slotS) + 2
    : Math.max(...windows.map((w) => slotOf(w.dueS))) + 1;
  const released = new Float64Array(slots);
  const due = new Float64Array(slots);
  for (const w of windows) {
    released[Math.max(0, slotOf(w.releaseS))] += w.workS;
    due[withoutDeadlines ? slots - 1 : Math.min(slots - 1, slotOf(w.dueS))] += w.workS;
  }
  for (let t = 1; t < slots; t++) {
    released[t] += released[t - 1];
    due[t] += due[t - 1];
  }
  const pp = podPricePerSecond(model);
  const ps = model.serverlessPricePerSecond;
  const boot = model.podBootMinS;
  const cold = coldStartFloorS(model);
  const hasLocal = model.localWorkers > 0;
  const firstPodSlot = atStart ? Math.floor(boot / slotS) : 0;

  const objective: string[] = [];
  const rows: string[] = [];
  const bounds: string[] = [];
  const num = (v: number) => (Math.abs(v) < 1e-15 ? '0' : v.toPrecision(12));
  for (let t = 0; t < slots; t++) {
    objective.push(`+ ${num(pp * slotS)} x${t} + ${num(pp * boot)} u${t} + ${num(ps * slotS)} s${t}`);
    if (cold > 0) objective.push(`+ ${num(ps * cold)} v${t}`);
    const prevY = t > 0 ? ` - Y${t - 1}` : '';
    rows.push(
      ` c${t}: Y${t}${prevY} - ${slotS} x${t} - ${slotS} s${t}${hasLocal ? ` - ${slotS} l${t}` : ''} <= 0`,
    );
    if (t > 0) {
      rows.push(` a${t}: u${t} - x${t} + x${t - 1} >= 0`);
      rows.push(` b${t}: v${t} - s${t} + s${t - 1} >= 0`);
    } else if (atStart) {
      rows.push(` a0: u0 - x0 >= 0`);
      rows.push(` b0: v0 - s0 >= 0`);
    }
    const podCap = t < firstPodSlot ? 0 : model.maxPods;
    bounds.push(` 0 <= x${t} <= ${podCap}`, ` 0 <= s${t} <= ${model.serverlessMaxWorkers}`);
    bounds.push(` ${num(due[t])} <= Y${t} <= ${num(released[t])}`);
    if (hasLocal) bounds.push(` 0 <= l${t} <= ${model.localWorkers}`);
  }
  const lp = `Minimize\n obj: ${objective.join(' ')}\nSubject To\n${rows.join('\n')}\nBounds\n${bounds.join('\n')}\nEnd\n`;
  const variables = slots * (hasLocal ? 6 : 5) + (cold > 0 ? slots : 0);
  const started = performance.now();
  const solution = highs.solve(lp, { output_flag: false });
  const solveMs = performance.now() - started;
  if (solution.Status !== 'Optimal') {
    return {
      status: 'infeasible',
      costUsd: 0,
      podUsd: 0,
      serverlessUsd: 0,
      pods: [],
      serverless: [],
      variables,
      solveMs,
    };
  }
  const col = (name: string) => solution.Columns[name]?.Primal ?? 0;
  const pods: number[] = [];
  const serverless: number[] = [];
  let podUsd = 0;
  for (let t = 0; t < slots; t++) {
    pods.push(col(`x${t}`));
    serverless.push(col(`s${t}`));
    podUsd += pp * slotS * col(`x${t}`) + pp * boot * col(`u${t}`);
  }
  return {
    status: 'optimal',
    costUsd: solution.ObjectiveValue,
    podUsd,
    serverlessUsd: solution.ObjectiveValue - podUsd,
    pods,
    serverless,
    variables,
    solveMs,
  };
}
