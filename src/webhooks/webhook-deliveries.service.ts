import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock';
import { startLoop } from '../common/loop';
import { redactedUrl } from '../common/net/redacted-url';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { CloudWorkersMetrics } from '../metrics/cloud-workers-metrics';
import { describeOutcome, nextWebhookStep, type WebhookAttemptOutcome } from './webhook-retry.policy';
import { sendWebhook } from './webhook-sender';
import {
  signWebhook,
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_EVENT_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
} from './webhook-signature';
import { WebhookUrlRules } from './webhook-url-rules';

/** The events a receiver may get (the fleet event stream's names). */
export type WebhookEventType = 'jobCompleted' | 'jobFailed' | 'budgetExceeded' | 'podFailed' | 'orphanFound';

/** The JSON body of every delivery. `id` is the event's: the same for every receiver and every retry. */
export interface WebhookPayload {
  id: string;
  type: WebhookEventType;
  /** When the event happened (ISO 8601). */
  createdAt: string;
  data: Record<string, unknown>;
}

/** One payload on its way to one receiver. */
export interface PendingDelivery {
  id: string;
  type: WebhookEventType;
  url: string;
  body: string;
  attempts: number;
  /** Not before this (clock ms): the back-off after a failed attempt. */
  dueAt: number;
  inFlight: boolean;
}

const INTERVAL_NAME = 'webhook-deliveries';
/** Backstop period of the pump; it also runs when a delivery is queued and when an attempt ends. */
const PUMP_INTERVAL_MS = 500;

/**
 * The outbox of webhook deliveries: an in-memory queue, pumped off every caller's path (events only `publish`,
 * which returns at once; nothing awaits a delivery), at most WEBHOOK_CONCURRENCY attempts in flight, each
 * bounded by WEBHOOK_TIMEOUT and retried per `nextWebhookStep` with back-off measured on the injected clock.
 *
 * Multi-instance: each instance delivers the events it emitted itself. Every event is emitted once in the
 * fleet, by the instance that made the change (the leader's loops, or the instance that served the request),
 * so no receiver gets the same event from two instances. The queue is not persisted: deliveries pending when
 * the process stops are lost (logged with their count at shutdown); receivers that must not miss an event
 * can reconcile with GET /api/jobs.
 */
@Injectable()
export class WebhookDeliveries implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Webhooks');
  private readonly queue: PendingDelivery[] = [];
  private readonly aborter = new AbortController();
  private inFlight = 0;
  /** ES private: never serialised, logged or listed. */
  readonly #secret: string | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly rules: WebhookUrlRules,
    private readonly metrics: CloudWorkersMetrics,
    private readonly clock: Clock,
    private readonly scheduler: SchedulerRegistry,
  ) {
    this.#secret = config.webhooks.secret;
  }

  onApplicationBootstrap(): void {
    if (!this.#secret) return;
    startLoop(this.scheduler, INTERVAL_NAME, PUMP_INTERVAL_MS, () => this.pump(), this.logger);
    const urls = this.config.webhooks.urls;
    if (urls.length > 0) this.logger.log(`Webhooks go to ${urls.map((url) => redactedUrl(url)).join(', ')}`);
  }

  onApplicationShutdown(): void {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
    this.aborter.abort();
    if (this.queue.length > 0) {
      this.logger.warn(`${this.queue.length} webhook delivery(ies) not delivered at shutdown`);
    }
    this.queue.length = 0;
    this.metrics.webhookQueueDepth.set(0);
  }

  /** Whether anything will be sent at all (a secret is configured). */
  get enabled(): boolean {
    return this.#secret !== undefined;
  }

  /**
   * Queues `data` as event `type` for every global receiver and `extraUrls` (a job's own), once per distinct
   * URL. Returns at once.
   */
  publish(type: WebhookEventType, data: Record<string, unknown>, extraUrls: readonly string[] = []): void {
    if (!this.#secret) return;
    const urls = [...new Set([...this.config.webhooks.urls, ...extraUrls])];
    if (urls.length === 0) return;
    const payload: WebhookPayload = {
      id: `evt_${randomUUID()}`,
      type,
      createdAt: this.clock.date().toISOString(),
      data,
    };
    const body = JSON.stringify(payload);
    const now = this.clock.now();
    for (const url of urls) {
      if (this.queue.length >= this.config.webhooks.queueLimit) {
        this.metrics.webhookDeliveries.inc({ event: type, result: 'dropped' });
        this.logger.warn(
          `Webhook ${type} to ${redactedUrl(url)} dropped: ${this.queue.length} deliveries waiting (WEBHOOK_QUEUE_LIMIT)`,
        );
        continue;
      }
      this.queue.push({
        id: `dlv_${randomUUID()}`,
        type,
        url,
        body,
        attempts: 0,
        dueAt: now,
        inFlight: false,
      });
    }
    this.metrics.webhookQueueDepth.set(this.queue.length);
    this.pump();
  }

  /** Deliveries waiting or in flight, oldest first (a copy). */
  pending(): PendingDelivery[] {
    return this.queue.map((delivery) => ({ ...delivery }));
  }

  /** Starts every due delivery that fits under WEBHOOK_CONCURRENCY. Tests call it after moving the clock. */
  pump(): void {
    if (this.aborter.signal.aborted) return;
    const now = this.clock.now();
    for (const delivery of this.queue) {
      if (this.inFlight >= this.config.webhooks.concurrency) return;
      if (delivery.inFlight || delivery.dueAt > now) continue;
      void this.attempt(delivery);
    }
  }

  private async attempt(delivery: PendingDelivery): Promise<void> {
    delivery.inFlight = true;
    delivery.attempts += 1;
    this.inFlight += 1;
    const timestampS = Math.floor(this.clock.now() / 1000);
    let outcome: WebhookAttemptOutcome;
    try {
      outcome = await sendWebhook({
        url: delivery.url,
        body: delivery.body,
        headers: {
          [WEBHOOK_SIGNATURE_HEADER]: signWebhook(this.#secret!, timestampS, delivery.body),
          [WEBHOOK_EVENT_HEADER]: delivery.type,
          [WEBHOOK_DELIVERY_HEADER]: delivery.id,
        },
        timeoutMs: this.config.webhooks.timeoutMs,
        policy: this.rules.policy,
        signal: this.aborter.signal,
      });
    } catch {
      // sendWebhook answers failures as outcomes; a throw while setting the request up (signing, a header the
      // transport refuses) must still reach the retry policy, so the delivery ends within its attempts instead
      // of an unhandled rejection and a delivery re-sent for ever.
      outcome = { kind: 'network', code: 'ERROR' };
    } finally {
      this.inFlight -= 1;
      delivery.inFlight = false;
    }
    if (this.aborter.signal.aborted) return;
    const step = nextWebhookStep(outcome, delivery.attempts, this.config.webhooks);
    const where = redactedUrl(delivery.url);
    switch (step.action) {
      case 'delivered':
        this.metrics.webhookDeliveries.inc({ event: delivery.type, result: 'delivered' });
        this.remove(delivery);
        break;
      case 'retry':
        this.metrics.webhookDeliveries.inc({ event: delivery.type, result: 'retrying' });
        delivery.dueAt = this.clock.now() + step.delayMs;
        this.logger.debug?.(
          `Webhook ${delivery.type} to ${where}: ${describeOutcome(outcome)}; attempt ${delivery.attempts + 1} in ${step.delayMs} ms`,
        );
        break;
      case 'give-up':
        this.metrics.webhookDeliveries.inc({ event: delivery.type, result: 'failed' });
        this.logger.warn(`Webhook ${delivery.type} to ${where} given up: ${step.reason}`);
        this.remove(delivery);
        break;
    }
    this.pump();
  }

  private remove(delivery: PendingDelivery): void {
    const index = this.queue.indexOf(delivery);
    if (index >= 0) this.queue.splice(index, 1);
    this.metrics.webhookQueueDepth.set(this.queue.length);
  }
}
