import { CloudEvents } from '../cloud/cloud.events';
import { JobEvents } from '../jobs/job.events';
import { LOCAL_WORKER_CHANGED } from '../local/local-worker.events';

/**
 * The fields of each internal event that go on the wire, by event name. The stream is a public contract
 * (the dashboard and scripts read it), so a field added to an internal payload reaches clients only when it is
 * added here, and nothing internal leaks by accident.
 */
export const FLEET_EVENT_FIELDS = {
  [JobEvents.Queued]: ['jobId', 'priority', 'backend'],
  [JobEvents.Started]: ['jobId', 'backend', 'workerId', 'attempt'],
  [JobEvents.Progress]: ['jobId', 'progress'],
  [JobEvents.Completed]: ['jobId', 'backend', 'durationMs', 'cost'],
  [JobEvents.Failed]: ['jobId', 'backend', 'error'],
  [JobEvents.Cancelled]: ['jobId'],
  [JobEvents.Requeued]: ['jobId', 'backend', 'reason'],
  [CloudEvents.PodSpawned]: ['podId', 'name', 'gpuTypeId', 'costPerHour', 'origin'],
  [CloudEvents.PodReady]: ['podId', 'url', 'bootMs'],
  [CloudEvents.PodTerminated]: ['podId', 'cost', 'reason'],
  [CloudEvents.PodFailed]: ['podId', 'name', 'reason', 'cost'],
  [CloudEvents.OrphanFound]: ['podId', 'name', 'action'],
  [CloudEvents.BudgetExceeded]: ['limitUsd', 'spentTodayUsd'],
  [CloudEvents.CostUpdated]: ['totalCost'],
  [LOCAL_WORKER_CHANGED]: ['workerId', 'change'],
} as const satisfies Record<string, readonly string[]>;

export type FleetEventType = keyof typeof FLEET_EVENT_FIELDS;

export const FLEET_EVENT_TYPES = Object.keys(FLEET_EVENT_FIELDS) as FleetEventType[];

/** Too frequent for the "recent events" list (one per sampler step of every running job). */
export const HIGH_FREQUENCY_EVENT_TYPES: readonly FleetEventType[] = [JobEvents.Progress];

/** One event as kept in the buffer and sent to clients. */
export interface FleetEvent {
  /** Monotonic per instance, contiguous (each event is the previous id + 1). */
  id: number;
  type: FleetEventType;
  /** ISO time the event happened (the service's clock). */
  at: string;
  /** What clients receive: `{id, type, at, ...payload}`. */
  data: Readonly<Record<string, unknown>>;
  /** `data` as JSON, serialized once for every client and every replay. */
  json: string;
}

/** The wire payload of an internal event: the listed fields only, after `id`, `type` and `at`. */
export function fleetEventData(
  id: number,
  type: FleetEventType,
  at: string,
  payload: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const data: Record<string, unknown> = { id, type, at };
  for (const field of FLEET_EVENT_FIELDS[type]) {
    if (payload[field] !== undefined) data[field] = payload[field];
  }
  return data;
}
