import { ComfyWorkflowError } from './comfyui.errors';
import type { ComfyApiWorkflow } from './comfyui.types';

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

export const SAVE_API_HINT =
  'In ComfyUI, export the workflow in API format with "Save (API)" (Workflow menu → Export (API); ' +
  'older UIs: enable Dev mode Options, then "Save (API Format)") and send that file.';

/**
 * Checks that `workflow` is an API-format ComfyUI workflow: `{ "<node id>": { class_type: string, inputs: object } }`.
 * Pure; the server validates the rest (node classes, links, values) on `POST /prompt`.
 *
 * @returns null when the shape is fine, else a message for the user. The UI format (`nodes`/`links` arrays,
 *   which ComfyUI's server does not accept, reference §3) gets the "Save (API)" hint.
 */
export function validateApiWorkflow(workflow: unknown): string | null {
  if (!isPlainObject(workflow))
    return 'The workflow must be a JSON object of nodes keyed by node id (API format).';
  if (Array.isArray(workflow.nodes) || Array.isArray(workflow.links))
    return `This is a workflow in ComfyUI's UI format ("nodes"/"links"), which the ComfyUI server cannot run. ${SAVE_API_HINT}`;
  const keys = Object.keys(workflow);
  if (keys.length === 0) return 'The workflow has no nodes.';
  if (keys.length === 1 && keys[0] === 'prompt' && isPlainObject(workflow.prompt))
    return 'The workflow is wrapped in {"prompt": ...}: send the API-format workflow itself (the value of "prompt").';
  for (const id of keys) {
    const node = workflow[id];
    if (!isPlainObject(node))
      return `Node "${id}" is not an object with class_type and inputs: is this an API-format workflow? ${SAVE_API_HINT}`;
    if (typeof node.class_type !== 'string' || node.class_type.trim() === '')
      return `Node "${id}" has no class_type: is this an API-format workflow? ${SAVE_API_HINT}`;
    if (!isPlainObject(node.inputs)) return `Node "${id}" (${node.class_type}) has no "inputs" object.`;
  }
  return null;
}

/** Throws `ComfyWorkflowError` (type `invalid_api_format`) when `validateApiWorkflow` finds a problem. */
export function assertApiWorkflow(workflow: unknown): asserts workflow is ComfyApiWorkflow {
  const problem = validateApiWorkflow(workflow);
  if (problem !== null) throw new ComfyWorkflowError('invalid_api_format', problem, '', {}, {});
}
