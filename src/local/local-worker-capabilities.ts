import {
  canonicalFolder,
  missingFor,
  type MissingRequirements,
  normalizeName,
  staticModelFolder,
  type WorkerCapabilities,
  workerModelName,
  type WorkflowRequirements,
} from '../workflows';

/**
 * What the API shows of a worker's capabilities: bounded (a worker may list tens of thousands of node classes and
 * files): a count of node classes and at most MAX_MODELS_SHOWN names per folder.
 */
export interface LocalWorkerCapabilitiesView {
  nodeClasses: number;
  models: Record<string, string[]>;
  /** Folders whose list was cut to MAX_MODELS_SHOWN: folder → how many files it really has. */
  modelCounts: Record<string, number>;
  fetchedAt: number;
}

export const MAX_MODELS_SHOWN = 100;

export function capabilitiesView(capabilities: WorkerCapabilities): LocalWorkerCapabilitiesView {
  const models: Record<string, string[]> = {};
  const modelCounts: Record<string, number> = {};
  for (const [folder, files] of Object.entries(capabilities.models)) {
    models[folder] = files.slice(0, MAX_MODELS_SHOWN);
    modelCounts[folder] = files.length;
  }
  return {
    nodeClasses: capabilities.nodeClasses.length,
    models,
    modelCounts,
    fetchedAt: capabilities.fetchedAt,
  };
}

/**
 * The model that costs a load when it changes: the job's first checkpoint, else its first diffusion model (UNet
 * loaders). Normalized (`/`, canonical folder) so a worker's spelling and the workflow's compare equal.
 */
export function primaryModel(requirements: WorkflowRequirements): string | undefined {
  for (const folder of ['checkpoints', 'diffusion_models']) {
    const model = requirements.models.find((m) => canonicalFolder(m.folder) === folder);
    if (model) return `${folder}/${normalizeName(model.name)}`;
  }
  return undefined;
}

const isEmpty = (m: MissingRequirements) =>
  m.nodes.length === 0 && m.models.length === 0 && m.fileInputs.length === 0;

/**
 * The submit-time check: when every worker's capabilities are known and none can run the workflow, what the
 * closest one (fewest missing names) lacks; else undefined (some worker can run it, or one is still unknown:
 * unknown workers may run anything, as routing treats them).
 */
export function missingOnEveryWorker(
  requirements: WorkflowRequirements,
  workers: ReadonlyArray<WorkerCapabilities | undefined>,
): MissingRequirements | undefined {
  if (workers.length === 0) return undefined;
  let closest: MissingRequirements | undefined;
  for (const capabilities of workers) {
    if (!capabilities) return undefined;
    const missing = missingFor(requirements, capabilities);
    if (isEmpty(missing)) return undefined;
    const size = (m: MissingRequirements) => m.nodes.length + m.models.length + m.fileInputs.length;
    if (!closest || size(missing) < size(closest)) closest = missing;
  }
  return closest;
}

/** "the closest one lacks …": at most `shown` names (node classes, folder/file, custom file inputs), then a count. */
export function describeMissing(missing: MissingRequirements, shown = 10): string {
  const names = [
    ...missing.nodes.map((node) => `node ${node}`),
    ...missing.models.map((model) => `${model.folder}/${model.name}`),
    ...missing.fileInputs.map((f) => `${f.nodeClass}.${f.input} = ${f.value}`),
  ];
  return (
    `the closest one lacks ${names.slice(0, shown).join(', ')}` +
    (names.length > shown ? ` and ${names.length - shown} more` : '')
  );
}

/**
 * The workflow with the core loaders' model names in the worker's own spelling (`sdxl\a.safetensors` on a
 * Windows worker for `sdxl/a.safetensors`): ComfyUI compares combo values exactly. Nodes are copied only where a
 * name changes; the same object comes back when none does. ComfyExecutor sends every prompt through it when the
 * worker's capabilities are known (local workers and pods).
 */
export function inWorkerSpelling(
  workflow: Record<string, unknown>,
  capabilities: WorkerCapabilities,
): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const [id, node] of Object.entries(workflow)) {
    if (typeof node !== 'object' || node === null) continue;
    const { class_type: classType, inputs } = node as { class_type?: unknown; inputs?: unknown };
    if (typeof classType !== 'string' || typeof inputs !== 'object' || inputs === null) continue;
    let changed: Record<string, unknown> | undefined;
    for (const [input, value] of Object.entries(inputs)) {
      if (typeof value !== 'string') continue;
      const folder = staticModelFolder(classType, input);
      if (folder === undefined) continue;
      const spelled = workerModelName(capabilities, folder, value);
      if (spelled === undefined || spelled === value) continue;
      changed ??= { ...(inputs as Record<string, unknown>) };
      changed[input] = spelled;
    }
    if (changed) {
      out ??= { ...workflow };
      out[id] = { ...(node as Record<string, unknown>), inputs: changed };
    }
  }
  return out ?? workflow;
}
