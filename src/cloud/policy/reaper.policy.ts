import { type PodState } from '../../persistence/entities/pod.entity';

export interface ReapCandidate {
  name: string;
  state: PodState;
  /** When the pod last finished work or became ready; null if never ready. */
  lastBusyAt: number | null;
  idleMarkedAt: number | null;
}

export interface ReapDecision {
  /** Step one: found idle for idleTimeout; mark and look again next tick. */
  mark: string[];
  /** Marked earlier but no longer idle (got work): clear the mark. */
  unmark: string[];
  /** Step two: marked on an earlier tick and still idle: terminate (after a final compare-and-set). */
  terminate: Array<{ name: string; idleMs: number }>;
}

/**
 * Two-step idle reaping (Karpenter's emptiness): a ready pod idle for at least `idleTimeoutMs` (or its own
 * timeout in `perPodTimeoutMs`, by name) is first marked, and only terminated on a later tick if it is still
 * ready and idle. A busy pod is never reaped.
 */
export function decideReaping(
  pods: ReapCandidate[],
  now: number,
  idleTimeoutMs: number,
  perPodTimeoutMs?: Readonly<Record<string, number>>,
): ReapDecision {
  const decision: ReapDecision = { mark: [], unmark: [], terminate: [] };
  for (const pod of pods) {
    const timeoutMs = perPodTimeoutMs?.[pod.name] ?? idleTimeoutMs;
    const idleMs = pod.state === 'ready' && pod.lastBusyAt !== null ? now - pod.lastBusyAt : 0;
    const idleLongEnough = pod.state === 'ready' && pod.lastBusyAt !== null && idleMs >= timeoutMs;
    if (!idleLongEnough) {
      if (pod.idleMarkedAt !== null) decision.unmark.push(pod.name);
      continue;
    }
    if (pod.idleMarkedAt === null) decision.mark.push(pod.name);
    else if (pod.idleMarkedAt < now) decision.terminate.push({ name: pod.name, idleMs });
  }
  return decision;
}

export interface AgingPod {
  name: string;
  state: PodState;
  /** When RunPod created the pod; null while it is not created yet. */
  createdAt: number | null;
  drainRequestedAt: number | null;
}

export interface LifetimeDecision {
  /** Past the lifetime and not busy: terminate now (after a compare-and-set from ready). */
  terminate: string[];
  /** Past the lifetime but busy: stop giving it work; it is terminated once its job ends. */
  drain: string[];
}

/**
 * CLOUD_MAX_POD_LIFETIME: a pod older than `maxLifetimeMs` (from its creation at RunPod) is drained and
 * terminated. A ready pod goes at once; a busy one is marked draining and goes when it is ready again.
 * Booting pods are left to the boot deadline. `maxLifetimeMs` undefined: no limit.
 */
export function decideLifetime(
  pods: AgingPod[],
  now: number,
  maxLifetimeMs: number | undefined,
): LifetimeDecision {
  const decision: LifetimeDecision = { terminate: [], drain: [] };
  if (maxLifetimeMs === undefined) return decision;
  for (const pod of pods) {
    if (pod.createdAt === null || now - pod.createdAt < maxLifetimeMs) continue;
    if (pod.state === 'ready') decision.terminate.push(pod.name);
    else if (pod.state === 'busy' && pod.drainRequestedAt === null) decision.drain.push(pod.name);
  }
  return decision;
}
