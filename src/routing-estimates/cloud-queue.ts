import { RUN_TIME_REFERENCES } from './run-time-defaults';

/**
 * The jobs the dispatcher's last pass left waiting for the cloud (a pod, or a free serverless worker), in its
 * order, each with its expected run: what a pod candidate's start is computed behind (`podQueueAhead`,
 * `podAheadJobS`). A re-planned job waits behind the jobs ahead of it, not behind the whole queue: in a batch of
 * 500 jobs due within the hour, the first ones start on the pods in minutes and only the last ones need serverless.
 */
export class CloudQueue {
  private readonly position = new Map<string, number>();
  /** workBeforeS[i]: the expected seconds of the jobs before position i; one entry more than the jobs. */
  private readonly workBeforeS: number[] = [0];

  /** `id` '' for a job counted but not named. */
  constructor(jobs: ReadonlyArray<{ id: string; runS: number }>) {
    jobs.forEach((job, i) => {
      if (job.id !== '') this.position.set(job.id, i);
      this.workBeforeS.push(this.workBeforeS[i] + Math.max(0, job.runS));
    });
  }

  get length(): number {
    return this.workBeforeS.length - 1;
  }

  /**
   * The jobs ahead of `jobId` and their mean expected run; a job not in the queue (new, or not waiting for the
   * cloud at the last pass) counts the whole queue ahead of it, and the jobs planned onto pods since that pass
   * (`plannedSince`: how many, and their expected seconds in all). No mean when nothing is ahead.
   */
  ahead(
    jobId: string | undefined,
    plannedSince: { count: number; runS: number } = { count: 0, runS: 0 },
  ): { podQueueAhead: number; podAheadJobS?: number } {
    const position = jobId === undefined ? undefined : this.position.get(jobId);
    const count = position ?? this.length + plannedSince.count;
    const workS =
      position !== undefined ? this.workBeforeS[position] : this.workBeforeS[this.length] + plannedSince.runS;
    return count === 0 ? { podQueueAhead: 0 } : { podQueueAhead: count, podAheadJobS: workS / count };
  }
}

/** No fleet facts read yet: nothing known to wait for the cloud. */
export const EMPTY_CLOUD_QUEUE = new CloudQueue([]);

/**
 * A queued job's expected run in the cloud queue: its kind's measured mean run (`measuredByClass`, the break-even
 * parameters), else, before a job of its kind has run, the published default of the kind (`RUN_TIME_REFERENCES`:
 * an image 6 s, a video 240 s), else (a job of unknown kind) the typical job. Not the typical job for every kind:
 * before anything has run, a batch of 500 images counted at the 60 s default job is more than eight hours of pod
 * work ahead, and every job planned behind it went to serverless at several times a pod's price.
 */
export function queuedJobRunS(
  jobClass: string | null | undefined,
  measuredByClass: Readonly<Record<string, number>> | undefined,
  typicalS: number,
): number {
  const measured = jobClass != null ? measuredByClass?.[jobClass] : undefined;
  if (measured !== undefined && Number.isFinite(measured) && measured > 0) return measured;
  if (jobClass === 'image' || jobClass === 'video') return RUN_TIME_REFERENCES[jobClass].medianS;
  return typicalS;
}
