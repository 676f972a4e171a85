import { podWaitAllowanceS } from '../cloud/policy/breakeven.policy';

/** What the break-even dispatcher's queue order reads of a queued job. */
export interface OrderedJob {
  /** Higher first, whatever else (the caller's `priority`). */
  priority: number;
  /** When it was submitted (epoch ms): a retried job keeps its place. */
  arrivalAt: number;
  /** Its expected run (its kind's measured mean). */
  expectedRunS: number;
  /** Complete-by time (epoch ms), if the caller set one. */
  deadlineAt?: number | null;
  /** When its deadline plan starts it on a local worker (epoch ms), if it has such a plan. */
  plannedLocalStartAt?: number | null;
}

/**
 * When a job is due to start (epoch ms): its arrival plus the wait it is allowed for a pod (`podWaitAllowanceS`:
 * CLOUD_POD_WAIT_TARGET_SECONDS, or CLOUD_POD_WAIT_PER_RUN of its run for a long one), or, if earlier, its
 * deadline plan's start on a local worker, or the last start that still meets its deadline.
 */
export function startDueAt(job: OrderedJob, waitTargetS: number, waitPerRun: number): number {
  const runS = Math.max(0, job.expectedRunS);
  let due = job.arrivalAt + podWaitAllowanceS(runS, waitTargetS, waitPerRun) * 1000;
  // A deadline plan counted on a local worker freeing at its start: the job is due then, ahead of a job that
  // would take that worker first and slip the plan (then the re-planner sends it to the slower serverless).
  if (job.plannedLocalStartAt != null && Number.isFinite(job.plannedLocalStartAt))
    due = Math.min(due, job.plannedLocalStartAt);
  return job.deadlineAt == null ? due : Math.min(due, job.deadlineAt - runS * 1000);
}

/**
 * The break-even dispatcher's queue order: priority first, then the job due to start first (`startDueAt`),
 * then arrival. When the fleet cannot start every queued job at once (a burst fills serverless's workers and
 * the pods), first come first served makes a 6-second image wait behind every 4-minute video that arrived
 * before it; this order lets the images go first while a video may still wait no longer than its own allowance
 * beyond them (half its run, by default). A video is never starved: a later image is due before it only while
 * the image arrived within the video's allowance less the image's. Stable: equal keys keep the given order.
 */
export function inDispatchOrder<T>(
  jobs: readonly T[],
  view: (job: T) => OrderedJob,
  waitTargetS: number,
  waitPerRun: number,
): T[] {
  const keyed = jobs.map((job, index) => {
    const ordered = view(job);
    return {
      job,
      index,
      priority: ordered.priority,
      due: startDueAt(ordered, waitTargetS, waitPerRun),
      arrivalAt: ordered.arrivalAt,
    };
  });
  keyed.sort(
    (a, b) => b.priority - a.priority || a.due - b.due || a.arrivalAt - b.arrivalAt || a.index - b.index,
  );
  return keyed.map(({ job }) => job);
}
