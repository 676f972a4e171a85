import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import {
  type BudgetExceededEvent,
  CloudEvents,
  type OrphanFoundEvent,
  type PodFailedEvent,
} from '../cloud/cloud.events';
import { JobEvents, type JobCompletedEvent, type JobFailedEvent } from '../jobs/job.events';
import { WebhookDeliveries, type WebhookEventType } from './webhook-deliveries.service';

/**
 * Turns the events receivers care about into deliveries. Handlers return at once: the emitter is the
 * dispatcher or a control loop. A job event first reads that job's own receiver (detached), then queues.
 */
@Injectable()
export class WebhookEventsListener {
  constructor(private readonly deliveries: WebhookDeliveries) {}

  @OnEvent(JobEvents.Completed)
  onJobCompleted(event: JobCompletedEvent): void {
    this.publishForJob('jobCompleted', event.webhookUrl, {
      jobId: event.jobId,
      status: 'completed',
      backend: event.backend,
      durationMs: event.durationMs,
      costUsd: event.cost,
    });
  }

  @OnEvent(JobEvents.Failed)
  onJobFailed(event: JobFailedEvent): void {
    this.publishForJob('jobFailed', event.webhookUrl, {
      jobId: event.jobId,
      status: 'failed',
      backend: event.backend,
      error: { message: event.error.message, kind: event.error.kind },
    });
  }

  @OnEvent(CloudEvents.BudgetExceeded)
  onBudgetExceeded(event: BudgetExceededEvent): void {
    this.deliveries.publish('budgetExceeded', {
      limitUsd: event.limitUsd,
      spentTodayUsd: event.spentTodayUsd,
    });
  }

  @OnEvent(CloudEvents.PodFailed)
  onPodFailed(event: PodFailedEvent): void {
    this.deliveries.publish('podFailed', {
      podId: event.podId,
      name: event.name,
      reason: event.reason,
      costUsd: event.cost,
    });
  }

  @OnEvent(CloudEvents.OrphanFound)
  onOrphanFound(event: OrphanFoundEvent): void {
    this.deliveries.publish('orphanFound', { podId: event.podId, name: event.name, action: event.action });
  }

  /** To the global receivers and the job's own, when it named one. */
  private publishForJob(
    type: WebhookEventType,
    jobWebhookUrl: string | null | undefined,
    data: Record<string, unknown>,
  ): void {
    this.deliveries.publish(type, data, jobWebhookUrl ? [jobWebhookUrl] : []);
  }
}
