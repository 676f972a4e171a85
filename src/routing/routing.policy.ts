import type { JobBackend, RequestedBackend } from '../persistence/entities/job.entity';

/** What routing sees of the fleet at one dispatch pass. */
export interface FleetSnapshot {
  /**
   * Healthy local workers with a free slot that take new jobs, best first (already without this job's failed
   * workers). Disabled and draining workers are never here (LocalWorkersService.available, local-worker-state.ts).
   */
  idleLocalWorkers: string[];
  /**
   * Any local worker registered at all (busy, disabled or draining too): a job for "local" waits for one rather
   * than being rejected, since an operator can enable it again.
   */
  localWorkersExist: boolean;
  /** Ready pods with no job. */
  idlePods: number;
  /** Pods can be spawned (RunPod key + image, maxPods > 0). */
  podsPossible: boolean;
  /** A serverless endpoint is configured. */
  serverlessAvailable: boolean;
  /** The seed's "prefer serverless for one-off jobs". */
  preferServerless: boolean;
  /** Set when the daily budget forbids new cloud work: only local workers may take jobs. */
  cloudBlockedReason: string | null;
}

export interface RoutableJob {
  requestedBackend: RequestedBackend;
  /**
   * The caller asked for a pod, or serverless failed it for infrastructure reasons: no serverless again, the cloud
   * it may use is a pod (the seed's "fallback to on-demand"). A job asked for as `auto` keeps its local workers
   * (they are free, and not the cloud that failed it); a `backend: 'pod'` job is strictly pod-only.
   */
  podOnly: boolean;
  /**
   * The backend the job's plan chose (its deadline, maxCostUsd or ROUTING_PREFERENCE; routing-estimates/plan.ts):
   * routed as if the caller had asked for it. null/absent: the fixed order decides. A retried job's plan is
   * cleared (JobRunner.requeue), so a plan on a job serverless failed was made knowing it: the re-planner sends
   * such a job to serverless again only when nothing else makes its deadline (`replanAfterServerlessFailure`).
   */
  plannedBackend?: JobBackend | null;
}

export type RouteDecision =
  | { kind: 'local'; workerId: string }
  | { kind: 'pod' }
  | { kind: 'serverless' }
  /** Stay queued. `forPod`: the job counts as demand for the autoscaler; `podOnly`: nothing but a pod can take it. */
  | { kind: 'wait'; reason: string; forPod: boolean; podOnly: boolean }
  /** Nothing configured could ever run it. */
  | { kind: 'reject'; reason: string };

const waitForPod = (podOnly: boolean, reason = 'waiting for a pod to become ready'): RouteDecision => ({
  kind: 'wait',
  reason,
  forPod: true,
  podOnly,
});

function podRoute(job: RoutableJob, fleet: FleetSnapshot): RouteDecision {
  if (fleet.idlePods > 0) return { kind: 'pod' };
  // The seed's fallback to on-demand after a serverless failure is a preference, not a sentence: when no pod
  // can ever be spawned (none configured, maxPods 0), the job tries serverless again rather than being lost.
  // JOBS_MAX_ATTEMPTS still bounds its attempts.
  if (!fleet.podsPossible && job.requestedBackend !== 'pod' && fleet.serverlessAvailable)
    return { kind: 'serverless' };
  const mayWaitForLocal = job.requestedBackend === 'auto' && fleet.localWorkersExist;
  if (!fleet.podsPossible && mayWaitForLocal)
    return {
      kind: 'wait',
      reason: 'serverless failed; waiting for a local worker',
      forPod: false,
      podOnly: false,
    };
  if (!fleet.podsPossible)
    return {
      kind: 'reject',
      reason:
        'this job needs a pod, but pods cannot be spawned (RUNPOD_API_KEY, RUNPOD_DOCKER_IMAGE, maxPods)',
    };
  return waitForPod(
    true,
    job.requestedBackend === 'pod'
      ? undefined
      : mayWaitForLocal
        ? 'serverless failed; waiting for a local worker or an on-demand pod'
        : 'serverless failed; waiting for an on-demand pod',
  );
}

/**
 * Where a job goes now. Local first (free); when local is busy: an idle ready pod; else serverless when
 * configured and preferred; else wait for pods (the autoscaler's demand). The job's `backend` override wins, and
 * a planned backend (`plannedBackend`) narrows it further, as if the caller had asked for that backend, unless the
 * plan can no longer be followed (its backend is gone: it would be rejected): then the job's own backend decides.
 * A job serverless failed (`podOnly`) goes to a free local worker (an `auto` job) or a pod, unless its plan, made
 * after the failure, says otherwise.
 */
export function decideRoute(job: RoutableJob, fleet: FleetSnapshot): RouteDecision {
  if (job.plannedBackend && (job.podOnly || job.plannedBackend !== job.requestedBackend)) {
    const planned = routeAsRequested({ requestedBackend: job.plannedBackend, podOnly: false }, fleet);
    if (planned.kind !== 'reject') return planned;
  }
  return routeAsRequested(job, fleet);
}

function routeAsRequested(job: RoutableJob, fleet: FleetSnapshot): RouteDecision {
  // Local workers are free and first; a serverless failure closes serverless, not them.
  const local =
    job.requestedBackend === 'auto' && fleet.idleLocalWorkers.length > 0
      ? ({ kind: 'local', workerId: fleet.idleLocalWorkers[0] } as const)
      : null;
  if (fleet.cloudBlockedReason && job.requestedBackend !== 'local') {
    // Jobs that may run locally keep running locally; cloud-only jobs stay queued with the reason.
    return local ?? { kind: 'wait', reason: fleet.cloudBlockedReason, forPod: false, podOnly: false };
  }
  if (job.podOnly || job.requestedBackend === 'pod') return local ?? podRoute(job, fleet);

  switch (job.requestedBackend) {
    case 'local':
      if (fleet.idleLocalWorkers.length > 0) return { kind: 'local', workerId: fleet.idleLocalWorkers[0] };
      if (!fleet.localWorkersExist)
        return { kind: 'reject', reason: 'backend "local" was asked for, but no local worker is registered' };
      return { kind: 'wait', reason: 'waiting for a local worker', forPod: false, podOnly: false };

    case 'serverless':
      if (fleet.serverlessAvailable) return { kind: 'serverless' };
      return {
        kind: 'reject',
        reason: 'backend "serverless" was asked for, but RUNPOD_SERVERLESS_ENDPOINT_ID is not set',
      };

    case 'cloud':
      if (fleet.idlePods > 0) return { kind: 'pod' };
      if (fleet.serverlessAvailable && (fleet.preferServerless || !fleet.podsPossible))
        return { kind: 'serverless' };
      if (fleet.podsPossible) return waitForPod(!fleet.serverlessAvailable);
      return {
        kind: 'reject',
        reason: 'backend "cloud" was asked for, but neither pods nor serverless are configured',
      };

    case 'auto':
      if (fleet.idleLocalWorkers.length > 0) return { kind: 'local', workerId: fleet.idleLocalWorkers[0] };
      if (fleet.idlePods > 0) return { kind: 'pod' };
      if (fleet.serverlessAvailable && (fleet.preferServerless || !fleet.podsPossible))
        return { kind: 'serverless' };
      if (fleet.podsPossible) {
        // Only a pod can take it when there is no local worker to wait for and serverless is off.
        return waitForPod(
          !fleet.localWorkersExist && !fleet.serverlessAvailable,
          'waiting for a local worker or a pod',
        );
      }
      if (fleet.localWorkersExist)
        return { kind: 'wait', reason: 'waiting for a local worker', forPod: false, podOnly: false };
      return {
        kind: 'reject',
        reason: 'no worker can run this job: no local worker, no RunPod pods or serverless endpoint',
      };
  }
}
