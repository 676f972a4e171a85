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
 * Two-step idle reaping (Karpenter's emptiness): a ready pod idle for at least `idleTimeoutMs` is first
 * marked, and only terminated on a later tick if it is still ready and idle. A busy pod is never reaped.
 */
export function decideReaping(pods: ReapCandidate[], now: number, idleTimeoutMs: number): ReapDecision {
  const decision: ReapDecision = { mark: [], unmark: [], terminate: [] };
  for (const pod of pods) {
    const idleMs = pod.state === 'ready' && pod.lastBusyAt !== null ? now - pod.lastBusyAt : 0;
    const idleLongEnough = pod.state === 'ready' && pod.lastBusyAt !== null && idleMs >= idleTimeoutMs;
    if (!idleLongEnough) {
      if (pod.idleMarkedAt !== null) decision.unmark.push(pod.name);
      continue;
    }
    if (pod.idleMarkedAt === null) decision.mark.push(pod.name);
    else if (pod.idleMarkedAt < now) decision.terminate.push({ name: pod.name, idleMs });
  }
  return decision;
}
