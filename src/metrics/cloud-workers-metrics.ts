import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every metric name starts with this, so a Prometheus shared with other services can tell ours apart. */
export const METRIC_PREFIX = 'cloud_workers_';

const SECONDS_CALL_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SECONDS_JOB_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200];

/**
 * The metrics this core exports, on a registry of its own (never prom-client's global one): a process that
 * holds several apps (tests, a host embedding the core next to its own metrics) gets one set per app, and no
 * name collides. Counters and histograms here are fed by events and call hooks as things happen; the gauges
 * that read the database are filled at scrape time by `FleetGauges`.
 *
 * Counters are per instance (they restart from 0 with the process; Prometheus' `rate()`/`increase()` handle
 * that); in a multi-instance fleet sum them across instances. The database-backed gauges and the spend counter
 * describe the whole fleet, so every instance reports the same value: take `max()`, not `sum()`.
 */
@Injectable()
export class CloudWorkersMetrics {
  readonly registry = new Registry();

  // ---- jobs (events)
  readonly jobsFinished = new Counter({
    name: `${METRIC_PREFIX}jobs_finished_total`,
    help: 'Jobs that ended on this instance, by final status and the backend they ran on (none: never started)',
    labelNames: ['status', 'backend'] as const,
    registers: [this.registry],
  });
  readonly jobWaitSeconds = new Histogram({
    name: `${METRIC_PREFIX}job_wait_seconds`,
    help: 'Time from submission to the first start of a job, by the backend that took it',
    labelNames: ['backend'] as const,
    buckets: SECONDS_JOB_BUCKETS,
    registers: [this.registry],
  });
  readonly jobRunSeconds = new Histogram({
    name: `${METRIC_PREFIX}job_run_seconds`,
    help: 'Run time of completed jobs (start to completion), by backend',
    labelNames: ['backend'] as const,
    buckets: SECONDS_JOB_BUCKETS,
    registers: [this.registry],
  });

  // ---- pods and budget (events)
  readonly podEvents = new Counter({
    name: `${METRIC_PREFIX}pod_events_total`,
    help: 'Pod lifecycle events on this instance: spawned, ready, terminated, failed',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly podBootSeconds = new Histogram({
    name: `${METRIC_PREFIX}pod_boot_seconds`,
    help: 'Time from requesting a pod to its ComfyUI answering',
    buckets: [30, 60, 90, 120, 180, 240, 300, 450, 600, 900],
    registers: [this.registry],
  });
  readonly orphansFound = new Counter({
    name: `${METRIC_PREFIX}orphans_found_total`,
    help: 'Pods found at RunPod under our name prefix with no record here, by what the sweeper did',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });
  readonly budgetExceeded = new Counter({
    name: `${METRIC_PREFIX}budget_exceeded_total`,
    help: 'Times the daily budget was reached (at most once per UTC day per instance)',
    registers: [this.registry],
  });

  // ---- outside systems (call hooks)
  readonly runpodRequests = new Counter({
    name: `${METRIC_PREFIX}runpod_requests_total`,
    help: 'RunPod HTTP attempts (retries count each), by method and result: ok, http_4xx, http_429, http_5xx, timeout, network',
    labelNames: ['method', 'result'] as const,
    registers: [this.registry],
  });
  readonly runpodRequestSeconds = new Histogram({
    name: `${METRIC_PREFIX}runpod_request_duration_seconds`,
    help: 'Duration of one RunPod HTTP attempt, by method',
    labelNames: ['method'] as const,
    buckets: SECONDS_CALL_BUCKETS,
    registers: [this.registry],
  });
  readonly comfyRequests = new Counter({
    name: `${METRIC_PREFIX}comfyui_requests_total`,
    help: 'ComfyUI HTTP calls (local workers and pods), by method, endpoint (first path segment) and result',
    labelNames: ['method', 'endpoint', 'result'] as const,
    registers: [this.registry],
  });
  readonly comfyRequestSeconds = new Histogram({
    name: `${METRIC_PREFIX}comfyui_request_duration_seconds`,
    help: 'Duration of one ComfyUI HTTP call (body included), by method and endpoint',
    labelNames: ['method', 'endpoint'] as const,
    buckets: SECONDS_CALL_BUCKETS,
    registers: [this.registry],
  });

  // ---- webhooks
  readonly webhookDeliveries = new Counter({
    name: `${METRIC_PREFIX}webhook_deliveries_total`,
    help: 'Webhook attempts by event and result: delivered, retrying, failed (gave up), dropped (queue full)',
    labelNames: ['event', 'result'] as const,
    registers: [this.registry],
  });
  readonly webhookQueueDepth = new Gauge({
    name: `${METRIC_PREFIX}webhook_queue_depth`,
    help: 'Webhook deliveries waiting or in flight on this instance',
    registers: [this.registry],
  });

  /** The exposition text (Prometheus 0.0.4 text format). */
  async scrape(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
