/** Event names (the seed's) and their payloads, emitted through @nestjs/event-emitter. */
export const CloudEvents = {
  PodSpawned: 'podSpawned',
  PodReady: 'podReady',
  PodTerminated: 'podTerminated',
  PodFailed: 'podFailed',
  CostUpdated: 'costUpdated',
  BudgetExceeded: 'budgetExceeded',
  /** The sweeper found a pod under our name prefix at RunPod with no record here (then terminates or adopts it). */
  OrphanFound: 'orphanFound',
} as const;

export interface PodSpawnedEvent {
  podId: string;
  name: string;
  gpuTypeId: string;
  costPerHour: number;
  origin: 'manual' | 'autoscale' | 'adopted';
}

export interface PodReadyEvent {
  podId: string;
  url: string;
  bootMs: number;
}

export interface PodTerminatedEvent {
  podId: string;
  /** Total USD this pod cost, boot included. */
  cost: number;
  reason: string;
}

export interface PodFailedEvent {
  podId: string | null;
  name: string;
  reason: string;
  cost: number;
}

export interface CostUpdatedEvent {
  totalCost: number;
}

export interface BudgetExceededEvent {
  limitUsd: number;
  spentTodayUsd: number;
}

export interface OrphanFoundEvent {
  podId: string;
  name: string;
  /** What the sweeper does with it (CLOUD_ORPHAN_POLICY). */
  action: 'terminate' | 'adopt';
}
