import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  type BudgetExceededEvent,
  CloudEvents,
  type OrphanFoundEvent,
  type PodFailedEvent,
  type PodReadyEvent,
  type PodSpawnedEvent,
  type PodTerminatedEvent,
} from '../cloud/cloud.events';
import { Clock } from '../common/clock';
import {
  type JobCompletedEvent,
  JobEvents,
  type JobFailedEvent,
  type JobStartedEvent,
  type JobStatusEvent,
} from '../jobs/job.events';
import { CloudWorkersMetrics } from './cloud-workers-metrics';

/**
 * Feeds the event-driven metrics. Every handler returns at once and reads nothing (the emitter is the
 * dispatcher's or the control loop's own call): the events carry what the metrics need.
 */
@Injectable()
export class MetricsEventListener {
  constructor(
    private readonly metrics: CloudWorkersMetrics,
    private readonly clock: Clock,
  ) {}

  @OnEvent(JobEvents.Started)
  onJobStarted(event: JobStartedEvent): void {
    // A retry's wait would include its earlier attempts' run time: only the first start measures queueing.
    // Serverless is measured at the end instead, from when RunPod really started it (onJobCompleted).
    if (event.attempt !== 1 || event.backend === 'serverless') return;
    this.metrics.jobWaitSeconds.observe(
      { backend: event.backend },
      Math.max(0, this.clock.now() - event.createdAt) / 1000,
    );
  }

  @OnEvent(JobEvents.Completed)
  onJobCompleted(event: JobCompletedEvent): void {
    this.metrics.jobsFinished.inc({ status: 'completed', backend: event.backend });
    this.metrics.jobRunSeconds.observe({ backend: event.backend }, Math.max(0, event.durationMs) / 1000);
    if (event.realWaitMs !== undefined)
      this.metrics.jobWaitSeconds.observe({ backend: event.backend }, event.realWaitMs / 1000);
  }

  @OnEvent(JobEvents.Failed)
  onJobFailed(event: JobFailedEvent): void {
    this.metrics.jobsFinished.inc({ status: 'failed', backend: event.backend ?? 'none' });
  }

  @OnEvent(JobEvents.Cancelled)
  onJobCancelled(event: JobStatusEvent & { backend?: string | null }): void {
    this.metrics.jobsFinished.inc({ status: 'cancelled', backend: event.backend ?? 'none' });
  }

  @OnEvent(CloudEvents.PodSpawned)
  onPodSpawned(_event: PodSpawnedEvent): void {
    this.metrics.podEvents.inc({ event: 'spawned' });
  }

  @OnEvent(CloudEvents.PodReady)
  onPodReady(event: PodReadyEvent): void {
    this.metrics.podEvents.inc({ event: 'ready' });
    this.metrics.podBootSeconds.observe(Math.max(0, event.bootMs) / 1000);
  }

  @OnEvent(CloudEvents.PodTerminated)
  onPodTerminated(_event: PodTerminatedEvent): void {
    this.metrics.podEvents.inc({ event: 'terminated' });
  }

  @OnEvent(CloudEvents.PodFailed)
  onPodFailed(_event: PodFailedEvent): void {
    this.metrics.podEvents.inc({ event: 'failed' });
  }

  @OnEvent(CloudEvents.OrphanFound)
  onOrphanFound(event: OrphanFoundEvent): void {
    this.metrics.orphansFound.inc({ action: event.action });
  }

  @OnEvent(CloudEvents.BudgetExceeded)
  onBudgetExceeded(_event: BudgetExceededEvent): void {
    this.metrics.budgetExceeded.inc();
  }
}
