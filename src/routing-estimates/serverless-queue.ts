import { expectedEnd } from './running-job';

/** A job this process sent to a serverless endpoint and has not seen end. */
export interface InFlightServerlessJob {
  /** When it was sent (epoch ms). */
  sentAt: number;
  /** Its expected wait for a worker had one been free: a warm or a cold start (s). */
  startDelayS: number;
  /** Its run-time estimate on the endpoint (s). */
  medianS: number;
  p90S: number;
}

/** In-flight jobs list-scheduled at most; beyond, the endpoint is hours from a free worker anyway. */
const MAX_SCHEDULED = 10_000;

/**
 * When a job sent now would get a worker of an endpoint whose `workers` are all busy (epoch ms, not before
 * `now`); null while a worker is free, or when the count is unknown (Infinity). RunPod serves an endpoint's queue
 * first come first served, so the in-flight jobs, in the order they were sent, are list-scheduled over the
 * workers: the first `workers` of them run since their send and start delay, and end as `expectedEnd` says (their
 * median, then their p90, then as long again as they have run); each later one takes the worker that frees
 * first, a warm start later, for its median. The new job takes the first worker free after them all.
 *
 * Before, a saturated endpoint was one typical job away whatever held its workers: behind ten 4-minute videos,
 * serverless looked a minute away, and a deadline job re-planned there started minutes late (bench:router).
 */
export function serverlessWorkerFreeAt(
  inFlight: readonly InFlightServerlessJob[],
  workers: number,
  warmStartS: number,
  now: number,
): number | null {
  if (!Number.isFinite(workers) || workers < 1 || inFlight.length < workers) return null;
  const jobs = [...inFlight].sort((a, b) => a.sentAt - b.sentAt).slice(0, MAX_SCHEDULED);
  // Each worker's free time, soonest first.
  const free = jobs
    .slice(0, workers)
    .map((job) =>
      Math.max(
        now,
        expectedEnd(
          {
            workerId: '',
            startedAt: job.sentAt + Math.max(0, job.startDelayS) * 1000,
            medianS: job.medianS,
            p90S: job.p90S,
          },
          now,
        ),
      ),
    )
    .sort((a, b) => a - b);
  for (const job of jobs.slice(workers)) {
    const freedAt = free.shift()!;
    const end = Math.max(freedAt, job.sentAt) + (Math.max(0, warmStartS) + Math.max(0, job.medianS)) * 1000;
    free.splice(sortedIndex(free, end), 0, end);
  }
  return free[0];
}

/** Where `value` goes in the ascending `list` (after equal values). */
function sortedIndex(list: readonly number[], value: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list[mid] <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
