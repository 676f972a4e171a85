import { type CatalogueEnv, type InputSpec, type NodeDef } from './nodes';
import { fakeTraceback, PyException, pyBool, pyFloat, pyInt, pyRepr, pyStr, pyTypeName } from './py-compat';

/**
 * `execution.validate_prompt` / `validate_inputs`, reproduced from ComfyUI (reference §2 + execution.py).
 *
 * Faithful points: the two-pass structure (every node must have a known class_type, then each OUTPUT_NODE
 * is validated recursively), the per-node reason objects `{type,message,details,extra_info}`, exceptions
 * during link checks (`KeyError` for a link to a missing node → `exception_during_validation` on the
 * output, or `exception_during_inner_validation` one level down), the quirk that every failing node
 * collects every failing output in `dependent_outputs`, and the 200-with-node_errors partial success.
 *
 * Deviations: Python iterates the input names of a node as a `set` (arbitrary order); we use the
 * declared order. NEW's `dependency_cycle` check is not implemented; a cycle surfaces as a RecursionError
 * inside `exception_during_*` (which is what OLD ComfyUI does).
 */
export type Flavor = 'old' | 'new';

export interface ReasonObject {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}
export interface NodeError {
  errors: ReasonObject[];
  dependent_outputs: string[];
  class_type: string;
}
export type NodeErrors = Record<string, NodeError>;

export type ApiPrompt = Record<
  string,
  { class_type: string; inputs: Record<string, unknown>; _meta?: { title?: string } }
>;

export type ValidationResult =
  | { ok: true; outputs: string[]; nodeErrors: NodeErrors; prompt: ApiPrompt }
  | { ok: false; error: ReasonObject; nodeErrors: NodeErrors };

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

function missingNodeError(flavor: Flavor, id: string, node: unknown, hasClass: boolean): ReasonObject {
  const classType = hasClass ? (node as Record<string, unknown>).class_type : undefined;
  if (flavor === 'old') {
    return hasClass
      ? {
          type: 'invalid_prompt',
          message: `Cannot execute because node ${pyStr(classType)} does not exist.`,
          details: `Node ID '#${id}'`,
          extra_info: {},
        }
      : {
          type: 'invalid_prompt',
          message: 'Cannot execute because a node is missing the class_type property.',
          details: `Node ID '#${id}'`,
          extra_info: {},
        };
  }
  // NEW (>= v0.12.0). `details` keeps the OLD "Node ID '#x'" text: UNVERIFIED for NEW.
  const meta = isObj(node) && isObj(node._meta) ? node._meta : undefined;
  const title = typeof meta?.title === 'string' ? meta.title : undefined;
  return hasClass
    ? {
        type: 'missing_node_type',
        message: `Node '${title ?? pyStr(classType)}' not found. The custom node may not be installed.`,
        details: `Node ID '#${id}'`,
        extra_info: { node_id: id, class_type: classType ?? null, node_title: title ?? classType ?? null },
      }
    : {
        type: 'missing_node_type',
        message: `Node '${title ?? `ID #${id}`}' has no class_type. The workflow may be corrupted or a custom node is missing.`,
        details: `Node ID '#${id}'`,
        extra_info: { node_id: id, class_type: null, node_title: title ?? null },
      };
}

function typeMatches(received: string, expected: string | string[]): boolean {
  if (received === '*' || expected === '*') return true;
  if (typeof expected !== 'string') return false;
  if (received === expected) return true;
  const a = new Set(received.split(',').map((t) => t.trim()));
  return expected.split(',').some((t) => a.has(t.trim()));
}

export function validatePrompt(
  rawPrompt: unknown,
  partialTargets: unknown,
  catalogue: Map<string, NodeDef>,
  env: CatalogueEnv,
  flavor: Flavor,
): ValidationResult {
  if (!isObj(rawPrompt)) throw new PyException('TypeError', 'prompt is not a dict'); // aiohttp → 500 (UNVERIFIED)
  const prompt = structuredClone(rawPrompt) as ApiPrompt; // validation coerces values in place (inputs[x] = val)
  const targets = Array.isArray(partialTargets) ? partialTargets.map(String) : undefined;

  // Pass 1: every node needs a known class_type. A UI-format workflow ({nodes, links, ...}) fails here on its
  // first key — ComfyUI has no converter. (A non-dict value such as `"last_node_id": 9` makes real ComfyUI
  // raise a TypeError → HTTP 500; we answer the tolerant 400 "missing class_type" instead. UNVERIFIED.)
  const outputs: string[] = [];
  for (const id of Object.keys(prompt)) {
    const node: unknown = prompt[id];
    if (!isObj(node) || !('class_type' in node))
      return { ok: false, error: missingNodeError(flavor, id, node, false), nodeErrors: {} };
    const def = typeof node.class_type === 'string' ? catalogue.get(node.class_type) : undefined;
    if (!def) return { ok: false, error: missingNodeError(flavor, id, node, true), nodeErrors: {} };
    if (def.output_node && (!targets || targets.includes(id))) outputs.push(id);
  }
  if (outputs.length === 0) {
    return {
      ok: false,
      error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} },
      nodeErrors: {},
    };
  }

  const validated = new Map<string, [boolean, ReasonObject[]]>();
  const visiting = new Set<string>();

  const validateInputs = (id: string): [boolean, ReasonObject[]] => {
    const done = validated.get(id);
    if (done) return done;
    if (visiting.has(id)) throw new PyException('RecursionError', 'maximum recursion depth exceeded');
    visiting.add(id);
    try {
      const node = prompt[id];
      if (!isObj(node.inputs)) throw new PyException('KeyError', "'inputs'");
      const inputs = node.inputs;
      const def = catalogue.get(node.class_type)!;
      const types = def.inputTypes(env);
      const validateNames = def.validateInputs?.names ?? [];
      const errors: ReasonObject[] = [];
      let valid = true;
      const entries: [string, InputSpec, 'required' | 'optional'][] = [
        ...Object.entries(types.required).map(
          ([k, s]) => [k, s, 'required'] as [string, InputSpec, 'required'],
        ),
        ...Object.entries(types.optional ?? {}).map(
          ([k, s]) => [k, s, 'optional'] as [string, InputSpec, 'optional'],
        ),
      ];
      for (const [x, spec, category] of entries) {
        const inputType = spec[0];
        const extra = spec[1] ?? {};
        if (!(x in inputs)) {
          if (category === 'required')
            errors.push({
              type: 'required_input_missing',
              message: 'Required input is missing',
              details: x,
              extra_info: { input_name: x },
            });
          continue;
        }
        let val = inputs[x];
        const info = [inputType, extra];
        if (Array.isArray(val)) {
          if (val.length !== 2) {
            errors.push({
              type: 'bad_linked_input',
              message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]',
              details: x,
              extra_info: { input_name: x, input_config: info, received_value: val },
            });
            continue;
          }
          const [oId, slot] = val as [unknown, unknown];
          if (typeof oId !== 'string' && typeof oId !== 'number')
            throw new PyException('TypeError', `unhashable type: '${pyTypeName(oId)}'`);
          if (typeof oId !== 'string' || !(oId in prompt)) throw new PyException('KeyError', pyRepr(oId));
          const r = catalogue.get(prompt[oId].class_type)!.output;
          if (typeof slot !== 'number' || !Number.isInteger(slot))
            throw new PyException(
              'TypeError',
              `tuple indices must be integers or slices, not ${pyTypeName(slot)}`,
            );
          const idx = slot < 0 ? r.length + slot : slot;
          if (idx < 0 || idx >= r.length) throw new PyException('IndexError', 'tuple index out of range');
          const receivedType = r[idx];
          if (!typeMatches(receivedType, inputType)) {
            errors.push({
              type: 'return_type_mismatch',
              message: 'Return type mismatch between linked nodes',
              details: `${x}, received_type(${receivedType}) mismatch input_type(${pyStr(inputType)})`,
              extra_info: {
                input_name: x,
                input_config: info,
                received_type: receivedType,
                linked_node: val,
              },
            });
            continue;
          }
          try {
            const sub = validateInputs(oId);
            if (!sub[0]) valid = false;
          } catch (ex) {
            valid = false;
            const e = ex instanceof PyException ? ex : new PyException('Exception', String(ex));
            validated.set(oId, [
              false,
              [
                {
                  type: 'exception_during_inner_validation',
                  message: 'Exception when validating inner node',
                  details: e.message,
                  extra_info: {
                    input_name: x,
                    input_config: info,
                    exception_message: e.message,
                    exception_type: e.pyType,
                    traceback: fakeTraceback('validate_inputs'),
                    linked_node: val,
                  },
                },
              ],
            ]);
          }
          continue;
        }
        try {
          if (isObj(val) && '__value__' in val) {
            val = val.__value__;
            inputs[x] = val;
          }
          if (inputType === 'INT') val = pyInt(val);
          if (inputType === 'FLOAT') val = pyFloat(val);
          if (inputType === 'STRING') val = pyStr(val);
          if (inputType === 'BOOLEAN') val = pyBool(val);
          inputs[x] = val;
        } catch (ex) {
          const msg = ex instanceof Error ? ex.message : String(ex);
          errors.push({
            type: 'invalid_input_type',
            message: `Failed to convert an input value to a ${pyStr(inputType)} value`,
            details: `${x}, ${pyStr(val)}, ${msg}`,
            extra_info: { input_name: x, input_config: info, received_value: val, exception_message: msg },
          });
          continue;
        }
        if (!validateNames.includes(x)) {
          const asFloat = inputType === 'FLOAT';
          if (typeof extra.min === 'number' && typeof val === 'number' && val < extra.min) {
            errors.push({
              type: 'value_smaller_than_min',
              message: `Value ${pyStr(val, asFloat)} smaller than min of ${pyStr(extra.min, asFloat)}`,
              details: x,
              extra_info: { input_name: x, input_config: info, received_value: val },
            });
            continue;
          }
          if (typeof extra.max === 'number' && typeof val === 'number' && val > extra.max) {
            errors.push({
              type: 'value_bigger_than_max',
              message: `Value ${pyStr(val, asFloat)} bigger than max of ${pyStr(extra.max, asFloat)}`,
              details: x,
              extra_info: { input_name: x, input_config: info, received_value: val },
            });
            continue;
          }
          if (Array.isArray(inputType) || inputType === 'COMBO') {
            const options = Array.isArray(inputType) ? inputType : ((extra.options as unknown[]) ?? []);
            if (!options.some((o) => o === val)) {
              const big = options.length > 20;
              errors.push({
                type: 'value_not_in_list',
                message: 'Value not in list',
                details: `${x}: '${pyStr(val)}' not in ${big ? `(list of length ${options.length})` : pyRepr(options)}`,
                extra_info: { input_name: x, input_config: big ? null : info, received_value: val },
              });
              continue;
            }
          }
        }
      }
      if (def.validateInputs) {
        const present = def.validateInputs.names.filter((n) => n in inputs && !Array.isArray(inputs[n]));
        if (present.length === def.validateInputs.names.length) {
          const r = def.validateInputs.fn(inputs, env);
          if (r !== true) {
            for (const x of present) {
              errors.push({
                type: 'custom_validation_failed',
                message: 'Custom validation failed for node',
                details: r === false ? x : `${x} - ${r}`,
                extra_info: { input_name: x },
              });
            }
          }
        }
      }
      const ret: [boolean, ReasonObject[]] = errors.length > 0 || !valid ? [false, errors] : [true, []];
      validated.set(id, ret);
      return ret;
    } finally {
      visiting.delete(id);
    }
  };

  const good: string[] = [];
  const failed: [string, ReasonObject[]][] = [];
  const nodeErrors: NodeErrors = {};
  for (const o of outputs) {
    let ok: boolean;
    let reasons: ReasonObject[];
    try {
      [ok, reasons] = validateInputs(o);
    } catch (ex) {
      const e = ex instanceof PyException ? ex : new PyException('Exception', String(ex));
      ok = false;
      reasons = [
        {
          type: 'exception_during_validation',
          message: 'Exception when validating node',
          details: e.message,
          extra_info: { exception_type: e.pyType, traceback: fakeTraceback('validate_prompt') },
        },
      ];
      validated.set(o, [false, reasons]);
    }
    if (ok) {
      good.push(o);
      continue;
    }
    failed.push([o, reasons]);
    // ComfyUI quirk kept on purpose: every node that failed so far gets this output appended.
    for (const [nodeId, [v, rs]] of validated) {
      if (v || rs.length === 0) continue;
      if (!nodeErrors[nodeId])
        nodeErrors[nodeId] = { errors: rs, dependent_outputs: [], class_type: prompt[nodeId].class_type };
      nodeErrors[nodeId].dependent_outputs.push(o);
    }
  }
  if (good.length === 0) {
    const lines = failed.flatMap(([, rs]) => rs.map((r) => `${r.message}: ${r.details}`));
    return {
      ok: false,
      error: {
        type: 'prompt_outputs_failed_validation',
        message: 'Prompt outputs failed validation',
        details: lines.join('\n'),
        extra_info: {},
      },
      nodeErrors,
    };
  }
  return { ok: true, outputs: good, nodeErrors, prompt };
}
