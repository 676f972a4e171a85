import type { MissedDeadline } from './engine';
import type { SimModel } from './model';
import { ROUTER_MIX } from './router-workload';

/**
 * Why a feasible deadline was missed (bench:router --misses), so that "out of any router's reach" is counted by
 * the benchmark rather than read off the attempts by hand. The first that applies:
 * - `failed-late`: an attempt failed (a crash or a job error) when even a rerun started that instant, with no
 *   start delay and no model load, would end after the deadline: only running the job twice could have made it.
 * - `cold-start-tail`: a serverless worker took longer to start than the slowest cold start outside the tail
 *   (`coldMissMaxS`): the 1% tail that the workload's feasibility leaves out (router-workload.ts). In the
 *   simulator a sent job has its worker at once, so the send-to-start delay is the cold start alone.
 * - `long-run`: the job ran longer than its class's p90 (its lognormal median × e^(1.28 σ)). "Feasible" is judged
 *   on the run as it turned out; a plan knows only the estimate.
 * - `router`: none of these: a plan or a re-plan that a router could have made differently.
 */
export type MissCause = 'failed-late' | 'cold-start-tail' | 'long-run' | 'router';

export const MISS_CAUSES: readonly MissCause[] = ['failed-late', 'cold-start-tail', 'long-run', 'router'];

/** The standard normal's 0.9 quantile. */
const Z90 = 1.2815515655446004;

export function missCause(miss: MissedDeadline, model: SimModel): MissCause {
  const failedLate = miss.attempts.some(
    (a) =>
      (a.outcome === 'crash' || a.outcome === 'error') &&
      a.endS !== undefined &&
      a.endS + miss.durationS > miss.deadlineS,
  );
  if (failedLate) return 'failed-late';
  const tail = miss.attempts.some(
    (a) => a.submittedS !== undefined && a.startS - a.submittedS > model.coldMissMaxS,
  );
  if (tail) return 'cold-start-tail';
  const cls = ROUTER_MIX.find((c) => c.checkpoint === miss.checkpoint);
  if (cls && miss.durationS > cls.medianS * Math.exp(Z90 * cls.sigma)) return 'long-run';
  return 'router';
}

/** "failed-late 3, cold-start-tail 1, long-run 2, router 0". */
export function countMissCauses(causes: readonly MissCause[]): string {
  return MISS_CAUSES.map((cause) => `${cause} ${causes.filter((c) => c === cause).length}`).join(', ');
}
