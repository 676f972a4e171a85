import { hash } from 'node:crypto';
import { looksLikeModelFile, staticModelFolder } from './model-loaders';
import {
  DEFAULT_WORKFLOW_LIMITS,
  isLink,
  readWorkflow,
  type WorkflowLimits,
  type WorkflowNode,
} from './workflow-graph';

/**
 * Inputs that change how long a workflow runs, besides model names: sizes, batch, steps, frames, sampler and
 * scheduler, denoise, scaling, weight precision. Everything else is left out ON PURPOSE: seeds, prompt text,
 * filename prefixes and other free text do not change the run time, and strengths, cfg values and the like
 * would only split the run-time samples of one workload into many small groups. Exception: cfg = 1 (ComfyUI
 * skips the negative pass, about half the sampling work) is kept as a flag.
 */
export const SIGNATURE_INPUTS: ReadonlySet<string> = new Set([
  'width',
  'height',
  'batch_size',
  'amount',
  'steps',
  'start_at_step',
  'end_at_step',
  'length',
  'frames',
  'num_frames',
  'frame_count',
  'video_frames',
  'sampler_name',
  'scheduler',
  'denoise',
  'scale_by',
  'megapixels',
  'resolution',
  'upscale_method',
  'weight_dtype',
]);

const FRAME_INPUTS = ['length', 'frames', 'num_frames', 'frame_count', 'video_frames'];
/**
 * Prompt and other free-text inputs: never model names, even when the text happens to end like a model file
 * (a prompt ending in ".pt" changed the signature; fast-check found it).
 */
const FREE_TEXT_INPUTS: ReadonlySet<string> = new Set([
  'text',
  'text_g',
  'text_l',
  't5xxl',
  'clip_l',
  'prompt',
  'negative_prompt',
  'system_prompt',
  'string',
  'filename_prefix',
]);
const VIDEO_CLASS = /video|wan|hunyuan|ltxv|mochi|cosmos|animatediff|svd_|webm/i;
const SIGNATURE_VERSION = 'wfsig-v1';

/** What the run-time estimator's defaults need to know of a workflow it has never timed. */
export interface WorkflowProfile {
  /** `workflowSignature` of the workflow. */
  signature: string;
  kind: 'image' | 'video';
  /** Largest width × height named by a node (e.g. EmptyLatentImage), when any. */
  width?: number;
  height?: number;
  /** Largest batch_size, 1 when none. */
  batch: number;
  /** Sum of the sampling steps of every node with `steps` (a refiner or hi-res pass adds its own). */
  steps: number;
  /** Largest frame count (`length`, `frames`, …), 1 when none. */
  frames: number;
}

/**
 * A structural hash of a workflow (sha256 hex): equal for workflows that differ only in seeds, prompt text,
 * filename prefixes, other free text, node ids or key order; different when node classes, wiring, model names
 * or any SIGNATURE_INPUTS value differ. Each node is hashed with everything upstream of it (a Merkle hash over
 * the links), and the signature is the hash of the sorted node hashes, so it does not depend on node ids.
 * Linear in the workflow's size; bounded by `limits`.
 * @throws WorkflowShapeError (not API format, over the limits).
 */
export function workflowSignature(
  workflow: unknown,
  limits: Readonly<WorkflowLimits> = DEFAULT_WORKFLOW_LIMITS,
): string {
  return signatureOf(readWorkflow(workflow, limits), limits);
}

/** `workflowSignature` plus the sizes the estimator's defaults scale by. @throws WorkflowShapeError. */
export function workflowProfile(
  workflow: unknown,
  limits: Readonly<WorkflowLimits> = DEFAULT_WORKFLOW_LIMITS,
): WorkflowProfile {
  const nodes = readWorkflow(workflow, limits);
  let width: number | undefined;
  let height: number | undefined;
  let batch = 1;
  let steps = 0;
  let frames = 1;
  let video = false;
  for (const node of nodes) {
    const num = (name: string) => {
      const v = node.inputs.get(name);
      return typeof v === 'number' && v > 0 ? v : undefined;
    };
    const w = num('width');
    const h = num('height');
    if (w !== undefined && h !== undefined && w * h > (width ?? 0) * (height ?? 0)) {
      width = w;
      height = h;
    }
    batch = Math.max(batch, num('batch_size') ?? 1);
    const s = num('steps');
    if (s !== undefined) {
      const end = Math.min(num('end_at_step') ?? s, s);
      steps += Math.max(1, end - (num('start_at_step') ?? 0));
    }
    for (const f of FRAME_INPUTS) frames = Math.max(frames, num(f) ?? 1);
    if (VIDEO_CLASS.test(node.classType)) video = true;
  }
  return {
    signature: signatureOf(nodes, limits),
    kind: video || frames > 1 ? 'video' : 'image',
    ...(width !== undefined && height !== undefined ? { width, height } : {}),
    batch,
    steps: Math.min(steps, 1_000_000),
    frames,
  };
}

function signatureOf(nodes: WorkflowNode[], limits: Readonly<WorkflowLimits>): string {
  const byId = new Map(nodes.map((n) => [n.id, n]));
  // Kahn's order over the links, iteratively (no recursion on user input). Nodes on a cycle (ComfyUI rejects
  // those) never get an order and are hashed from their own label.
  const pending = new Map<string, number>();
  const consumers = new Map<string, string[]>();
  for (const node of nodes) {
    let count = 0;
    for (const v of node.inputs.values())
      if (isLink(v) && byId.has(v.from)) {
        count++;
        const list = consumers.get(v.from) ?? [];
        list.push(node.id);
        consumers.set(v.from, list);
      }
    pending.set(node.id, count);
  }
  const ready = nodes.filter((n) => pending.get(n.id) === 0).map((n) => n.id);
  const hashes = new Map<string, string>();
  for (let i = 0; i < ready.length; i++) {
    const node = byId.get(ready[i])!;
    hashes.set(node.id, nodeHash(node, hashes, limits));
    for (const c of consumers.get(node.id) ?? []) {
      const left = pending.get(c)! - 1;
      pending.set(c, left);
      if (left === 0) ready.push(c);
    }
  }
  for (const node of nodes) if (!hashes.has(node.id)) hashes.set(node.id, nodeHash(node, undefined, limits));
  const all = [...hashes.values()].sort();
  return hash('sha256', SIGNATURE_VERSION + all.join('\n'), 'hex');
}

/** sha256 of the node's class, its significant inputs and (when `upstream` is given) its inputs' hashes. */
function nodeHash(
  node: WorkflowNode,
  upstream: Map<string, string> | undefined,
  limits: Readonly<WorkflowLimits>,
): string {
  const parts: Array<[string, unknown]> = [];
  for (const [name, value] of node.inputs) {
    if (isLink(value)) {
      parts.push([name, ['link', value.output, upstream ? (upstream.get(value.from) ?? '?') : 'cycle']]);
      continue;
    }
    if (name === 'cfg') {
      if (value === 1) parts.push([name, 'one']);
      continue;
    }
    if (typeof value === 'string') {
      if (value.length > limits.maxNameLength) continue;
      if (
        staticModelFolder(node.classType, name) !== undefined ||
        (!FREE_TEXT_INPUTS.has(name) && looksLikeModelFile(value))
      )
        parts.push([name, value.replace(/\\/g, '/')]);
      else if (SIGNATURE_INPUTS.has(name)) parts.push([name, value]);
      continue;
    }
    if (SIGNATURE_INPUTS.has(name))
      parts.push([name, typeof value === 'number' ? Math.round(value * 1e4) / 1e4 : value]);
  }
  parts.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  // One-shot crypto.hash: a third of createHash's cost for inputs this small (it is paid per node per submit).
  return hash('sha256', JSON.stringify([node.classType, parts]), 'hex').slice(0, 32);
}
