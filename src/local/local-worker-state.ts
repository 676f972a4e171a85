/**
 * The operator's controls on a local worker and what they mean, as pure functions (no I/O).
 *
 * - active: takes new jobs when healthy and a slot is free.
 * - disabled (`enabled: false`): takes no new jobs; jobs already running on it finish.
 * - draining (`draining: true`): takes no new jobs and leaves the fleet once it runs none. A registered worker is
 *   removed (as DELETE would); a worker from LOCAL_COMFYUI_URLS cannot be removed at run time (it would be back at
 *   the next start), so its drain ends with it disabled. Draining wins over `enabled`.
 */
export type LocalWorkerState = 'active' | 'disabled' | 'draining';

export const LOCAL_WORKER_STATES: readonly LocalWorkerState[] = ['active', 'disabled', 'draining'];

export interface LocalWorkerControls {
  enabled: boolean;
  draining: boolean;
}

export const DEFAULT_CONTROLS: Readonly<LocalWorkerControls> = { enabled: true, draining: false };

export function stateOf(controls: LocalWorkerControls): LocalWorkerState {
  if (controls.draining) return 'draining';
  return controls.enabled ? 'active' : 'disabled';
}

/** A PATCH changes only the fields it names. */
export function patchControls(
  current: LocalWorkerControls,
  patch: Partial<LocalWorkerControls>,
): LocalWorkerControls {
  return { enabled: patch.enabled ?? current.enabled, draining: patch.draining ?? current.draining };
}

/** Only an active worker is offered new jobs (health and free slots are checked beside this). */
export function takesNewJobs(state: LocalWorkerState): boolean {
  return state === 'active';
}

/**
 * What to do with a worker now: `remove` a registered worker whose drain is over, `disable` an env worker whose
 * drain is over, else `keep`.
 */
export function drainOutcome(
  controls: LocalWorkerControls,
  source: 'env' | 'api',
  running: number,
): 'keep' | 'remove' | 'disable' {
  if (!controls.draining || running > 0) return 'keep';
  return source === 'api' ? 'remove' : 'disable';
}
