import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs, float } from './column-transformers';

export const JOB_STATUSES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = ['completed', 'failed', 'cancelled'];

/** What the caller asked for. `cloud` = serverless or pod, whichever routing prefers. */
export const REQUESTED_BACKENDS = ['auto', 'local', 'cloud', 'serverless', 'pod'] as const;
export type RequestedBackend = (typeof REQUESTED_BACKENDS)[number];

/** Where a job actually ran. */
export const JOB_BACKENDS = ['local', 'serverless', 'pod'] as const;
export type JobBackend = (typeof JOB_BACKENDS)[number];

export type JobErrorKind = 'workflow' | 'infrastructure' | 'cancelled' | 'unroutable';

export interface JobError {
  message: string;
  kind: JobErrorKind;
  details?: Record<string, unknown>;
}

export interface JobOutputRecord {
  filename: string;
  contentType: string;
  size: number;
}

export interface JobInputImage {
  /** The name the workflow refers to (LoadImage's `image` input). */
  name: string;
  /** Stored under DATA_DIR/inputs/<jobId>/. */
  size: number;
}

export interface JobProgress {
  value: number;
  max: number;
  percent: number;
  nodeId?: string | null;
}

/**
 * Indexed in the migrations only: `idx_jobs_dispatch_order` (status, priority DESC, created_at ASC) serves the
 * dispatcher's queue read; TypeORM's @Index cannot express a descending column.
 */
@Entity({ name: 'jobs' })
export class JobEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  status!: JobStatus;

  @Column({ name: 'requested_backend', type: 'varchar', length: 16 })
  requestedBackend!: RequestedBackend;

  @Column({ type: 'varchar', length: 16, nullable: true })
  backend!: JobBackend | null;

  /** Local worker id, pod name, or serverless endpoint id. */
  @Column({ name: 'worker_id', type: 'varchar', length: 128, nullable: true })
  workerId!: string | null;

  /** Higher runs first. */
  @Column({ type: 'integer', default: 0 })
  priority!: number;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ type: 'text' })
  workflow!: string;

  @Column({ name: 'input_images', type: 'text', default: '[]' })
  inputImages!: string;

  @Column({ type: 'text', default: '{}' })
  metadata!: string;

  @Column({ type: 'text', nullable: true })
  progress!: string | null;

  /** ComfyUI prompt id or RunPod serverless job id of the current attempt, for re-attaching after a restart. */
  @Column({ name: 'remote_id', type: 'varchar', length: 128, nullable: true })
  remoteId!: string | null;

  /** Serverless failed this job for infrastructure reasons: only a pod may run it now (the seed's fallback). */
  @Column({ name: 'pod_only', type: 'boolean', default: false })
  podOnly!: boolean;

  /** Workers that lost this job; it is retried elsewhere. JSON array. */
  @Column({ name: 'failed_workers', type: 'text', default: '[]' })
  failedWorkers!: string;

  @Column({ name: 'waiting_reason', type: 'text', nullable: true })
  waitingReason!: string | null;

  @Column({ name: 'cancel_requested', type: 'boolean', default: false })
  cancelRequested!: boolean;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: number;

  @Column({ name: 'started_at', type: 'bigint', nullable: true, transformer: epochMs })
  startedAt!: number | null;

  @Column({ name: 'completed_at', type: 'bigint', nullable: true, transformer: epochMs })
  completedAt!: number | null;

  @Column({ name: 'cost_usd', type: 'double precision', default: 0, transformer: float })
  costUsd!: number;

  @Column({ type: 'text', default: '[]' })
  outputs!: string;

  @Column({ type: 'text', nullable: true })
  error!: string | null;

  /**
   * Where this job's completed/failed notification goes besides WEBHOOK_URLS (checked by the outbound address
   * rules at submit). Never shown in job views: a receiver's URL may carry its own token.
   */
  @Column({ name: 'webhook_url', type: 'varchar', length: 2048, nullable: true })
  webhookUrl!: string | null;

  /**
   * The estimate it was given at submit (`JobEstimate`, JSON): where the router would run it, when it would
   * start and complete there and what it would cost. null for jobs submitted before estimates existed.
   */
  @Column({ type: 'text', nullable: true })
  estimate!: string | null;

  /** Complete by (epoch ms), as the caller asked; null for none. */
  @Column({ type: 'bigint', nullable: true, transformer: epochMs })
  deadline!: number | null;

  /** At most this cost (USD), as the caller asked; null for none. */
  @Column({ name: 'max_cost_usd', type: 'double precision', nullable: true, transformer: float })
  maxCostUsd!: number | null;

  /**
   * The backend the job's plan chose (src/routing-estimates/plan.ts): routing treats it as the requested backend.
   * null when the fixed order decides (ROUTING_PREFERENCE=balanced without a deadline or maxCostUsd).
   */
  @Column({ name: 'planned_backend', type: 'varchar', length: 16, nullable: true })
  plannedBackend!: JobBackend | null;

  /**
   * Image or video, from the workflow at submit (`workflowProfile`): the break-even policy's class of the job
   * (its run times are measured, and its queued work forecast, per kind). null for jobs submitted before it.
   */
  @Column({ name: 'workload_kind', type: 'varchar', length: 8, nullable: true })
  workloadKind!: 'image' | 'video' | null;
}

/** What `jobs.estimate` holds (times in epoch ms). */
export interface JobEstimate {
  backend: JobBackend;
  workerClass: string;
  startAt: number;
  completeAt: number;
  costUsd: number;
  runSeconds: number;
}
