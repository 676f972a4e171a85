import { primaryModel } from '../local/local-worker-capabilities';
import type { RequestedBackend } from '../persistence/entities/job.entity';
import { canRun, type WorkerCapabilities, type WorkflowRequirements } from '../workflows';

export interface LocalWorkerOrderInput {
  /** The job's requirements; null when its workflow cannot be read (any worker may try it then). */
  requirements: WorkflowRequirements | null;
  /** Idle local workers (a free slot, not among the job's failed workers), in the dispatcher's order. */
  idle: readonly string[];
  /** Every registered local worker, busy or not (the "no worker at all can run it" rule). */
  allWorkers: readonly string[];
  /** undefined: not read yet (such a worker may run anything). */
  capabilitiesOf: (id: string) => WorkerCapabilities | undefined;
  /** The primary model of the worker's last job (likely still loaded), if any. */
  lastModelOf: (id: string) => string | undefined;
  requestedBackend: RequestedBackend;
  /** Pods or serverless could take the job. */
  cloudPossible: boolean;
}

/**
 * The idle local workers that can run the job (`missingFor` empty; a worker whose capabilities are unknown may
 * take anything), those whose last job used the job's checkpoint first (it is likely still loaded: a model
 * load costs 30-70 s), each group in the given order. A job that no backend can run (only local workers could,
 * and none of them, busy or not, can) keeps all idle workers: ComfyUI then fails it with its own message
 * rather than it waiting for ever (it got past the submit check while capabilities were still unknown).
 * Pure: the dispatcher (`BackendCapabilities.capableFirst`) and the policy simulator's model-aware router both
 * call it.
 */
export function localWorkerOrder(input: LocalWorkerOrderInput): string[] {
  const { requirements, idle, capabilitiesOf } = input;
  if (!idle.some((id) => capabilitiesOf(id))) return [...idle];
  if (!requirements) return [...idle];
  const mayRun = (id: string) => {
    const capabilities = capabilitiesOf(id);
    return !capabilities || canRun(requirements, capabilities);
  };
  const capable = idle.filter(mayRun);
  if (capable.length === 0 && (input.requestedBackend === 'local' || !input.cloudPossible)) {
    if (!input.allWorkers.some(mayRun)) return [...idle];
  }
  const model = primaryModel(requirements);
  if (model === undefined) return capable;
  const warm = capable.filter((id) => input.lastModelOf(id) === model);
  return warm.length === 0 ? capable : [...warm, ...capable.filter((id) => !warm.includes(id))];
}
