import { expectedEnd, type RunningJob } from './running-job';

/**
 * The jobs this process started on local workers and on pods (a pod by its name) and that run there now, each with
 * its run-time estimate: when each worker's slots and each pod should free (`expectedEnd`). A job this process
 * did not start (one from before a restart) is not here, so a caller can tell a worker whose every slot is
 * estimated from one with a guess in it.
 */
export class RunningJobs {
  private readonly onLocal = new Map<string, RunningJob>();
  private readonly onPods = new Map<string, RunningJob>();

  started(jobId: string, backend: 'local' | 'pod', job: RunningJob): void {
    (backend === 'local' ? this.onLocal : this.onPods).set(jobId, job);
  }

  /** The job's attempt ended (completed, failed, cancelled or sent back to the queue). */
  ended(jobId: string): void {
    this.onLocal.delete(jobId);
    this.onPods.delete(jobId);
  }

  /** The expected ends (epoch ms, soonest first) of the jobs running on a local worker. */
  localEnds(workerId: string, now: number): number[] {
    return [...this.onLocal.values()]
      .filter((job) => job.workerId === workerId)
      .map((job) => expectedEnd(job, now))
      .sort((a, b) => a - b);
  }

  /** Every local worker's expected ends (epoch ms, in start order), by worker id. */
  localEndsByWorker(now: number): Map<string, number[]> {
    const byWorker = new Map<string, number[]>();
    for (const job of this.onLocal.values()) {
      const ends = byWorker.get(job.workerId) ?? [];
      ends.push(expectedEnd(job, now));
      byWorker.set(job.workerId, ends);
    }
    return byWorker;
  }

  /** When each pod's job should end (epoch ms; the latest when it runs more than one), by pod name. */
  podEnds(now: number): Map<string, number> {
    const ends = new Map<string, number>();
    for (const job of this.onPods.values())
      ends.set(job.workerId, Math.max(ends.get(job.workerId) ?? -Infinity, expectedEnd(job, now)));
    return ends;
  }
}
