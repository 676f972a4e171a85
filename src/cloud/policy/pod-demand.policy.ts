/**
 * How busy pods would have been on the recent cloud work (a counterfactual replay), the persistence forecast of
 * the break-even policy. A fluid forecast ("this much work per second") treats a burst of 20 jobs like a steady
 * stream of the same volume, although a pod, allowed to make a job wait at most the wait target, takes only
 * one or two jobs of the burst and serverless the rest. Replaying the recent arrivals on pods first-fit
 * (rank 0 is tried first, as the most recently busy pod is) with that wait target gives each pod rank the busy
 * fraction it would really have had: the shape of the workload, not only its volume. Pure; times in seconds.
 */

export interface ReplayArrival {
  /** Seconds ago it arrived (0 = now), within the window. */
  agoS: number;
  /** Expected run time. */
  durationS: number;
  /** How long it may wait for a pod; the replay's `waitTargetS` when absent. */
  maxWaitS?: number;
}

export interface ReplayedPod {
  busyFraction: number;
  /** Jobs it took (how much evidence the fraction rests on). */
  jobs: number;
  /** Its idle spells between one job's end and the next job's start (s): what its idle timeout is learned from. */
  idleGapsS: number[];
}

/**
 * Busy fraction and jobs taken of pod ranks 0..maxPods−1 over the last `windowS`, had `maxPods` pods been up all the window
 * and each arrival been started on the first rank free within its `maxWaitS` (else `waitTargetS`) of its arrival (else: serverless,
 * counted on no rank). Work running past now counts up to now only. First-fit fills the first ranks first.
 */
export function replayPods(
  arrivals: readonly ReplayArrival[],
  windowS: number,
  maxPods: number,
  waitTargetS: number,
): ReplayedPod[] {
  const ranks = Math.max(0, Math.floor(maxPods));
  const busy = new Array<number>(ranks).fill(0);
  const taken = new Array<number>(ranks).fill(0);
  const idleGapsS = Array.from({ length: ranks }, (): number[] => []);
  if (ranks === 0 || windowS <= 0) return busy.map(() => ({ busyFraction: 0, jobs: 0, idleGapsS: [] }));
  // Time runs from −windowS (start of the window) to 0 (now).
  const jobs = arrivals
    .filter((a) => a.agoS >= 0 && a.agoS <= windowS && a.durationS > 0)
    .map((a) => ({ at: -a.agoS, durationS: a.durationS, maxWaitS: a.maxWaitS }))
    .sort((a, b) => a.at - b.at);
  const freeAt = new Array<number>(ranks).fill(-windowS);
  const wait = Math.max(0, waitTargetS);
  for (const job of jobs) {
    for (let k = 0; k < ranks; k++) {
      const start = Math.max(job.at, freeAt[k]);
      if (start - job.at > (job.maxWaitS ?? wait)) continue;
      if (taken[k] > 0 && start > freeAt[k]) idleGapsS[k].push(start - freeAt[k]);
      freeAt[k] = start + job.durationS;
      taken[k]++;
      busy[k] += Math.max(0, Math.min(0, freeAt[k]) - start);
      break;
    }
  }
  return busy.map((s, k) => ({
    busyFraction: Math.min(1, s / windowS),
    jobs: taken[k],
    idleGapsS: idleGapsS[k],
  }));
}
