import { podWaitAllowanceS } from '../cloud/policy/breakeven.policy';

/** One local job slot: its worker and when it is expected to be free (seconds from now; 0: free now). */
export interface LocalSlot {
  workerId: string;
  freeInS: number;
}

/** A queued job that the cloud could take, as the local hold sees it. */
export interface LocalHoldJob {
  /** Seconds it has waited already (now − arrival). */
  waitedS: number;
  /** Seconds from now by which it must be done; undefined: no deadline. */
  deadlineInS?: number;
  /** It waits for a local worker whatever the wait (asked for `local`, or planned there): it takes its slot. */
  localOnly?: boolean;
  /** Whether it may run on this worker (has its models and nodes, not among the job's failed workers). */
  mayUse: (workerId: string) => boolean;
  /** Its expected run time on this worker (a model load included when the worker has another model loaded). */
  runS: (workerId: string) => number;
}

/** Whether jobs may wait for a busy local worker: the break-even policy with a wait allowance (LOCAL_WAIT_*). */
export function localHoldsConfigured(cloud: {
  policy: string;
  breakEven: { localWaitTargetS: number; localWaitPerRun: number };
}): boolean {
  return (
    cloud.policy === 'breakeven' &&
    (cloud.breakEven.localWaitTargetS > 0 || cloud.breakEven.localWaitPerRun > 0)
  );
}

export interface LocalHoldOptions {
  /** A job waits for a local worker up to max(waitTargetS, waitPerRun × its run) after its arrival (0, 0: off). */
  waitTargetS: number;
  waitPerRun: number;
  /** A deadline job is held only if the local worker finishes it this long before its deadline. */
  deadlineMarginS: number;
}

/**
 * Which queued jobs wait for a busy local worker instead of going to the cloud: a local GPU is free, so a job
 * whose own capable worker is expected to start it shortly costs nothing by waiting, where serverless or a pod
 * boot costs money and, for a model the cloud must load, often as much time. List-schedules the jobs, in queue
 * order, each on the capable slot that frees first (`freeInS`, from the run-time estimates of the jobs running
 * there); a job is held when that slot starts it within its wait allowance of its arrival (counting what it
 * waited already, so no job waits much past the allowance: a worker that overruns its estimate is then left to
 * the cloud) and, with a deadline, finishes it `deadlineMarginS` before. A held job takes its slot; one not held
 * leaves it to the jobs behind. Returns, per job, the worker it is held for, or null.
 * Pure: the dispatcher and the policy simulator's model-aware router both call it.
 */
export function holdForLocal(
  jobs: readonly LocalHoldJob[],
  slots: readonly LocalSlot[],
  options: LocalHoldOptions,
): Array<string | null> {
  // Slots by free time (ties: the given order), so a job's earliest capable slot is usually among the first
  // looked at: a pass plans up to 500 jobs over every local slot.
  const free = slots
    .filter((slot) => Number.isFinite(slot.freeInS))
    .map((slot) => ({ workerId: slot.workerId, freeInS: Math.max(0, slot.freeInS) }))
    .sort((a, b) => a.freeInS - b.freeInS);
  const heldFor: Array<string | null> = jobs.map(() => null);
  const place = (job: LocalHoldJob, decide: (startS: number, finishS: number, runS: number) => boolean) => {
    const at = free.findIndex((slot) => job.mayUse(slot.workerId));
    if (at < 0) return null;
    const best = free[at];
    const runS = Math.max(0, job.runS(best.workerId));
    const finishS = best.freeInS + runS;
    // An estimate that is not a number holds nothing (NaN compares false: the job would wait for ever).
    if (!Number.isFinite(finishS) || !decide(best.freeInS, finishS, runS)) return null;
    // The slot is busy until the job ends: move it to its place among the later slots.
    free.splice(at, 1);
    let to = at;
    while (to < free.length && free[to].freeInS <= finishS) to++;
    free.splice(to, 0, { workerId: best.workerId, freeInS: finishS });
    return best.workerId;
  };
  // In queue order, as the dispatcher hands out freed slots: a job that only a local worker may run takes its
  // slot whatever the wait; another takes one only if it is held.
  jobs.forEach((job, i) => {
    if (job.localOnly) {
      heldFor[i] = place(job, () => true);
      return;
    }
    heldFor[i] = place(job, (startS, finishS, runS) => {
      const allowanceS = podWaitAllowanceS(runS, options.waitTargetS, options.waitPerRun);
      if (!(allowanceS > 0) || !(Math.max(0, job.waitedS) + startS <= allowanceS)) return false;
      const deadlineInS = job.deadlineInS;
      return (
        deadlineInS === undefined ||
        !Number.isFinite(deadlineInS) ||
        finishS <= deadlineInS - options.deadlineMarginS
      );
    });
  });
  return heldFor;
}
