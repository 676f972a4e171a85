import type { SimModel } from './model';
import type { Workload } from './workloads';

/**
 * The contract between the simulator and a scaling/routing policy: at each decision point the engine hands the
 * policy what the service would know (its database and RunPod's answers, never the future) and applies what
 * comes back. The seed rule is an adapter over the shipped pure functions (seed-policy.ts); a later policy
 * plugs in the same way. Times are epoch milliseconds, like the service's Clock.
 */
export type SimPodState = 'starting' | 'ready' | 'busy';

export interface PodView {
  name: string;
  state: SimPodState;
  requestedAt: number;
  /** RunPod created it (billing starts): the same as requestedAt in the simulator. */
  createdAt: number;
  readyAt: number | null;
  /** When it last finished a job or became ready; null while booting. */
  lastBusyAt: number | null;
  busySince: number | null;
  /** The checkpoint of the job it runs or ran last (router workloads: what the service's estimate is of). */
  runningCheckpoint?: string;
  /** The kind of the job it runs or ran last (what the service's estimate of a running job depends on here). */
  runningKind?: 'image' | 'video';
  costPerHour: number;
  jobsProcessed: number;
}

export interface QueuedJobView {
  id: number;
  arrivalAt: number;
  kind: 'image' | 'video';
  signature?: string;
  deadlineAt?: number;
  /** The checkpoint the workflow loads (router workloads); undefined: any worker can run it. */
  checkpoint?: string;
  /** Attempts already made (the next start is attempt attempts + 1). */
  attempts: number;
  /** Serverless failed it: the shipped dispatcher then lets only a pod run it. */
  podOnly: boolean;
  failedWorkers: readonly string[];
}

export interface LocalWorkerView {
  id: string;
  busy: boolean;
  /** Its checkpoints (RunOptions.router.localModels); undefined: it has every model. */
  models?: readonly string[];
  /** The checkpoint of its last job (likely still loaded). */
  lastModel?: string;
  /** When its running job started (epoch ms); null when idle. */
  busySince?: number | null;
}

/** A job sent to serverless whose end the service has not seen, as the service knows it. */
export interface SentServerlessJob {
  id: number;
  /** When it was sent (epoch ms). */
  sentAt: number;
  /** A worker was up and idle when it was sent. */
  sentWarm: boolean;
  kind: 'image' | 'video';
  signature?: string;
  checkpoint?: string;
}

export interface ServerlessView {
  /** Jobs sent to the endpoint and not finished (running, cold-starting or queued at RunPod). */
  inFlight: number;
  /** Those jobs, in the order they were sent. */
  sent?: readonly SentServerlessJob[];
  /** Workers up and idle (a job sent now starts warm). */
  warmIdle: number;
  workers: number;
}

/** A job that finished: what the service's jobs table tells about observed durations. */
export interface CompletedJobView {
  kind: 'image' | 'video';
  signature?: string;
  /** Seconds it ran (start to end of the successful attempt). */
  durationS: number;
  finishedAt: number;
}

/** How many recent completions the state carries (newest last). */
export const COMPLETED_VIEW_LIMIT = 200;

export interface SimState {
  /** 'dispatch': a job arrived or capacity freed (the dispatcher's pass); 'tick': the control loop's tick. */
  trigger: 'dispatch' | 'tick';
  now: number;
  /** Queued jobs in dispatch order (oldest first); at most the first QUEUE_VIEW_LIMIT. */
  queue: readonly QueuedJobView[];
  /** All queued jobs (the view above may be cut). */
  queueLength: number;
  local: readonly LocalWorkerView[];
  pods: readonly PodView[];
  serverless: ServerlessView;
  /** The last COMPLETED_VIEW_LIMIT successful jobs, oldest first (observed durations). */
  completed: readonly CompletedJobView[];
  /** Cloud spend of the current UTC day so far (billed instances and in-flight accruals). */
  spentTodayUsd: number;
  /** Prices and configured timeouts (what the service's config knows; not the realised draws). */
  model: Readonly<SimModel>;
}

export type Route =
  | { jobId: number; to: 'local'; workerId: string }
  | { jobId: number; to: 'pod'; pod: string }
  | { jobId: number; to: 'serverless' }
  | { jobId: number; to: 'reject'; reason: string };

export interface Decision {
  /** Pods to launch now. */
  spawn: number;
  /** Pods to terminate (only `starting` or `ready` pods can be: a busy pod is never taken). */
  reap: Array<{ pod: string; reason: string }>;
  /** Jobs to start now; jobs not named stay queued. */
  route: Route[];
}

/** How many queued jobs a policy sees per decision (the shipped dispatcher reads 500 per pass). */
export const QUEUE_VIEW_LIMIT = 1000;

export const NO_DECISION: Decision = { spawn: 0, reap: [], route: [] };

export interface SimPolicy {
  readonly name: string;
  /** Always-on serverless workers this policy keeps (RunPod active workers), billed at the active price. */
  readonly serverlessActiveWorkers?: number;
  decide(state: SimState, now: number): Decision;
}

/** What a policy factory may know before the run: the model, the trace's aggregate shape, a seed. */
export interface PolicyContext {
  model: SimModel;
  workload: Workload;
  seed: number;
  /** The break-even policy's settings, as the service's config sets them (bench:policy's options). */
  breakEven?: BreakEvenSettings;
}

/** CLOUD_POD_WAIT_TARGET_SECONDS and CLOUD_POD_WAIT_PER_RUN; the service's defaults when absent. */
export interface BreakEvenSettings {
  podWaitTargetS?: number;
  podWaitPerRun?: number;
}
