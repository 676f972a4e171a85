/** Emitted (through @nestjs/event-emitter) when the set of local workers or one worker's condition changes. */
export const LOCAL_WORKER_CHANGED = 'workerChanged';

export interface LocalWorkerChangedEvent {
  workerId: string;
  /** added / removed: registered or removed; health: became healthy or unhealthy; state: enabled, disabled, draining. */
  change: 'added' | 'removed' | 'health' | 'state';
}
