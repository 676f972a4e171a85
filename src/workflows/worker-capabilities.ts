import { canonicalFolder, looksLikeModelFile, MODEL_LOADER_INPUTS } from './model-loaders';
import {
  comboOf,
  type FileInputRequirement,
  type ModelRequirement,
  type WorkflowRequirements,
} from './workflow-requirements';

/**
 * What one worker can run, as read from its ComfyUI (`fetchCapabilities`): plain data (JSON-serializable, to
 * persist with the worker). Treat a value as immutable: `missingFor` indexes it once per object.
 */
export interface WorkerCapabilities {
  /** Node classes of its /object_info, sorted. */
  nodeClasses: string[];
  /** Canonical model folder (`diffusion_models`, not `unet`) → files as the worker spells them (`sdxl\a.safetensors` on Windows). */
  models: Record<string, string[]>;
  /** Options of file-valued combo inputs (custom loaders, VAELoader), keyed by `fileComboKey(class, input)`. */
  fileCombos?: Record<string, string[]>;
  /** When it was read (ms since the epoch). */
  fetchedAt: number;
}

export interface MissingRequirements {
  nodes: string[];
  models: ModelRequirement[];
  fileInputs: FileInputRequirement[];
}

export const fileComboKey = (nodeClass: string, input: string): string => `${nodeClass}\u0000${input}`;

/**
 * What `requirements` needs that `capabilities` lacks (empty lists = it can run the workflow). Model names
 * match exactly except for the path separator: ComfyUI lists subfolders with the OS's separator, so
 * `sdxl/a.safetensors` matches a Windows worker's `sdxl\a.safetensors`, and the other way round (use
 * `workerModelName` to rewrite the workflow to the worker's spelling: ComfyUI's own check is exact).
 * Embeddings also match without their extension, as ComfyUI resolves them. A file input is missing only when
 * the worker's options for it are known and lack the value.
 */
export function missingFor(
  requirements: WorkflowRequirements,
  capabilities: WorkerCapabilities,
): MissingRequirements {
  const index = indexOf(capabilities);
  const nodes = requirements.nodeClasses.filter((c) => !index.classes.has(c));
  const models = requirements.models.filter((m) => lookup(index, m.folder, m.name) === undefined);
  const fileInputs = requirements.fileInputs.filter((f) => {
    const options = index.fileCombos.get(fileComboKey(f.nodeClass, f.input));
    return options !== undefined && !options.has(normalizeName(f.value));
  });
  return { nodes, models, fileInputs };
}

export const canRun = (requirements: WorkflowRequirements, capabilities: WorkerCapabilities): boolean => {
  const m = missingFor(requirements, capabilities);
  return m.nodes.length === 0 && m.models.length === 0 && m.fileInputs.length === 0;
};

/** The worker's own spelling of a model (e.g. with `\`), or undefined when it does not have it. */
export function workerModelName(
  capabilities: WorkerCapabilities,
  folder: string,
  name: string,
): string | undefined {
  return lookup(indexOf(capabilities), folder, name);
}

/** `\` and `/` are the same separator; nothing else is normalized (ComfyUI compares names exactly). */
export const normalizeName = (name: string): string => name.replace(/\\/g, '/');

// ---------------------------------------------------------------- building

/** Bounds on what one worker's answers may make us keep (a worker is trusted, but not to be sane). */
export const CAPABILITY_LIMITS = Object.freeze({
  maxNodeClasses: 20_000,
  maxFolders: 128,
  maxFilesPerFolder: 50_000,
  maxNameLength: 1024,
  maxFileCombos: 2000,
});

/**
 * Capabilities from a worker's /object_info and (when it has the route) its /models/{folder} listings. Without
 * listings, the core loaders' combos in /object_info stand in for them (as SwarmUI reads models).
 */
export function capabilitiesFrom(
  objectInfo: unknown,
  modelsByFolder: Readonly<Record<string, readonly unknown[]>> | undefined,
  fetchedAt: number,
): WorkerCapabilities {
  const info = isRecord(objectInfo) ? objectInfo : {};
  const nodeClasses: string[] = [];
  for (const name in info) {
    if (!Object.prototype.hasOwnProperty.call(info, name)) continue;
    if (nodeClasses.length >= CAPABILITY_LIMITS.maxNodeClasses) break;
    nodeClasses.push(name);
  }
  nodeClasses.sort();

  const models = new Map<string, Set<string>>();
  const addFiles = (folder: string, files: readonly unknown[]) => {
    const canonical = canonicalFolder(folder);
    let set = models.get(canonical);
    if (!set) {
      if (models.size >= CAPABILITY_LIMITS.maxFolders) return;
      set = new Set();
      models.set(canonical, set);
    }
    for (const f of files) {
      if (set.size >= CAPABILITY_LIMITS.maxFilesPerFolder) break;
      if (typeof f === 'string' && f.length <= CAPABILITY_LIMITS.maxNameLength) set.add(f);
    }
  };
  if (modelsByFolder) {
    for (const [folder, files] of Object.entries(modelsByFolder))
      if (Array.isArray(files) && folder.length <= CAPABILITY_LIMITS.maxNameLength) addFiles(folder, files);
  } else {
    for (const [cls, inputs] of Object.entries(MODEL_LOADER_INPUTS))
      for (const [input, folder] of Object.entries(inputs)) {
        const combo = comboOf(specOf(info, cls, input));
        if (combo && !combo.upload) addFiles(folder, combo.options);
      }
  }

  const fileCombos: Record<string, string[]> = {};
  let combos = 0;
  for (const cls of nodeClasses) {
    if (combos >= CAPABILITY_LIMITS.maxFileCombos) break;
    const node = info[cls];
    if (!isRecord(node) || !isRecord(node.input)) continue;
    for (const group of [node.input.required, node.input.optional]) {
      if (!isRecord(group)) continue;
      for (const input in group) {
        if (!Object.prototype.hasOwnProperty.call(group, input)) continue;
        const combo = comboOf(group[input]);
        if (!combo || combo.upload) continue;
        if (cls !== 'VAELoader' && !combo.options.some(looksLikeModelFile)) continue;
        if (combos++ >= CAPABILITY_LIMITS.maxFileCombos) break;
        fileCombos[fileComboKey(cls, input)] = combo.options.filter(
          (o) => o.length <= CAPABILITY_LIMITS.maxNameLength,
        );
      }
    }
  }

  return {
    nodeClasses,
    models: Object.fromEntries([...models.entries()].map(([f, s]) => [f, [...s].sort()])),
    fileCombos,
    fetchedAt,
  };
}

// ---------------------------------------------------------------- index (one per capabilities object)

interface CapabilityIndex {
  classes: Set<string>;
  /** folder → normalized name → the worker's spelling; embeddings also by name without extension. */
  models: Map<string, Map<string, string>>;
  fileCombos: Map<string, Set<string>>;
}

const INDEXES = new WeakMap<WorkerCapabilities, CapabilityIndex>();

function indexOf(capabilities: WorkerCapabilities): CapabilityIndex {
  let index = INDEXES.get(capabilities);
  if (index) return index;
  const models = new Map<string, Map<string, string>>();
  for (const [folder, files] of Object.entries(capabilities.models ?? {})) {
    const canonical = canonicalFolder(folder);
    const names = models.get(canonical) ?? new Map<string, string>();
    models.set(canonical, names);
    for (const file of Array.isArray(files) ? files : []) {
      if (typeof file !== 'string') continue;
      const normalized = normalizeName(file);
      if (!names.has(normalized)) names.set(normalized, file);
      if (canonical === 'embeddings') {
        const stem = normalized.replace(/\.[^./]+$/, '');
        if (!names.has(stem)) names.set(stem, file);
      }
    }
  }
  const fileCombos = new Map<string, Set<string>>();
  for (const [key, options] of Object.entries(capabilities.fileCombos ?? {}))
    if (Array.isArray(options)) fileCombos.set(key, new Set(options.map(normalizeName)));
  index = { classes: new Set(capabilities.nodeClasses ?? []), models, fileCombos };
  INDEXES.set(capabilities, index);
  return index;
}

function lookup(index: CapabilityIndex, folder: string, name: string): string | undefined {
  return index.models.get(canonicalFolder(folder))?.get(normalizeName(name));
}

function specOf(info: Record<string, unknown>, cls: string, input: string): unknown {
  const node = Object.prototype.hasOwnProperty.call(info, cls) ? info[cls] : undefined;
  if (!isRecord(node) || !isRecord(node.input)) return undefined;
  for (const group of [node.input.required, node.input.optional])
    if (isRecord(group) && Object.prototype.hasOwnProperty.call(group, input)) return group[input];
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
