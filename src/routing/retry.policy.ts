import type {
  JobBackend,
  JobError,
  JobErrorKind,
  RequestedBackend,
} from '../persistence/entities/job.entity';

/** A failed attempt as the executors report it (`ExecutionError`). */
export interface FailedAttempt {
  kind: Exclude<JobErrorKind, 'unroutable'>;
  message: string;
  details?: Record<string, unknown>;
}

/**
 * What a failed attempt leads to: a cancelled job ends cancelled; a workflow failure fails at once (another
 * worker would fail it the same way); an infrastructure failure goes back to the queue to be retried elsewhere,
 * until the job has had `maxAttempts` attempts.
 */
export type FailureDecision =
  { action: 'cancel'; error: JobError } | { action: 'fail'; error: JobError } | { action: 'retry' };

export function afterFailedAttempt(
  failure: FailedAttempt,
  attempts: number,
  maxAttempts: number,
): FailureDecision {
  switch (failure.kind) {
    case 'cancelled':
      return { action: 'cancel', error: { message: 'Cancelled by request', kind: 'cancelled' } };
    case 'workflow':
      return {
        action: 'fail',
        error: { message: failure.message, kind: 'workflow', details: failure.details },
      };
    case 'infrastructure':
      if (attempts < maxAttempts) return { action: 'retry' };
      return {
        action: 'fail',
        error: {
          message: `Failed after ${attempts} attempt(s); last: ${failure.message}`,
          kind: 'infrastructure',
          details: failure.details,
        },
      };
  }
}

/**
 * Where a retried job may not run again: every worker it failed on so far, and, after a failure on
 * serverless, serverless (`podOnly`: the seed's "fallback to on-demand if serverless fails"; an `auto` job keeps
 * its local workers, and a deadline only serverless can make may reopen it: `replanScope`).
 */
export function retryExclusions(
  failedWorkers: readonly string[],
  podOnly: boolean,
  failedOn: { backend: JobBackend; workerId: string },
): { failedWorkers: string[]; podOnly: boolean } {
  return {
    failedWorkers: [...new Set([...failedWorkers, failedOn.workerId])],
    podOnly: podOnly || failedOn.backend === 'serverless',
  };
}

/**
 * What a queued job with a deadline is re-planned over (DeadlineReplanner): the backend whose candidates are
 * quoted, and whether serverless failed it (then serverless is a last resort: `replanAfterServerlessFailure`).
 * A `backend: 'pod'` job: pods only. A job serverless failed: its local workers when it was asked for as `auto`,
 * pods, and serverless.
 */
export function replanScope(job: { requestedBackend: RequestedBackend; podOnly: boolean }): {
  backend: RequestedBackend;
  afterServerlessFailure: boolean;
} {
  const afterServerlessFailure = job.podOnly && job.requestedBackend !== 'pod';
  // A job asked for on serverless by name falls back to a pod as well.
  const backend =
    afterServerlessFailure && job.requestedBackend === 'serverless' ? 'cloud' : job.requestedBackend;
  return { backend, afterServerlessFailure };
}
