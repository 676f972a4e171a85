/** The shapes the dashboard reads, as documented in /api/docs-json and docs (notes/api-contract.md). */

export type JobStatus = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
export const JOB_STATUSES: JobStatus[] = ['queued', 'running', 'completed', 'failed', 'cancelled'];
export const JOB_BACKENDS = ['local', 'serverless', 'pod'] as const;
export const REQUESTED_BACKENDS = ['auto', 'local', 'cloud', 'serverless', 'pod'] as const;

export interface JobProgress {
  value: number;
  max: number;
  percent: number;
  nodeId?: string | null;
}

export interface JobSummary {
  id: string;
  status: JobStatus;
  requestedBackend: string;
  backend: string | null;
  workerId: string | null;
  attempts: number;
  priority: number;
  progress: JobProgress | null;
  waitingReason: string | null;
  createdAt: string;
  startedAt: string | null;
  completedAt: string | null;
  durationMs: number | null;
  costUsd: number;
  outputCount?: number;
  error: { message: string; kind: string } | null;
  /** Where the router expected to run it at submit, and when and at what cost it would end there. */
  estimate?: JobEstimate | null;
  /** Once ended: where it ran, its times and cost. */
  actual?: JobActual | null;
  /** Complete by (ISO 8601), as asked; null for none. */
  deadline?: string | null;
  /** At most this cost (USD), as asked; null for none. */
  maxCostUsd?: number | null;
  /** The backend the job's plan chose (deadline, maxCostUsd or ROUTING_PREFERENCE); null: the fixed order. */
  plannedBackend?: string | null;
}

export interface JobEstimate {
  backend: string;
  workerClass: string;
  startAt: string;
  completeAt: string;
  runSeconds: number;
  costUsd: number;
}

export interface JobActual {
  backend: string | null;
  startedAt: string | null;
  completedAt: string;
  runSeconds: number | null;
  costUsd: number;
  /** Whether it completed by its deadline; null when it had none, or did not complete. */
  deadlineMet?: boolean | null;
}

export type CandidateKind = 'local' | 'ready-pod' | 'booting-pod' | 'new-pod' | 'serverless';

/** One backend the job could use now (POST /api/jobs/quote). */
export interface QuoteCandidate {
  backend: string;
  kind: CandidateKind;
  workerClass: string;
  workerId: string | null;
  startAt: string;
  completeAt: string;
  runSeconds: number;
  costUsd: number;
}

/** POST /api/jobs/quote: every candidate, and the one the router would use and why. */
export interface JobQuote {
  candidates: QuoteCandidate[];
  pick: {
    candidate: QuoteCandidate | null;
    decision: 'local' | 'pod' | 'serverless' | 'wait' | 'reject';
    why: string;
  };
  signature: string;
  runTimeSource: 'observed' | 'transferred' | 'default';
}

/** The fastest candidate named by a 422 of POST /api/jobs when no backend meets the deadline or cost cap. */
export interface BestOption {
  backend: string;
  kind: CandidateKind;
  workerClass: string;
  completeAt: string;
  costUsd: number;
}

export interface JobOutput {
  filename: string;
  contentType: string;
  size: number;
  url: string;
}

export interface Job extends JobSummary {
  outputs: JobOutput[];
  metadata: Record<string, unknown>;
  rerunOf?: string | null;
}

export interface JobList {
  count: number;
  jobs: JobSummary[];
  nextCursor?: string | null;
}

export interface LocalWorker {
  id: string;
  name: string;
  url: string;
  source: string;
  healthy: boolean;
  running: number;
  maxConcurrent: number;
  jobsCompleted: number;
  lastError: string | null;
  state?: 'active' | 'disabled' | 'draining';
  gpu?: LocalWorkerGpu | null;
  /** Node classes and model files as its GET /object_info and /models last answered; null until read once. */
  capabilities?: LocalWorkerCapabilities | null;
  /** Registered by the installer: what the machine reported about itself. */
  reported?: { gpu: unknown; models: string[] };
}

export interface LocalWorkerCapabilities {
  nodeClasses: number;
  /** Model folder → file names (at most 100 per folder). */
  models: Record<string, string[]>;
  /** Model folder → how many files it has (more than `models` lists when over 100). */
  modelCounts: Record<string, number>;
  fetchedAt: number;
}

export interface LocalWorkerGpu {
  name: string | null;
  type: string | null;
  vramTotalBytes: number | null;
  vramFreeBytes: number | null;
}

export interface Pod {
  id: string;
  name: string;
  status: string;
  state: string;
  busy: boolean;
  gpuType: string;
  jobsProcessed: number;
  costPerHour: number;
  costUsd: number;
  uptime: number;
  idleTime: number;
  /** ms of idling before the reaper takes it, as its latest pass set it; null before one has. */
  idleTimeout?: number | null;
  url: string | null;
  failureReason: string | null;
}

export type RoutingPreference = 'cost' | 'speed' | 'balanced';
export const ROUTING_PREFERENCES: RoutingPreference[] = ['cost', 'speed', 'balanced'];

export interface CloudConfig {
  maxPods: number;
  idleTimeout: number;
  autoScaleThreshold: number;
  preferServerless: boolean;
  routingPreference: RoutingPreference;
  gpuType: string;
  dailyBudgetUsd: number;
}

export interface CloudStatus {
  available: boolean;
  podsEnabled: boolean;
  serverlessEnabled: boolean;
  podApi: string;
  activePods: number;
  busyPods: number;
  startingPods: number;
  totalJobsProcessed: number;
  totalCost: number;
  pods: Pod[];
  config: CloudConfig;
  gpuBackoff: { gpuType: string; until: string; failures: number }[];
  scalingPolicy: ScalingPolicy;
}

export interface ScalingDecision {
  at: string;
  policy: string;
  action: 'spawn' | 'terminate' | 'hold';
  pods: number;
  reason: string;
  message: string;
}

export interface ScalingPolicy {
  name: 'breakeven' | 'seed';
  parameters: {
    podPricePerHour: number;
    serverlessPricePerSecond: number;
    serverlessOverheadSeconds: number;
    serverlessMaxWorkers: number | null;
    serverlessMaxWorkersSource: string;
    breakEvenUtilisation: number | null;
    bootSeconds: number;
    bootSamples: number;
    meanJobSeconds: number;
    /** Per kind (image, video; 'job' when unknown). */
    meanJobSecondsByKind?: Record<string, number>;
    jobSamples: number;
    serverlessStartDelaySeconds: number | null;
    serverlessStartDelaySamples: number;
    idleTimeoutSeconds: number;
    /** Pods the forecast keeps, and each one's idle timeout (τ* or longer when its idle gaps say so). */
    podsKept?: number | null;
    keptIdleTimeoutsSeconds?: number[] | null;
    horizonSeconds: number;
  } | null;
  lastEvaluation: ScalingDecision | null;
  decisions: ScalingDecision[];
}

export interface CloudCost {
  available: boolean;
  totalCost: number;
  costByPod: Record<string, number>;
  activePods: number;
  totalJobsProcessed: number;
  avgCostPerJob: number;
  budget: { limitUsd: number; spentTodayUsd: number; remainingUsd: number | null };
}

export interface Stats {
  local: { workers: number; healthy: number; busy: number; runningJobs: number };
  cloud: { pods: Record<string, number>; activePods: number; serverlessInFlight: number; maxPods: number };
  jobs: { total: number; byStatus: Record<string, number>; completedByBackend: Record<string, number> };
  totalCost: number;
}

export interface FleetEvent {
  id?: string | number;
  type: string;
  at: string;
  [key: string]: unknown;
}

export interface GpuType {
  id: string;
  displayName: string;
  memoryInGb: number;
  securePricePerHr: number | null;
  communityPricePerHr: number | null;
  available: boolean | null;
  stockStatus: string | null;
}

export interface CostBucket {
  start: string;
  total: number;
  byBackend: { local: number; serverless: number; pods: number };
  byPod: Record<string, number>;
  jobsCompleted: number;
  costPerJobUsd: number | null;
}

export interface CostHistory {
  from: string;
  to: string;
  granularity: 'hour' | 'day';
  currency: string;
  totals: { total: number; local: number; serverless: number; pods: number };
  buckets: CostBucket[];
  pods: { podId: string; name: string; gpuTypeId: string; total: number }[];
  budget: { dailyBudgetUsd: number | null; spentTodayUsd: number };
}

/** POST /api/local/install-tokens: a one-time enrolment token and the command to run on each platform. */
export interface InstallToken {
  token: string;
  expiresAt: string;
  commands: { linux: string; macos: string; windows: string };
}
