import { canonicalFolder, looksLikeModelFile, staticModelFolder, VAE_PSEUDO_NAMES } from './model-loaders';
import {
  DEFAULT_WORKFLOW_LIMITS,
  nodesById,
  readWorkflow,
  stringInput,
  type WorkflowLimits,
  type WorkflowNode,
} from './workflow-graph';

/** A model file a workflow loads: ComfyUI model folder (canonical key, e.g. `diffusion_models`) + file name. */
export interface ModelRequirement {
  folder: string;
  name: string;
}

/**
 * A file-valued combo input whose folder is unknown (a custom loader, or VAELoader's `taesd*` values): the
 * worker's /object_info must list `value` among that input's options, or ComfyUI answers "Value not in list".
 */
export interface FileInputRequirement {
  nodeClass: string;
  input: string;
  value: string;
}

/** What a worker needs to run a workflow. Sorted and de-duplicated, so equal workflows give equal values. */
export interface WorkflowRequirements {
  nodeClasses: string[];
  models: ModelRequirement[];
  fileInputs: FileInputRequirement[];
}

/** Values that mean "no file" in loaders with an optional model. */
const NO_FILE = new Set(['', 'None', 'none']);

/**
 * Requirements from the workflow alone: node classes, the models of ComfyUI's core loaders (MODEL_LOADER_INPUTS)
 * and `embedding:` references in text. Custom loaders are invisible here: use `requirementsFromObjectInfo`
 * when a worker's /object_info is at hand.
 * @throws WorkflowShapeError (not API format, over the limits).
 */
export function workflowRequirements(
  workflow: unknown,
  limits: Readonly<WorkflowLimits> = DEFAULT_WORKFLOW_LIMITS,
): WorkflowRequirements {
  return collect(readWorkflow(workflow, limits), limits, undefined, undefined);
}

/**
 * Requirements using a worker's `/object_info` (any worker: it says which inputs are file lists; the lists
 * themselves are compared per worker by `missingFor`). An input counts as a model file when the static table
 * names its folder, or when its declared type is a combo (V1 `[[options], {...}]` or V3 `["COMBO", {options}]`)
 * whose options or value look like model files; upload combos (LoadImage's `image_upload` & co.) are input
 * files, not models, and are skipped. The folder of a custom loader's input is the one of `modelsByFolder`
 * (that worker's /models/{folder} listings) that holds every option; if none does, the input is returned as a
 * `FileInputRequirement`. Classes absent from `objectInfo` fall back to the static table.
 * @throws WorkflowShapeError (not API format, over the limits).
 */
export function requirementsFromObjectInfo(
  workflow: unknown,
  objectInfo: unknown,
  modelsByFolder?: Readonly<Record<string, readonly string[]>>,
  limits: Readonly<WorkflowLimits> = DEFAULT_WORKFLOW_LIMITS,
): WorkflowRequirements {
  const info = isRecord(objectInfo) ? objectInfo : {};
  return collect(readWorkflow(workflow, limits), limits, info, modelsByFolder);
}

function collect(
  nodes: WorkflowNode[],
  limits: Readonly<WorkflowLimits>,
  objectInfo: Record<string, unknown> | undefined,
  modelsByFolder: Readonly<Record<string, readonly string[]>> | undefined,
): WorkflowRequirements {
  const byId = nodesById(nodes);
  const classes = new Set<string>();
  const models = new Map<string, ModelRequirement>();
  const fileInputs = new Map<string, FileInputRequirement>();
  const folderOf = folderInference(modelsByFolder);
  const addModel = (folder: string, name: string) => {
    const canonical = canonicalFolder(folder);
    models.set(`${canonical}\u0000${name}`, { folder: canonical, name });
  };
  const addFileInput = (nodeClass: string, input: string, value: string) =>
    fileInputs.set(`${nodeClass}\u0000${input}\u0000${value}`, { nodeClass, input, value });

  for (const node of nodes) {
    classes.add(node.classType);
    const specs = objectInfo ? inputSpecs(objectInfo, node.classType) : undefined;
    for (const input of node.inputs.keys()) {
      const value = stringInput(node, input, byId);
      if (value === undefined || NO_FILE.has(value) || value.length > limits.maxNameLength) continue;
      const folder = staticModelFolder(node.classType, input);
      if (folder !== undefined) {
        if (node.classType === 'VAELoader' && VAE_PSEUDO_NAMES.has(value))
          addFileInput(node.classType, input, value);
        else addModel(folder, value);
        continue;
      }
      if (!specs) continue;
      const combo = comboOf(specs[input]);
      if (!combo || combo.upload) continue;
      if (!looksLikeModelFile(value) && !combo.options.some(looksLikeModelFile)) continue;
      const inferred = folderOf(combo.options);
      if (inferred !== undefined) addModel(inferred, value);
      else addFileInput(node.classType, input, value);
    }
    for (const value of node.inputs.values())
      if (typeof value === 'string')
        for (const name of embeddingNames(value, limits.maxTextScan)) addModel('embeddings', name);
  }
  const byKey = <T>(m: Map<string, T>) =>
    [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return { nodeClasses: [...classes].sort(), models: byKey(models), fileInputs: byKey(fileInputs) };
}

const EMBEDDING = /embedding:([^\s,()[\]{}<>|"'`]+)/g;
const MAX_EMBEDDINGS_PER_TEXT = 64;

/**
 * `embedding:<name>` references in prompt text, as ComfyUI's tokenizer reads them (comfy/sd1_clip.py): a
 * whitespace-separated word starting with `embedding:`; a weight suffix of `(embedding:x:1.2)` and trailing
 * punctuation are not part of the name. Only the first `maxScan` characters are read.
 */
export function embeddingNames(text: string, maxScan = DEFAULT_WORKFLOW_LIMITS.maxTextScan): string[] {
  if (!text.includes('embedding:')) return [];
  const names: string[] = [];
  for (const match of text.slice(0, maxScan).matchAll(EMBEDDING)) {
    const name = match[1].replace(/:-?\d*\.?\d+$/, '').replace(/[.,;:!?]+$/, '');
    if (name) names.push(name);
    if (names.length >= MAX_EMBEDDINGS_PER_TEXT) break;
  }
  return names;
}

// ---------------------------------------------------------------- object_info

export interface ComboSpec {
  options: string[];
  /** The input takes uploaded files (`image_upload`, `video_upload`, `audio_upload`, `upload`), not models. */
  upload: boolean;
}

/** Most options read from one combo: a worker may list thousands of files; more do not change the answer. */
const MAX_COMBO_OPTIONS = 20_000;

/** `objectInfo[classType].input.{required,optional}` merged, or undefined when the class is not described. */
export function inputSpecs(
  objectInfo: Record<string, unknown>,
  classType: string,
): Record<string, unknown> | undefined {
  if (!Object.prototype.hasOwnProperty.call(objectInfo, classType)) return undefined;
  const info = objectInfo[classType];
  if (!isRecord(info) || !isRecord(info.input)) return undefined;
  const required = isRecord(info.input.required) ? info.input.required : {};
  const optional = isRecord(info.input.optional) ? info.input.optional : {};
  return { ...optional, ...required };
}

/** A V1 `[[options], {...}]` or V3 `["COMBO", {options: [...]}]` input spec (reference §1), else undefined. */
export function comboOf(spec: unknown): ComboSpec | undefined {
  if (!Array.isArray(spec) || spec.length === 0) return undefined;
  const extra = isRecord(spec[1]) ? spec[1] : {};
  let raw: unknown;
  if (Array.isArray(spec[0])) raw = spec[0];
  else if (spec[0] === 'COMBO') raw = extra.options;
  else return undefined;
  if (!Array.isArray(raw)) return undefined;
  const options: string[] = [];
  for (const o of raw.slice(0, MAX_COMBO_OPTIONS)) if (typeof o === 'string') options.push(o);
  const upload =
    extra.image_upload === true ||
    extra.video_upload === true ||
    extra.audio_upload === true ||
    extra.upload !== undefined;
  return { options, upload };
}

/**
 * The folder of a custom loader's combo: the listing that holds every one of its options (ComfyUI fills such
 * combos with `get_filename_list(folder)`). Ambiguous or no match: undefined.
 */
function folderInference(
  modelsByFolder: Readonly<Record<string, readonly string[]>> | undefined,
): (options: string[]) => string | undefined {
  if (!modelsByFolder) return () => undefined;
  let sets: Array<[string, Set<string>]> | undefined;
  return (options) => {
    if (options.length === 0) return undefined;
    sets ??= Object.entries(modelsByFolder)
      .filter(([, list]) => Array.isArray(list))
      .map(([folder, list]) => [folder, new Set(list.slice(0, MAX_COMBO_OPTIONS))]);
    const matches = sets.filter(([, set]) => options.every((o) => set.has(o)));
    if (matches.length === 0) return undefined;
    // Several folders can hold the same files (e.g. one model in two folders): the tightest listing wins.
    matches.sort(([fa, a], [fb, b]) => a.size - b.size || (fa < fb ? -1 : 1));
    return matches[0][0];
  };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
