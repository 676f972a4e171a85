/**
 * A bounded, read-only view of an API-format ComfyUI workflow (the `prompt` object: node id → {class_type,
 * inputs}, reference/comfyui.md §3), shared by the requirement and signature code. A workflow is user input:
 * every loop here is bounded by `WorkflowLimits`, nothing recurses, and values other than scalars and links
 * are skipped (they never name a model and do not change a job's shape).
 */

export interface WorkflowLimits {
  /** Nodes in one workflow. Large real graphs have a few hundred. */
  maxNodes: number;
  /** Inputs read per node; the rest are ignored. */
  maxInputsPerNode: number;
  /** Node ids, class types and input names longer than this make the workflow invalid. */
  maxKeyLength: number;
  /** Longest string value kept as a model name; longer ones cannot be file names and are dropped. */
  maxNameLength: number;
  /** Prefix of a text value scanned for `embedding:` references. */
  maxTextScan: number;
}

export const DEFAULT_WORKFLOW_LIMITS: Readonly<WorkflowLimits> = Object.freeze({
  maxNodes: 5000,
  maxInputsPerNode: 256,
  maxKeyLength: 256,
  maxNameLength: 1024,
  maxTextScan: 65_536,
});

/** The workflow is not API format or is over a limit; the message is for the user. */
export class WorkflowShapeError extends Error {
  override readonly name = 'WorkflowShapeError';
}

/** `[source node id, output index]`: how ComfyUI spells a link (`graph_utils.is_link`). */
export interface WorkflowLink {
  from: string;
  output: number;
}

export type WorkflowScalar = string | number | boolean | null;
export type WorkflowValue = WorkflowScalar | WorkflowLink;

export interface WorkflowNode {
  id: string;
  classType: string;
  /** Input name → scalar or link, in the workflow's order. `{"__value__": x}` is unwrapped as ComfyUI does. */
  inputs: Map<string, WorkflowValue>;
}

export const isLink = (v: WorkflowValue | undefined): v is WorkflowLink =>
  typeof v === 'object' && v !== null;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads `workflow` into nodes, in key order.
 * @throws WorkflowShapeError when it is not an object of `{class_type: string, inputs: object}` nodes or has
 *   more than `maxNodes` nodes / an over-long id or class type.
 */
export function readWorkflow(
  workflow: unknown,
  limits: Readonly<WorkflowLimits> = DEFAULT_WORKFLOW_LIMITS,
): WorkflowNode[] {
  if (!isRecord(workflow)) throw new WorkflowShapeError('The workflow must be a JSON object of nodes.');
  const nodes: WorkflowNode[] = [];
  // for..in over an own-keys snapshot would allocate the whole key list first; counting as we go stops early.
  for (const id in workflow) {
    if (!Object.prototype.hasOwnProperty.call(workflow, id)) continue;
    if (nodes.length >= limits.maxNodes)
      throw new WorkflowShapeError(`The workflow has more than ${limits.maxNodes} nodes.`);
    if (id.length > limits.maxKeyLength) throw new WorkflowShapeError('A node id is too long.');
    const node = workflow[id];
    if (!isRecord(node) || typeof node.class_type !== 'string' || !isRecord(node.inputs))
      throw new WorkflowShapeError(`Node "${id.slice(0, 64)}" is not {class_type, inputs}.`);
    if (node.class_type.length > limits.maxKeyLength)
      throw new WorkflowShapeError(`Node "${id.slice(0, 64)}" has a class_type that is too long.`);
    const inputs = new Map<string, WorkflowValue>();
    for (const name in node.inputs) {
      if (!Object.prototype.hasOwnProperty.call(node.inputs, name)) continue;
      if (inputs.size >= limits.maxInputsPerNode) break;
      if (name.length > limits.maxKeyLength) continue;
      const value = readValue(node.inputs[name]);
      if (value !== undefined) inputs.set(name, value);
    }
    nodes.push({ id, classType: node.class_type, inputs });
  }
  return nodes;
}

function readValue(raw: unknown): WorkflowValue | undefined {
  if (isRecord(raw) && '__value__' in raw) raw = raw.__value__;
  if (raw === null || typeof raw === 'string' || typeof raw === 'boolean') return raw;
  if (typeof raw === 'number') return Number.isFinite(raw) ? raw : undefined;
  if (
    Array.isArray(raw) &&
    raw.length === 2 &&
    typeof raw[0] === 'string' &&
    typeof raw[1] === 'number' &&
    Number.isInteger(raw[1])
  )
    return { from: raw[0], output: raw[1] };
  return undefined;
}

/**
 * A string input's value, following at most one link to a primitive node (`PrimitiveString` & co. feed a
 * widget through a link in API format). No chains: bounded work, and deeper indirection is rare.
 */
export function stringInput(
  node: WorkflowNode,
  input: string,
  byId: ReadonlyMap<string, WorkflowNode>,
): string | undefined {
  const value = node.inputs.get(input);
  if (typeof value === 'string') return value;
  if (!isLink(value)) return undefined;
  const source = byId.get(value.from);
  if (!source || !/^Primitive/.test(source.classType)) return undefined;
  const inner = source.inputs.get('value');
  return typeof inner === 'string' ? inner : undefined;
}

export function nodesById(nodes: readonly WorkflowNode[]): Map<string, WorkflowNode> {
  return new Map(nodes.map((n) => [n.id, n]));
}
