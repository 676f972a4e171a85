import type { JobBackend, JobError, JobProgress, JobStatus } from '../persistence/entities/job.entity';

/** Job event names (the seed's `jobCompleted` among them) and payloads, emitted through @nestjs/event-emitter. */
export const JobEvents = {
  Queued: 'jobQueued',
  Started: 'jobStarted',
  Progress: 'jobProgress',
  Completed: 'jobCompleted',
  Failed: 'jobFailed',
  Cancelled: 'jobCancelled',
  /** Internal: a running job should stop (the dispatcher that runs it listens). */
  CancelRequested: 'jobCancelRequested',
  /** Internal: a job went back to the queue to be retried elsewhere. */
  Requeued: 'jobRequeued',
} as const;

export interface JobQueuedEvent {
  jobId: string;
  priority: number;
  backend: string;
}

export interface JobStartedEvent {
  jobId: string;
  backend: JobBackend;
  workerId: string;
  attempt: number;
  /** When the job was submitted (epoch ms), so listeners measure its wait without reading the database. */
  createdAt: number;
}

export interface JobProgressEvent {
  jobId: string;
  progress: JobProgress;
}

export interface JobCompletedEvent {
  jobId: string;
  backend: JobBackend;
  durationMs: number;
  /** Image or video (the row's `workload_kind`); null when unknown. The break-even policy measures run times per kind. */
  workloadKind?: 'image' | 'video' | null;
  /**
   * USD this job cost: serverless billed seconds; on a pod an attribution (the pod's hourly price × the attempt's
   * run seconds; the ledger bills the pod itself, so this is not spend to add to it); 0 on local.
   */
  cost: number;
  /**
   * Submit to the real start, when the backend reported it at the end (serverless: RunPod's queue and cold start
   * included) and this was the job's first attempt; absent otherwise.
   */
  realWaitMs?: number;
  /**
   * Serverless, first attempt: RunPod's delayTime, from sending the job to its start (RunPod's queue and the
   * worker's cold start). The break-even policy measures serverless start delays from it.
   */
  serverlessStartDelayMs?: number;
  /** Internal: the job's own webhook receiver (SubmitJobDto.webhookUrl), never sent on the event stream. */
  webhookUrl?: string | null;
}

export interface JobFailedEvent {
  jobId: string;
  backend: JobBackend | null;
  error: JobError;
  /** Internal: the job's own webhook receiver (SubmitJobDto.webhookUrl), never sent on the event stream. */
  webhookUrl?: string | null;
}

export interface JobStatusEvent {
  jobId: string;
  status: JobStatus;
}
