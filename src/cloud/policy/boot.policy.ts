import { type PodState } from '../../persistence/entities/pod.entity';

export interface BootingPod {
  name: string;
  state: PodState;
  requestedAt: number;
}

/**
 * Pods still booting `bootTimeoutMs` after we asked for them: terminate them and mark them failed, so we
 * do not pay for pods that never come up.
 */
export function podsPastBootDeadline(pods: BootingPod[], now: number, bootTimeoutMs: number): string[] {
  return pods
    .filter(
      (pod) =>
        (pod.state === 'starting' || pod.state === 'requested') && now - pod.requestedAt >= bootTimeoutMs,
    )
    .map((pod) => pod.name);
}
