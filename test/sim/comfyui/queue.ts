import { PyFloat } from './py-compat';
import { type ApiPrompt } from './validation';

/**
 * `execution.PromptQueue`: a min-heap of queue items with Python `heapq` semantics (so `queue_pending` is
 * the raw heap array order, like ComfyUI), a `currently_running` map, and the history dict (insertion order,
 * capped at MAXIMUM_HISTORY_SIZE). `onUpdated` is the server's `queue_updated()` (→ `status` broadcast).
 */
export const MAXIMUM_HISTORY_SIZE = 10000;
export const SENSITIVE_EXTRA_DATA_KEYS = ['auth_token_comfy_org', 'api_key_comfy_org'];

export interface QueueItem {
  number: number;
  /** true when the client sent an explicit `number` (Python stores `float(number)`). */
  numberIsFloat: boolean;
  promptId: string;
  prompt: ApiPrompt;
  extraData: Record<string, unknown>;
  outputs: string[];
  sensitive: Record<string, unknown>;
}

/** The 5-element wire tuple `[number, prompt_id, prompt, extra_data, outputs_to_execute]`. */
export type QueueTuple = [number | PyFloat, string, ApiPrompt, Record<string, unknown>, string[]];

export function toTuple(item: QueueItem, includeSensitive = false): QueueTuple {
  const extra = includeSensitive ? { ...item.extraData, ...item.sensitive } : item.extraData;
  return [
    item.numberIsFloat ? new PyFloat(item.number) : item.number,
    item.promptId,
    item.prompt,
    extra,
    item.outputs,
  ];
}

export interface HistoryEntry {
  prompt: QueueTuple;
  outputs: Record<string, Record<string, unknown[]>>;
  status: {
    status_str: 'success' | 'error';
    completed: boolean;
    messages: [string, Record<string, unknown>][];
  } | null;
  meta: Record<
    string,
    { node_id: string; display_node: string; parent_node: string | null; real_node_id: string }
  >;
}

const lt = (a: QueueItem, b: QueueItem) =>
  a.number < b.number || (a.number === b.number && a.promptId < b.promptId);

export class PromptQueue {
  private heap: QueueItem[] = [];
  private readonly running = new Map<number, QueueItem>();
  private taskCounter = 0;
  readonly history = new Map<string, HistoryEntry>();

  constructor(private readonly onUpdated: () => void) {}

  put(item: QueueItem): void {
    this.heap.push(item);
    this.siftdown(0, this.heap.length - 1);
    this.onUpdated();
  }

  /** Worker pick-up; returns [taskId, item] or undefined when empty. */
  get(): [number, QueueItem] | undefined {
    if (this.heap.length === 0) return undefined;
    const item = this.heappop();
    const id = this.taskCounter++;
    this.running.set(id, item);
    this.onUpdated();
    return [id, item];
  }

  taskDone(
    taskId: number,
    result: Pick<HistoryEntry, 'outputs' | 'meta'>,
    status: HistoryEntry['status'],
  ): void {
    const item = this.running.get(taskId);
    if (!item) return;
    this.running.delete(taskId);
    if (this.history.size > MAXIMUM_HISTORY_SIZE)
      this.history.delete(this.history.keys().next().value as string);
    this.history.set(item.promptId, {
      prompt: toTuple(item),
      status,
      outputs: result.outputs,
      meta: result.meta,
    });
    this.onUpdated();
  }

  /** Drops a running item without writing history (used by die()/vanish faults). */
  forgetRunning(taskId: number, notify: boolean): void {
    this.running.delete(taskId);
    if (notify) this.onUpdated();
  }

  /** `delete_queue_item`: pending items only; the first match is removed and the heap re-heapified. */
  deletePending(pred: (i: QueueItem) => boolean): boolean {
    const idx = this.heap.findIndex(pred);
    if (idx < 0) return false;
    if (this.heap.length === 1) this.heap = [];
    else {
      this.heap.splice(idx, 1);
      for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftup(i);
    }
    this.onUpdated();
    return true;
  }

  wipe(): void {
    this.heap = [];
    this.onUpdated();
  }

  get pending(): readonly QueueItem[] {
    return this.heap;
  }
  get runningItems(): QueueItem[] {
    return [...this.running.values()];
  }
  get remaining(): number {
    return this.heap.length + this.running.size;
  }

  /** `get_history(prompt_id=None, max_items, offset)` with ComfyUI's offset/max_items rules. */
  historySlice(maxItems: number | undefined, offset: number): [string, HistoryEntry][] {
    let off = offset;
    if (off < 0 && maxItems !== undefined) off = this.history.size - maxItems;
    const out: [string, HistoryEntry][] = [];
    let i = 0;
    for (const [k, v] of this.history) {
      if (i >= off) {
        out.push([k, v]);
        if (maxItems !== undefined && out.length >= maxItems) break;
      }
      i++;
    }
    return out;
  }

  // --- Python heapq internals (same array layout as CPython) ---
  private siftdown(startpos: number, pos: number): void {
    const h = this.heap;
    const newitem = h[pos];
    while (pos > startpos) {
      const parentpos = (pos - 1) >> 1;
      const parent = h[parentpos];
      if (lt(newitem, parent)) {
        h[pos] = parent;
        pos = parentpos;
        continue;
      }
      break;
    }
    h[pos] = newitem;
  }

  private siftup(pos: number): void {
    const h = this.heap;
    const endpos = h.length;
    const startpos = pos;
    const newitem = h[pos];
    let childpos = 2 * pos + 1;
    while (childpos < endpos) {
      const rightpos = childpos + 1;
      if (rightpos < endpos && !lt(h[childpos], h[rightpos])) childpos = rightpos;
      h[pos] = h[childpos];
      pos = childpos;
      childpos = 2 * pos + 1;
    }
    h[pos] = newitem;
    this.siftdown(startpos, pos);
  }

  private heappop(): QueueItem {
    const last = this.heap.pop()!;
    if (this.heap.length === 0) return last;
    const ret = this.heap[0];
    this.heap[0] = last;
    this.siftup(0);
    return ret;
  }
}
