/** What the autoscaler sees on one tick. */
export interface ScaleSnapshot {
  /** Jobs waiting for cloud capacity (pods). */
  waitingForCloud: number;
  /** Of those, jobs that only a pod can run (backend `pod`, serverless failed over, nothing else can take them). */
  waitingForPodOnly: number;
  /** Pods requested or booting: they will serve the queue soon, so they count. */
  starting: number;
  ready: number;
  busy: number;
}

export interface ScaleSettings {
  maxPods: number;
  autoScaleThreshold: number;
}

export type ScaleReason = 'queue-length' | 'pod-only-job' | 'none';

export interface ScaleDecision {
  spawn: number;
  reason: ScaleReason;
  /** The fleet size the queue asks for, before the CLOUD_MAX_PODS cap. */
  wanted: number;
  /** True when CLOUD_MAX_PODS kept us from spawning what the queue asked for. */
  cappedByMaxPods: boolean;
}

const NONE: ScaleDecision = { spawn: 0, reason: 'none', wanted: 0, cappedByMaxPods: false };

/**
 * The seed's rule: when more than `autoScaleThreshold` jobs wait for the cloud, bring the fleet to
 * ceil(waiting / threshold) pods (starting ones count), capped by maxPods. Below the threshold a job only
 * a pod can run must not wait forever: if no pod is starting or ready, spawn one.
 */
export function decideScale(snapshot: ScaleSnapshot, settings: ScaleSettings): ScaleDecision {
  const live = snapshot.starting + snapshot.ready + snapshot.busy;
  const room = Math.max(0, settings.maxPods - live);

  if (snapshot.waitingForCloud > settings.autoScaleThreshold) {
    const wanted = Math.ceil(snapshot.waitingForCloud / settings.autoScaleThreshold);
    const missing = Math.max(0, wanted - live);
    const spawn = Math.min(missing, room);
    return { spawn, reason: spawn > 0 ? 'queue-length' : 'none', wanted, cappedByMaxPods: spawn < missing };
  }

  if (snapshot.waitingForPodOnly > 0 && snapshot.starting + snapshot.ready === 0) {
    return {
      spawn: Math.min(1, room),
      reason: room > 0 ? 'pod-only-job' : 'none',
      wanted: 1,
      cappedByMaxPods: room === 0,
    };
  }

  return NONE;
}
