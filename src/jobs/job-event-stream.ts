import { Injectable, type MessageEvent } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Observable } from 'rxjs';
import type { JobStatus } from '../persistence/entities/job.entity';
import { TERMINAL_JOB_STATUSES } from '../persistence/entities/job.entity';
import type { JobDto } from './dto/job.dto';
import { JobEvents } from './job.events';
import { JobsService } from './jobs.service';

const STATUS_OF: Record<string, JobStatus | undefined> = {
  [JobEvents.Started]: 'running',
  [JobEvents.Requeued]: 'queued',
  [JobEvents.Completed]: 'completed',
  [JobEvents.Failed]: 'failed',
  [JobEvents.Cancelled]: 'cancelled',
};

/**
 * One job's events as SSE messages: a `status` snapshot first, then `status` / `progress` as they happen;
 * the stream ends after the job ends (with the final job as the last `status`).
 */
@Injectable()
export class JobEventStream {
  constructor(
    private readonly events: EventEmitter2,
    private readonly jobs: JobsService,
  ) {}

  follow(initial: JobDto): Observable<MessageEvent> {
    return new Observable<MessageEvent>((subscriber) => {
      subscriber.next({ type: 'status', data: initial });
      if (TERMINAL_JOB_STATUSES.includes(initial.status as JobStatus)) {
        subscriber.complete();
        return undefined;
      }
      const names = [...Object.keys(STATUS_OF), JobEvents.Progress];
      const listener = (name: string) => (payload: { jobId: string; progress?: unknown }) => {
        if (payload.jobId !== initial.id) return;
        if (name === JobEvents.Progress) {
          subscriber.next({ type: 'progress', data: payload.progress as object });
          return;
        }
        // Send the whole job, read after the change, so a client needs no second request.
        void this.jobs.get(initial.id).then(
          (job) => {
            subscriber.next({ type: 'status', data: job });
            if (TERMINAL_JOB_STATUSES.includes(job.status as JobStatus)) subscriber.complete();
          },
          (error: unknown) => subscriber.error(error),
        );
      };
      const handlers = names.map((name) => [name, listener(name)] as const);
      for (const [name, handler] of handlers) this.events.on(name, handler);
      return () => {
        for (const [name, handler] of handlers) this.events.off(name, handler);
      };
    });
  }
}
