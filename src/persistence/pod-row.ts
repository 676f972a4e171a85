import { PodEntity, type PodOrigin, type PodState } from './entities/pod.entity';

/** What a new pod row must say; everything else starts empty (null timestamps, no cost, no jobs). */
export interface NewPodRow {
  name: string;
  state: Extract<PodState, 'requested' | 'starting'>;
  origin: PodOrigin;
  gpuTypeId: string;
  costPerHour: number;
  requestedAt: number;
  runpodId?: string | null;
  url?: string | null;
  createdAt?: number | null;
  billedThrough?: number | null;
}

/** The one way to build a pod row: a write-ahead `requested` row, or a `starting` one for an adopted pod. */
export function newPodRow(fields: NewPodRow): PodEntity {
  return Object.assign(new PodEntity(), {
    runpodId: null,
    url: null,
    createdAt: null,
    readyAt: null,
    lastBusyAt: null,
    busySince: null,
    idleMarkedAt: null,
    idleTimeoutMs: null,
    drainRequestedAt: null,
    terminateRequestedAt: null,
    terminatedAt: null,
    billedThrough: null,
    costUsd: 0,
    jobsProcessed: 0,
    failureReason: null,
    ...fields,
  } satisfies PodEntity);
}
