import type {
  JobEntity,
  JobErrorKind,
  JobOutputRecord,
  JobProgress,
} from '../../persistence/entities/job.entity';

/** What an executor gets for one attempt of one job. */
export interface ExecutionContext {
  job: JobEntity;
  /** Aborted when the job is cancelled or the service shuts down. */
  signal: AbortSignal;
  /** `job.remoteId` names an earlier attempt's prompt / serverless job to re-attach to (after a restart). */
  reattach: boolean;
  /** Persist the ComfyUI prompt id / serverless job id before waiting, so a restart can re-attach. */
  onRemoteId(remoteId: string): Promise<void>;
  onProgress(progress: JobProgress): void;
}

export interface ExecutionResult {
  outputs: JobOutputRecord[];
  /** USD this attempt cost on its own (serverless). Pods are billed per pod, local is free. */
  costUsd: number;
  /**
   * When the work really began on a GPU, where the backend knows better than the dispatch time: serverless
   * reports how long the job sat in RunPod's queue (cold start included), so it is sent + `delayTime`.
   */
  startedRunningAt?: number;
}

/**
 * Why an attempt did not complete. `workflow`: the workflow is wrong, fail at once everywhere;
 * `infrastructure`: the worker could not run it, retry elsewhere; `cancelled`: stopped on request.
 */
export class ExecutionError extends Error {
  constructor(
    message: string,
    readonly kind: Exclude<JobErrorKind, 'unroutable'>,
    readonly details?: Record<string, unknown>,
    /** Serverless billed this attempt even though it failed. */
    readonly costUsd = 0,
  ) {
    super(message);
    this.name = 'ExecutionError';
  }
}

/**
 * Only an earlier attempt of this job (a retry, or the attempt being re-attached after a restart) can have
 * left outputs in its folder; a first attempt skips the clean-up, which costs several file system calls.
 */
export function mayHaveEarlierOutputs(ctx: ExecutionContext): boolean {
  return ctx.reattach || ctx.job.attempts > 1;
}

export function percentOf(value: number, max: number): number {
  return max > 0 ? Math.min(100, Math.round((value / max) * 1000) / 10) : 0;
}
