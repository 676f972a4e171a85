/** A job this process started on a local worker or a pod: where (worker id, pod name), since when, its estimate there. */
export interface RunningJob {
  workerId: string;
  startedAt: number;
  medianS: number;
  p90S: number;
}

/**
 * When a running job is expected to end: at its median; once past it, at its p90; once past that, after
 * running as long again as it has (a job that overran its estimate badly says little about its end, and the
 * longer it has run the longer it is likely to run: a worker stuck on a long job is soon left to the cloud).
 */
export function expectedEnd(job: RunningJob, now: number): number {
  const median = job.startedAt + job.medianS * 1000;
  if (now <= median) return median;
  const p90 = job.startedAt + Math.max(job.p90S, job.medianS) * 1000;
  if (now <= p90) return p90;
  return now + (now - job.startedAt);
}
