import { createHash } from 'node:crypto';
import { encodePng, type Frame } from './media';
import { type CatalogueEnv, type ExecContext, type NodeDef, type UiOutput } from './nodes';
import { fakeTraceback, PyException, pyJson, pyStr } from './py-compat';
import { type HistoryEntry, type PromptQueue, type QueueItem } from './queue';
import { type FileStore } from './storage';
import { type WsHub } from './ws-hub';

/**
 * The single prompt worker (`main.prompt_worker` + `execution.PromptExecutor`), emitting the exact message
 * sequence of reference §4.4:
 *
 *   status(on put) · status(on pick-up) · execution_start · execution_cached · [per executed node:
 *   progress_state(running) · executing · (progress_state + progress)* · executed? · progress_state(finished)]
 *   · execution_success · <history written> · status · executing{node:null}
 *
 * Errors: … execution_error · <history> · status · executing null. Interrupt: … execution_interrupted · … .
 * Cached nodes: listed in execution_cached; no `executing`, but cached OUTPUT nodes re-send `executed`.
 * The output cache follows ComfyUI's "classic" cache: keyed by an input signature (class, inputs, upstream
 * signatures, IS_CHANGED), pruned at the start of each prompt to the signatures of that prompt.
 *
 * UNVERIFIED choices: progress_state is sent before progress inside a step; cached nodes show as "finished"
 * in progress_state maps but emit no progress_state of their own; an interrupt is noticed after `executing`
 * (before_node_execution) and at each progress/work tick.
 */
export interface FailurePlan {
  /** fail at this node id (default: the first node matching `classType`, else the last node that executes) */
  nodeId?: string;
  classType?: string;
  exceptionMessage?: string;
  exceptionType?: string;
}

export interface ExecutorSettings {
  executionMsPerNode: number;
  samplerStepMs: number;
  historyWriteDelayMs: number;
  previewMethod: string;
}

type AbortReason = 'interrupt' | 'vanish' | 'dead';
class Aborted extends Error {
  constructor(readonly reason: AbortReason) {
    super(reason);
  }
}

interface CacheEntry {
  result: unknown[];
  ui?: UiOutput;
}

const isLink = (v: unknown): v is [string, number] =>
  Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number';
const PREVIEW_ON = new Set(['auto', 'latent2rgb', 'taesd']);

export class Executor {
  /** `server.client_id` and `server.last_node_id` (used by the ws hub on reconnect). */
  clientId: string | null = null;
  lastNodeId: string | null = null;
  private running?: { taskId: number; item: QueueItem };
  private abortReason?: AbortReason;
  private busy = false;
  private dead = false;
  private readonly waiters = new Set<() => void>();
  private readonly cache = new Map<string, CacheEntry>();
  private readonly failures: FailurePlan[] = [];

  constructor(
    private readonly queue: PromptQueue,
    private readonly hub: WsHub,
    private readonly catalogue: Map<string, NodeDef>,
    private readonly env: CatalogueEnv,
    private readonly store: FileStore,
    private readonly settings: () => ExecutorSettings,
  ) {}

  get runningPromptId(): string | undefined {
    return this.running?.item.promptId;
  }

  failNextPrompt(plan: FailurePlan): void {
    this.failures.push(plan);
  }

  clearCache(): void {
    this.cache.clear();
  }

  /** Schedules the worker (after the current tick, so the POST /prompt response goes out first). */
  pump(): void {
    if (this.busy || this.dead) return;
    setImmediate(() => void this.loop());
  }

  /** `/interrupt`: global, or only if `promptId` is the running one. Returns whether it fired. */
  interrupt(promptId?: string): boolean {
    if (!this.running) return false;
    if (promptId && this.running.item.promptId !== promptId) return false;
    this.abort('interrupt');
    return true;
  }

  /** Fault: the prompt disappears (pending: removed; running: stops silently, no history). */
  vanish(promptId: string): boolean {
    if (this.running?.item.promptId === promptId) {
      this.abort('vanish');
      return true;
    }
    return this.queue.deletePending((i) => i.promptId === promptId);
  }

  /** Crash: stop everything silently and forever. */
  kill(): void {
    this.dead = true;
    this.abort('dead');
  }

  private abort(reason: AbortReason): void {
    this.abortReason = reason;
    for (const w of [...this.waiters]) w();
  }

  private sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  private check(): void {
    if (this.abortReason) throw new Aborted(this.abortReason);
  }

  private async loop(): Promise<void> {
    if (this.busy || this.dead) return;
    this.busy = true;
    try {
      while (!this.dead) {
        const got = this.queue.get();
        if (!got) break;
        await this.run(got[0], got[1]);
      }
    } finally {
      this.busy = false;
    }
  }

  private signatures(prompt: QueueItem['prompt']): Map<string, string> {
    const sigs = new Map<string, string>();
    const stack = new Set<string>();
    const sigOf = (id: string): string => {
      const known = sigs.get(id);
      if (known) return known;
      if (stack.has(id) || !prompt[id]) return `missing:${id}`;
      stack.add(id);
      const node = prompt[id];
      const def = this.catalogue.get(node.class_type);
      const parts: unknown[] = [
        node.class_type,
        def?.isChanged ? def.isChanged(node.inputs, this.env) : null,
      ];
      for (const k of Object.keys(node.inputs ?? {}).sort()) {
        const v = node.inputs[k];
        parts.push(k, isLink(v) ? ['link', sigOf(v[0]), v[1]] : v);
      }
      stack.delete(id);
      const s = createHash('sha256').update(pyJson(parts)).digest('hex');
      sigs.set(id, s);
      return s;
    };
    for (const id of Object.keys(prompt)) sigOf(id);
    return sigs;
  }

  private async run(taskId: number, item: QueueItem): Promise<void> {
    const { promptId, prompt } = item;
    const clientId = typeof item.extraData.client_id === 'string' ? item.extraData.client_id : null;
    const settings = this.settings();
    this.running = { taskId, item };
    this.clientId = clientId;
    this.abortReason = undefined; // nodes.interrupt_processing(False) at the start of execute
    const messages: [string, Record<string, unknown>][] = [];
    const addMessage = (event: string, data: Record<string, unknown>, broadcast: boolean) => {
      const d = { ...data, timestamp: Date.now() };
      messages.push([event, d]);
      if (clientId !== null || broadcast) this.hub.send(event, d, clientId);
    };
    const toClient = (event: string, data: Record<string, unknown>) => {
      if (clientId !== null) this.hub.send(event, data, clientId);
    };
    const uiOutputs: HistoryEntry['outputs'] = {};
    const meta: HistoryEntry['meta'] = {};
    const executed = new Set<string>();
    const results = new Map<string, unknown[]>();
    const progressNodes: Record<string, Record<string, unknown>> = {};
    const sendProgressState = (id: string, state: 'running' | 'finished', value: number, max: number) => {
      progressNodes[id] = {
        value,
        max,
        state,
        node_id: id,
        prompt_id: promptId,
        display_node_id: id,
        parent_node_id: null,
        real_node_id: id,
      };
      this.hub.send(
        'progress_state',
        { prompt_id: promptId, nodes: structuredClone(progressNodes) },
        clientId,
      );
    };

    let status: 'success' | 'error' = 'success';
    try {
      addMessage('execution_start', { prompt_id: promptId }, false);

      const sigs = this.signatures(prompt);
      const live = new Set(sigs.values());
      for (const k of [...this.cache.keys()]) if (!live.has(k)) this.cache.delete(k);

      // Which node (if any) the injected failure hits: it is never served from the cache.
      const plan = this.failures.shift();
      const fullOrder = this.order(item, () => false);
      let failAt: string | undefined;
      if (plan) {
        failAt =
          (plan.nodeId && fullOrder.includes(plan.nodeId) ? plan.nodeId : undefined) ??
          (plan.classType ? fullOrder.find((id) => prompt[id].class_type === plan.classType) : undefined) ??
          fullOrder[fullOrder.length - 1];
      }
      const isCached = (id: string) => id !== failAt && this.cache.has(sigs.get(id)!);
      const cachedNodes = Object.keys(prompt).filter(isCached);
      for (const id of cachedNodes)
        progressNodes[id] = {
          value: 1,
          max: 1,
          state: 'finished',
          node_id: id,
          prompt_id: promptId,
          display_node_id: id,
          parent_node_id: null,
          real_node_id: id,
        };
      addMessage('execution_cached', { nodes: cachedNodes, prompt_id: promptId }, false);

      const order = this.order(item, isCached);
      for (const id of order) {
        this.check();
        const node = prompt[id];
        const def = this.catalogue.get(node.class_type)!;
        const sig = sigs.get(id)!;
        const hit = isCached(id) ? this.cache.get(sig) : undefined;
        if (hit) {
          toClient('executed', { node: id, display_node: id, output: hit.ui ?? null, prompt_id: promptId });
          if (hit.ui) {
            uiOutputs[id] = hit.ui;
            meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
          }
          results.set(id, hit.result);
          executed.add(id);
          continue;
        }
        sendProgressState(id, 'running', 0, 1);
        this.lastNodeId = id;
        toClient('executing', { node: id, display_node: id, prompt_id: promptId });
        const inputs: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(node.inputs)) {
          if (!isLink(v)) {
            inputs[k] = v;
            continue;
          }
          // upstream output: produced in this run, or served from the cache (cached inputs are never staged)
          const src = results.get(v[0]) ?? this.cache.get(sigs.get(v[0])!)?.result ?? [];
          inputs[k] = src[v[1] < 0 ? src.length + v[1] : v[1]];
        }
        try {
          this.check(); // before_node_execution()
          let out;
          if (id === failAt) {
            await this.sleep(settings.executionMsPerNode);
            this.check();
            throw new PyException(
              plan?.exceptionType ?? 'RuntimeError',
              plan?.exceptionMessage ?? `fake-comfyui: injected failure in node ${id} (${node.class_type})`,
            );
          } else {
            out = await def.execute(
              inputs,
              this.context(item, id, clientId, settings, (v, m) => sendProgressState(id, 'running', v, m)),
            );
          }
          results.set(id, out.result);
          const ui = out.ui && Object.keys(out.ui).length > 0 ? out.ui : undefined;
          if (ui) {
            uiOutputs[id] = ui;
            meta[id] = { node_id: id, display_node: id, parent_node: null, real_node_id: id };
            toClient('executed', { node: id, display_node: id, output: ui, prompt_id: promptId });
          }
          sendProgressState(id, 'finished', 1, 1);
          this.cache.set(sig, { result: out.result, ui });
          executed.add(id);
        } catch (ex) {
          if (ex instanceof Aborted) {
            if (ex.reason === 'interrupt') {
              addMessage(
                'execution_interrupted',
                { prompt_id: promptId, node_id: id, node_type: node.class_type, executed: [...executed] },
                true,
              );
              status = 'error';
              break;
            }
            throw ex;
          }
          const e =
            ex instanceof PyException
              ? ex
              : new PyException(
                  ex instanceof Error ? ex.name : 'Exception',
                  ex instanceof Error ? ex.message : String(ex),
                );
          const currentInputs: Record<string, unknown[]> = {};
          for (const [k, v] of Object.entries(inputs)) {
            currentInputs[k] = [
              v === null || v === undefined
                ? null
                : typeof v === 'object'
                  ? Array.isArray(v)
                    ? pyStr(v)
                    : `<${String((v as { kind?: string }).kind ?? 'object')}>`
                  : v,
            ];
          }
          const currentOutputs = Object.keys(prompt).filter((n) => this.cache.has(sigs.get(n)!));
          addMessage(
            'execution_error',
            {
              prompt_id: promptId,
              node_id: id,
              node_type: node.class_type,
              executed: [...executed],
              exception_message: e.message,
              exception_type: e.pyType,
              traceback: fakeTraceback(node.class_type),
              current_inputs: currentInputs,
              current_outputs: currentOutputs,
            },
            false,
          );
          status = 'error';
          break;
        }
      }
      if (status === 'success') addMessage('execution_success', { prompt_id: promptId }, false);

      // Optional fault: a gap between execution_success and the history write (the real race, widened).
      if (settings.historyWriteDelayMs > 0)
        await new Promise((r) => setTimeout(r, settings.historyWriteDelayMs));
      if (this.dead) throw new Aborted('dead');
      this.queue.taskDone(
        taskId,
        { outputs: uiOutputs, meta },
        { status_str: status, completed: status === 'success', messages },
      );
      toClient('executing', { node: null, prompt_id: promptId });
    } catch (ex) {
      if (!(ex instanceof Aborted)) throw ex;
      // vanish / dead: no history, no final messages. A vanished job still leaves the queue (status broadcast).
      if (ex.reason === 'vanish') this.queue.forgetRunning(taskId, true);
      else this.queue.forgetRunning(taskId, false);
    } finally {
      this.running = undefined;
      this.clientId = null;
      this.lastNodeId = null;
      this.abortReason = undefined;
    }
  }

  /** Execution order: depth-first from each output node, dependencies first; cached inputs are not expanded. */
  private order(item: QueueItem, isCached: (id: string) => boolean): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    const visit = (id: string) => {
      if (seen.has(id)) return;
      seen.add(id);
      for (const v of Object.values(item.prompt[id].inputs))
        if (isLink(v) && item.prompt[v[0]] && !isCached(v[0])) visit(v[0]);
      out.push(id);
    };
    for (const o of item.outputs) visit(o);
    return out;
  }

  private context(
    item: QueueItem,
    nodeId: string,
    clientId: string | null,
    settings: ExecutorSettings,
    onProgress: (v: number, m: number) => void,
  ): ExecContext {
    const previewMethod =
      typeof item.extraData.preview_method === 'string'
        ? item.extraData.preview_method
        : settings.previewMethod;
    return {
      promptId: item.promptId,
      nodeId,
      store: this.store,
      prompt: item.prompt,
      extraData: item.extraData,
      samplerStepMs: settings.samplerStepMs,
      work: async (ms?: number) => {
        this.check();
        await this.sleep(ms ?? settings.executionMsPerNode);
        this.check();
      },
      progress: async (value: number, max: number, preview?: Frame) => {
        this.check(); // the progress hook throws if interrupted
        onProgress(value, max);
        this.hub.send('progress', { value, max, prompt_id: item.promptId, node: nodeId }, clientId);
        if (preview && PREVIEW_ON.has(previewMethod))
          this.sendPreview(encodePng(preview, {}, 1), item.promptId, nodeId, clientId);
        await Promise.resolve();
      },
      sendPngFrame: (png: Buffer) => {
        const fmt = Buffer.alloc(4);
        fmt.writeUInt32BE(2); // 2 = PNG
        this.hub.sendBinary(1, Buffer.concat([fmt, png]), clientId);
      },
    };
  }

  private sendPreview(png: Buffer, promptId: string, nodeId: string, clientId: string | null): void {
    if (this.hub.supportsPreviewMetadata(clientId)) {
      const json = Buffer.from(
        JSON.stringify({
          node_id: nodeId,
          prompt_id: promptId,
          display_node_id: nodeId,
          parent_node_id: null,
          real_node_id: nodeId,
          image_type: 'image/png',
        }),
      );
      const len = Buffer.alloc(4);
      len.writeUInt32BE(json.length);
      this.hub.sendBinary(4, Buffer.concat([len, json, png]), clientId);
    } else {
      const fmt = Buffer.alloc(4);
      fmt.writeUInt32BE(2);
      this.hub.sendBinary(1, Buffer.concat([fmt, png]), clientId);
    }
  }
}
