import type { ServerlessHealth } from '../runpod/serverless-client';

/**
 * When a serverless job waiting in RunPod's queue is stuck rather than queued: it has waited `timeoutMs` since it
 * was sent and the endpoint runs no job at all (`/health` `jobs.inProgress` is 0, or `/health` could not be read).
 * Users of worker-comfyui report jobs left IN_QUEUE for hours by endpoints whose workers are throttled, unhealthy
 * or initializing for ever (reference/peers.md, complaint 4); RunPod itself drops such a job only at its ttl
 * (24 h). A queue that moves (some job in progress) is only busy, and the job keeps its place. The reason names
 * the endpoint's worker counts, which tell a throttled endpoint from a broken image. `timeoutMs` 0: never stuck.
 */
export function stuckInQueue(check: {
  endpointId: string;
  queuedForMs: number;
  timeoutMs: number;
  /** The endpoint's `/health`; null when it could not be read. */
  health: ServerlessHealth | null;
}): { stuck: false } | { stuck: true; reason: string } {
  const { endpointId, queuedForMs, timeoutMs, health } = check;
  if (!(timeoutMs > 0) || queuedForMs < timeoutMs) return { stuck: false };
  if (health !== null && health.jobs.inProgress > 0) return { stuck: false };
  const waited = `serverless endpoint ${endpointId} kept the job in its queue for ${Math.round(queuedForMs / 1000)} s`;
  if (health === null) return { stuck: true, reason: `${waited}, and its /health could not be read` };
  const { workers } = health;
  const counts = (['running', 'idle', 'initializing', 'throttled', 'unhealthy'] as const)
    .map((state) => `${workers[state]} ${state}`)
    .join(', ');
  return { stuck: true, reason: `${waited} without running any job (workers: ${counts})` };
}
