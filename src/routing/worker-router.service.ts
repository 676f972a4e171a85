import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { JobDto } from '../jobs/dto/job.dto';
import { JobEvents } from '../jobs/job.events';
import { type JobSpec, JobsService } from '../jobs/jobs.service';
import { TERMINAL_JOB_STATUSES, type JobStatus } from '../persistence/entities/job.entity';

/** A job that ended without completing (failed or cancelled), for `processJobSmart` callers. */
export class JobNotCompletedError extends Error {
  constructor(readonly job: JobDto) {
    super(`Job ${job.id} ${job.status}: ${job.error?.message ?? 'no reason given'}`);
    this.name = 'JobNotCompletedError';
  }
}

const ENDED_EVENTS = [JobEvents.Completed, JobEvents.Failed, JobEvents.Cancelled];
/** A backstop re-read, in case the ending event fired on another instance. */
const RECHECK_MS = 5000;

/**
 * What other Nest modules inject to run ComfyUI workflows on the fleet. `submit` queues a job and returns at
 * once; `processJobSmart` (the seed's name) resolves with the completed job, outputs included.
 */
@Injectable()
export class WorkerRouter {
  constructor(
    private readonly jobs: JobsService,
    private readonly events: EventEmitter2,
  ) {}

  submit(spec: JobSpec): Promise<JobDto> {
    return this.jobs.create(spec);
  }

  get(jobId: string): Promise<JobDto> {
    return this.jobs.get(jobId);
  }

  cancel(jobId: string): Promise<JobDto> {
    return this.jobs.cancel(jobId);
  }

  /** Runs a workflow wherever routing decides. Rejects with JobNotCompletedError if it fails or is cancelled. */
  async processJobSmart(spec: JobSpec): Promise<JobDto> {
    const submitted = await this.submit(spec);
    const job = await this.waitUntilEnded(submitted.id);
    if (job.status !== 'completed') throw new JobNotCompletedError(job);
    return job;
  }

  /** Resolves with the job once it is completed, failed or cancelled. */
  waitUntilEnded(jobId: string): Promise<JobDto> {
    return new Promise<JobDto>((resolve, reject) => {
      let settled = false;
      const check = () => {
        this.jobs.get(jobId).then(
          (job) => {
            if (!settled && TERMINAL_JOB_STATUSES.includes(job.status as JobStatus))
              finish(() => resolve(job));
          },
          (error: unknown) => finish(() => reject(error instanceof Error ? error : new Error(String(error)))),
        );
      };
      const onEvent = (payload: { jobId: string }) => {
        if (payload.jobId === jobId) check();
      };
      const timer = setInterval(check, RECHECK_MS);
      const finish = (settle: () => void) => {
        settled = true;
        clearInterval(timer);
        for (const name of ENDED_EVENTS) this.events.off(name, onEvent);
        settle();
      };
      for (const name of ENDED_EVENTS) this.events.on(name, onEvent);
      check();
    });
  }
}
