import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { CLOUD_DEMAND, type CloudDemandBoard } from '../cloud/cloud-demand';
import { jobClassOf } from '../cloud/policy/breakeven.policy';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import {
  JobEvents,
  type JobCompletedEvent,
  type JobFailedEvent,
  type JobProgressEvent,
  type JobStartedEvent,
} from '../jobs/job.events';
import { JobsService } from '../jobs/jobs.service';
import type { JobBackend, JobEntity, JobError, JobProgress } from '../persistence/entities/job.entity';
import { JobsRepository } from '../persistence/jobs.repository';
import { podJobAttributionUsd } from '../routing-estimates/candidates';
import { ComfyExecutor } from './executors/comfy-executor';
import { ExecutionError, type ExecutionContext, type ExecutionResult } from './executors/execution';
import { ServerlessExecutor } from './executors/serverless-executor';
import { afterFailedAttempt, retryExclusions } from './retry.policy';
import { WorkerReleaser } from './worker-releaser';
import type { WorkerCapabilities } from '../workflows';

/** Progress is saved at most this often per job (events go out every time). */
const PROGRESS_SAVE_MS = 1000;
/** How often a pass reads cancel flags set through other instances. */
const CANCEL_CHECK_MS = 250;

/** Where one attempt of a job runs. */
export interface Placement {
  backend: JobBackend;
  workerId: string;
  /** ComfyUI base URL for local and pod placements. */
  url: string | null;
  /** A pod's hourly price: its jobs are attributed price × run seconds (for display; the ledger bills the pod). */
  pricePerHour?: number;
  /**
   * What the worker was read to have, when known: the workflow's model names are sent in its own spelling
   * (`sdxl\\a.safetensors` on a Windows worker for `sdxl/a.safetensors`; ComfyUI compares them exactly).
   */
  capabilities?: WorkerCapabilities;
}

interface InFlight {
  controller: AbortController;
  done: Promise<void>;
  backend: JobBackend;
}

/**
 * Runs one job on the worker the dispatcher placed it on: claims it (queued -> running), executes it, and
 * completes, fails or requeues it by the retry rule (`retry.policy.ts`); tracks the jobs this process runs and
 * aborts them on cancel. Each job that ends calls the `afterEachJob` listener (the dispatcher's next pass).
 */
@Injectable()
export class JobRunner {
  private readonly logger = new Logger('Dispatcher');
  private readonly inFlight = new Map<string, InFlight>();
  private lastCancelCheck = 0;
  private jobEnded: () => void = () => undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOUD_DEMAND) private readonly demand: CloudDemandBoard,
    private readonly jobs: JobsRepository,
    private readonly jobsService: JobsService,
    private readonly comfy: ComfyExecutor,
    private readonly serverless: ServerlessExecutor,
    private readonly releaser: WorkerReleaser,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
  ) {}

  /** Called each time a job this process runs ends (completed, failed, requeued, handed back or aborted). */
  afterEachJob(listener: () => void): void {
    this.jobEnded = listener;
  }

  @OnEvent(JobEvents.CancelRequested)
  onCancelRequested({ jobId }: { jobId: string }): void {
    this.inFlight.get(jobId)?.controller.abort('cancel');
  }

  /** Jobs this process is running now. */
  runningCount(): number {
    return this.inFlight.size;
  }

  /** Jobs this process is running on one backend. */
  inFlightOn(backend: JobBackend): number {
    let count = 0;
    for (const flight of this.inFlight.values()) if (flight.backend === backend) count++;
    return count;
  }

  /** Settles when every job running now has ended (whether it completed or not). */
  allSettled(): Promise<unknown> {
    return Promise.allSettled([...this.inFlight.values()].map((flight) => flight.done));
  }

  /** Aborts every running job's wait with `reason` ('shutdown': see `handBack`). */
  abortAll(reason: string): void {
    for (const flight of this.inFlight.values()) flight.controller.abort(reason);
  }

  /** A cancel sent to another instance only sets the flag in the database; the leader acts on it here. */
  async abortCancelledElsewhere(): Promise<void> {
    // Passes run on every arrival; reading the flags a few times a second is enough for a remote cancel.
    const now = this.clock.now();
    if (this.inFlight.size === 0 || now - this.lastCancelCheck < CANCEL_CHECK_MS) return;
    this.lastCancelCheck = now;
    for (const job of await this.jobs.findCancelRequested())
      this.inFlight.get(job.id)?.controller.abort('cancel');
  }

  /** Claims the job (compare-and-set queued -> running) and runs it; gives the worker back if the claim fails. */
  async start(queued: JobEntity, placement: Placement): Promise<void> {
    let job = queued;
    const now = this.clock.now();
    const patch = {
      status: 'running' as const,
      backend: placement.backend,
      workerId: placement.workerId,
      attempts: job.attempts + 1,
      startedAt: job.startedAt ?? now,
      waitingReason: null,
      remoteId: null,
      progress: null,
    };
    const claimed = await this.jobs.claim(job.id, ['queued'], patch);
    if (!claimed) {
      await this.releaser.release(placement, false);
      return;
    }
    job = claimed;
    const prefix = placement.backend === 'serverless' ? '☁️ ' : '';
    this.logger.log(`${prefix}Processing job ${job.id} with ${placement.backend}...`);
    const started: JobStartedEvent = {
      jobId: job.id,
      backend: placement.backend,
      workerId: placement.workerId,
      attempt: job.attempts,
      createdAt: job.createdAt,
    };
    this.events.emit(JobEvents.Started, started);
    if (placement.backend !== 'local')
      this.demand.recordCloudStart(now, job.createdAt, jobClassOf(job.workloadKind));
    this.launch(job, placement, false);
  }

  launch(job: JobEntity, placement: Placement, reattach: boolean): void {
    const controller = new AbortController();
    const done = this.execute(job, placement, controller.signal, reattach)
      .catch((error: Error) => this.logger.error(`Job ${job.id}: ${error.message}`))
      .finally(() => {
        this.inFlight.delete(job.id);
        this.jobEnded();
      });
    this.inFlight.set(job.id, { controller, done, backend: placement.backend });
    if (job.cancelRequested) controller.abort('cancel');
  }

  private async execute(
    job: JobEntity,
    placement: Placement,
    signal: AbortSignal,
    reattach: boolean,
  ): Promise<void> {
    // Progress is saved a second into the run at the earliest: a job shorter than that never writes it.
    let lastSaved = this.clock.now();
    const attemptStartedAt = reattach ? (job.startedAt ?? lastSaved) : lastSaved;
    const ctx: ExecutionContext = {
      job,
      signal,
      reattach,
      onRemoteId: async (remoteId) => {
        job.remoteId = remoteId;
        await this.jobs.update(job.id, { remoteId });
      },
      onProgress: (progress: JobProgress) => {
        const event: JobProgressEvent = { jobId: job.id, progress };
        this.events.emit(JobEvents.Progress, event);
        const now = this.clock.now();
        if (now - lastSaved >= PROGRESS_SAVE_MS) {
          lastSaved = now;
          this.jobs.update(job.id, { progress: JSON.stringify(progress) }).catch(() => undefined);
        }
      },
    };

    let result: ExecutionResult;
    try {
      result =
        placement.backend === 'serverless'
          ? await this.serverless.execute(ctx)
          : await this.comfy.execute(placement.url!, ctx, placement.capabilities);
    } catch (error) {
      if (signal.aborted && signal.reason === 'shutdown') {
        await this.handBack(job, placement);
        return;
      }
      const failure =
        error instanceof ExecutionError ? error : new ExecutionError(String(error), 'infrastructure');
      await this.handleFailure(job, placement, failure);
      return;
    }
    await this.complete(job, placement, result, attemptStartedAt);
    await this.releaser.release(placement, true);
  }

  /**
   * Shutdown cut the wait short. A job whose prompt / serverless job already runs on a worker stays `running`
   * with that id: the next leader re-attaches to it, so it is neither lost nor run twice. One that had not
   * reached a worker yet goes back to the queue.
   */
  private async handBack(job: JobEntity, placement: Placement): Promise<void> {
    if (job.remoteId) return;
    await this.releaser.release(placement, false);
    const requeued = await this.jobs.transition(job.id, ['running'], {
      status: 'queued',
      backend: null,
      workerId: null,
      attempts: Math.max(0, job.attempts - 1),
      waitingReason: 'handed back at shutdown before it reached a worker',
    });
    if (requeued) this.logger.log(`Job ${job.id} handed back to the queue at shutdown`);
  }

  private async complete(
    job: JobEntity,
    placement: Placement,
    result: ExecutionResult,
    attemptStartedAt: number,
  ): Promise<void> {
    const { backend } = placement;
    const completedAt = this.clock.now();
    // A pod's job is attributed its share of the pod's price; the cost ledger bills the pod itself (boot and idle
    // included) and never reads jobs' costs, so nothing is counted twice.
    const attributedUsd =
      backend === 'pod'
        ? podJobAttributionUsd(placement.pricePerHour ?? 0, completedAt - attemptStartedAt)
        : 0;
    const costUsd = job.costUsd + result.costUsd + attributedUsd;
    // The dispatch time hides RunPod's queue and cold start on serverless: record when the job really started
    // running. Only for a first attempt: a retried job started running on its first one.
    const runStartedAt =
      result.startedRunningAt !== undefined && job.attempts === 1
        ? Math.min(result.startedRunningAt, completedAt)
        : undefined;
    const startedAt = runStartedAt ?? job.startedAt;
    const done = await this.jobs.transition(job.id, ['running'], {
      status: 'completed',
      startedAt,
      completedAt,
      outputs: JSON.stringify(result.outputs),
      costUsd,
      progress: JSON.stringify({ value: 1, max: 1, percent: 100, nodeId: null }),
    });
    if (!done) return;
    const durationMs = completedAt - (startedAt ?? completedAt);
    this.logger.log(
      `✅ Job completed. Duration: ${Math.round(durationMs / 1000)}s, Cost: $${costUsd.toFixed(4)}`,
    );
    const event: JobCompletedEvent = {
      jobId: job.id,
      backend,
      durationMs,
      workloadKind: job.workloadKind ?? null,
      cost: costUsd,
      webhookUrl: job.webhookUrl,
    };
    // Also when the run started the moment it was sent: a warm start of 0 s is a start delay to learn.
    if (runStartedAt !== undefined) {
      event.realWaitMs = Math.max(0, runStartedAt - job.createdAt);
      if (backend === 'serverless' && job.startedAt !== null)
        event.serverlessStartDelayMs = Math.max(0, runStartedAt - job.startedAt);
    }
    this.events.emit(JobEvents.Completed, event);
  }

  async handleFailure(job: JobEntity, placement: Placement, failure: ExecutionError): Promise<void> {
    job.costUsd += failure.costUsd;
    const decision = afterFailedAttempt(failure, job.attempts, this.config.jobs.maxAttempts);
    switch (decision.action) {
      case 'cancel':
        await this.releaser.release(placement, false);
        await this.finish(job, 'cancelled', decision.error, placement.backend);
        return;
      case 'fail':
        if (failure.kind === 'workflow') {
          await this.releaser.release(placement, false);
          this.logger.warn(`Job ${job.id} failed (workflow): ${failure.message}`);
        } else {
          await this.releaser.releaseAfterInfrastructureFailure(placement, failure.message);
          this.logger.warn(`Job ${job.id}: ${decision.error.message}`);
        }
        await this.finish(job, 'failed', decision.error, placement.backend);
        return;
      case 'retry':
        await this.releaser.releaseAfterInfrastructureFailure(placement, failure.message);
        await this.requeue(job, placement, failure);
        return;
    }
  }

  private async requeue(job: JobEntity, placement: Placement, failure: ExecutionError): Promise<void> {
    const { failedWorkers, podOnly } = retryExclusions(
      JSON.parse(job.failedWorkers) as string[],
      job.podOnly,
      placement,
    );
    const requeued = await this.jobs.transition(job.id, ['running'], {
      status: 'queued',
      backend: null,
      workerId: null,
      remoteId: null,
      progress: null,
      costUsd: job.costUsd,
      failedWorkers: JSON.stringify(failedWorkers),
      podOnly,
      // The plan chose the backend that just failed (its worker is now excluded): a retry routes by the job's
      // own backend, or a planned local job whose only capable worker failed would wait for ever.
      plannedBackend: null,
      waitingReason: `retrying after ${placement.backend} failure: ${failure.message}`,
    });
    if (!requeued) return;
    this.logger.warn(
      `Job ${job.id} lost on ${placement.backend} ${placement.workerId} (${failure.message}); retrying elsewhere`,
    );
    this.events.emit(JobEvents.Requeued, {
      jobId: job.id,
      backend: placement.backend,
      reason: failure.message,
    });
  }

  async finish(
    job: JobEntity,
    status: 'failed' | 'cancelled',
    error: JobError,
    backend: JobBackend | null,
  ): Promise<void> {
    const moved = await this.jobs.transition(job.id, ['queued', 'running'], {
      status,
      completedAt: this.clock.now(),
      error: JSON.stringify(error),
      costUsd: job.costUsd,
    });
    if (!moved) return;
    if (status === 'cancelled') {
      this.logger.log(`Job ${job.id} cancelled`);
      this.jobsService.emitCancelled(job.id);
      return;
    }
    const event: JobFailedEvent = { jobId: job.id, backend, error, webhookUrl: job.webhookUrl };
    this.events.emit(JobEvents.Failed, event);
  }
}
