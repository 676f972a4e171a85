import {
  ComfyAbortedError,
  ComfyDeadlineError,
  ComfyExecutionError,
  type ComfyExecutionErrorData,
  ComfyInterruptedError,
  ComfyPromptLostError,
  ComfyUnavailableError,
} from './comfyui.errors';
import type { ComfyEventSource, ComfyWsMessage } from './comfyui-socket';
import type {
  ComfyCompletionSource,
  ComfyHistoryEntry,
  ComfyLogger,
  ComfyProgress,
  ComfyQueueState,
  ComfyWaitOptions,
} from './comfyui.types';

/** What the watch needs from the client (kept narrow so the state machine can be read on its own). */
export interface PromptWatchDeps {
  getHistory(promptId: string): Promise<ComfyHistoryEntry | null>;
  getQueue(): Promise<ComfyQueueState>;
  /** Opens a new socket for a reconnect (same clientId); undefined: the wait runs on polling alone. */
  openSocket: (() => ComfyEventSource) | undefined;
  logger: ComfyLogger;
  baseUrl: string;
}

export interface PromptWatchSettings {
  pollIntervalMs: number;
  connectedPollIntervalMs: number;
  websocketReconnectAttempts: number;
  websocketReconnectDelayMs: number;
  lostPromptChecks: number;
  maxPollFailures: number;
}

export interface PromptWatchOutcome {
  entry: ComfyHistoryEntry;
  completedVia: ComfyCompletionSource;
}

/**
 * Follows ONE prompt until it is done, over the websocket when it works and by polling `/history/{id}` +
 * `/queue` always (fast while the socket is down, slowly as a safety net while it is up).
 *
 * Done = the final `executing {node: null, prompt_id}` for our prompt, then `/history/{id}`; or a history entry
 * found by polling (history present = done, which also makes re-attaching after a restart work). We never read
 * history on `execution_success`: ComfyUI sends it BEFORE the history entry exists (reference §9).
 *
 * A poll reads history first and the queue only when history is empty. A prompt can finish between the two
 * reads, so one "in neither" is not proof: it must be seen `lostPromptChecks` times in a row, `pollIntervalMs`
 * apart, before `ComfyPromptLostError`.
 *
 * Every path ends in `finish()`, which clears every timer, the abort listener and the socket it opened.
 */
export class PromptWatch {
  private settled = false;
  private resolveFn!: (outcome: PromptWatchOutcome) => void;
  private rejectFn!: (error: Error) => void;
  private socket?: ComfyEventSource;
  private readonly ownsSockets: ComfyEventSource[] = [];
  private pollTimer?: NodeJS.Timeout;
  private pollDueAt = Infinity;
  private reconnectTimer?: NodeJS.Timeout;
  private deadlineTimer?: NodeJS.Timeout;
  private polling = false;
  private pollAgain = false;
  private missingChecks = 0;
  private pollFailures = 0;
  private reconnectFailures = 0;
  private sawFinalExecuting = false;
  private cancelledByUs = false;
  private readonly onAbort = () => this.finish(new ComfyAbortedError(this.options.signal?.reason));

  constructor(
    readonly promptId: string,
    private readonly deps: PromptWatchDeps,
    private readonly settings: PromptWatchSettings,
    private readonly options: ComfyWaitOptions,
  ) {}

  /**
   * Starts watching. `socket` is an already opened (or opening) socket for this prompt's clientId, or undefined
   * to run on polling alone. The watch closes the socket when it ends.
   * `submittedOnOpenSocket`: the prompt was submitted after `socket` opened, so every event for it arrives
   * there and the first poll can wait for the slow safety-net interval. Otherwise (a re-attach, or no socket)
   * the prompt may already be finished or unknown, so the first poll goes out at once.
   */
  start(socket: ComfyEventSource | undefined, submittedOnOpenSocket = false): Promise<PromptWatchOutcome> {
    const done = new Promise<PromptWatchOutcome>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    if (socket) this.ownsSockets.push(socket);
    if (this.options.signal?.aborted) {
      this.finish(new ComfyAbortedError(this.options.signal.reason));
      return done;
    }
    this.options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (this.options.timeoutMs !== undefined && this.options.timeoutMs > 0) {
      const ms = this.options.timeoutMs;
      this.deadlineTimer = setTimeout(() => this.finish(new ComfyDeadlineError(this.promptId, ms)), ms);
    }
    if (socket) this.attach(socket);
    this.schedulePoll(submittedOnOpenSocket && socket?.isOpen ? this.settings.connectedPollIntervalMs : 0);
    return done;
  }

  /** `cancel()` on the same client removed it from the queue: end with ComfyInterruptedError, not "lost". */
  cancelledBeforeStart(): void {
    this.finish(
      new ComfyInterruptedError(this.promptId, undefined, undefined, 'cancelled before it started'),
    );
  }

  /** `cancel()` on the same client interrupted it: if it then vanishes, that is not "lost". */
  markCancelled(): void {
    this.cancelledByUs = true;
  }

  // ------------------------------------------------------------------ websocket

  private attach(socket: ComfyEventSource): void {
    this.socket = socket;
    socket.onMessage((message) => this.onMessage(message));
    socket.onClose(() => this.onSocketClosed(socket));
    void socket.ready.then((ok) => {
      if (this.settled || this.socket !== socket) return;
      if (ok) this.reconnectFailures = 0;
    });
  }

  private onSocketClosed(socket: ComfyEventSource): void {
    if (this.settled || this.socket !== socket) return;
    this.socket = undefined;
    this.deps.logger.debug?.(
      `ComfyUI ${this.deps.baseUrl}: websocket closed while waiting for ${this.promptId}; polling`,
    );
    // Missed messages are not replayed (reference §4.3): history/queue polling now carries the wait.
    this.schedulePoll(0);
    const openSocket = this.deps.openSocket;
    if (openSocket && this.reconnectFailures < this.settings.websocketReconnectAttempts) {
      this.reconnectFailures++;
      this.reconnectTimer = setTimeout(() => {
        this.reconnectTimer = undefined;
        if (this.settled) return;
        const next = openSocket();
        this.ownsSockets.push(next);
        this.attach(next);
      }, this.settings.websocketReconnectDelayMs);
    }
  }

  private onMessage(message: ComfyWsMessage): void {
    if (this.settled) return;
    const data = message.data;
    if (message.type === 'status') {
      // The queue changed (reference §4.3): our prompt may have gone missing. Check soon, not at once: for a
      // normal finish, `status` comes right before the final `executing`, which should win.
      this.schedulePoll(this.settings.pollIntervalMs);
      return;
    }
    // Everything below is per prompt. The `executing {node}` sent on reconnect has no prompt_id: skipped.
    if (data.prompt_id !== this.promptId) return;
    switch (message.type) {
      case 'executing':
        if (data.node === null || data.node === undefined) {
          // The final message, sent after the history write for success, error and interrupt alike.
          this.sawFinalExecuting = true;
          this.schedulePoll(0);
        } else {
          this.progress({ kind: 'executing', nodeId: idOf(data.node) ?? '', value: 0, max: 1 });
        }
        return;
      case 'progress': {
        const value = Number(data.value);
        const max = Number(data.max);
        if (!Number.isFinite(value) || !Number.isFinite(max)) return;
        this.progress({ kind: 'progress', nodeId: idOf(data.node) ?? null, value, max });
        return;
      }
      case 'execution_cached': {
        const nodes = Array.isArray(data.nodes) ? data.nodes.map(String) : [];
        this.progress({
          kind: 'cached',
          nodeId: null,
          value: nodes.length,
          max: nodes.length,
          cachedNodeIds: nodes,
        });
        return;
      }
      case 'execution_error':
        this.finish(new ComfyExecutionError(executionErrorData(this.promptId, data)));
        return;
      case 'execution_interrupted':
        this.finish(interruptedError(this.promptId, data));
        return;
      default:
        // execution_start, executed, progress_state, execution_success (history may not exist yet): not needed.
        return;
    }
  }

  private progress(p: Omit<ComfyProgress, 'promptId' | 'percent'>): void {
    const callback = this.options.onProgress;
    if (!callback) return;
    const percent =
      p.kind === 'cached' ? 100 : p.max > 0 ? Math.min(100, Math.max(0, (100 * p.value) / p.max)) : 0;
    try {
      callback({ promptId: this.promptId, percent, ...p });
    } catch (error) {
      this.deps.logger.warn(
        `onProgress callback threw for ComfyUI prompt ${this.promptId}: ${String(error)}`,
      );
    }
  }

  // ------------------------------------------------------------------ polling

  /** Schedules a poll in `delayMs`, unless one is already due sooner. */
  private schedulePoll(delayMs: number): void {
    if (this.settled) return;
    const dueAt = Date.now() + delayMs;
    if (this.pollTimer && this.pollDueAt <= dueAt) return;
    clearTimeout(this.pollTimer);
    this.pollDueAt = dueAt;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = undefined;
      this.pollDueAt = Infinity;
      void this.poll();
    }, delayMs);
  }

  private nextPollDelay(): number {
    const suspicious = this.missingChecks > 0 || this.pollFailures > 0 || this.sawFinalExecuting;
    return this.socket?.isOpen && !suspicious
      ? this.settings.connectedPollIntervalMs
      : this.settings.pollIntervalMs;
  }

  private async poll(): Promise<void> {
    if (this.settled) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    this.polling = true;
    try {
      await this.checkOnce();
    } finally {
      this.polling = false;
      if (!this.settled) {
        const again = this.pollAgain;
        this.pollAgain = false;
        this.schedulePoll(again ? 0 : this.nextPollDelay());
      }
    }
  }

  private async checkOnce(): Promise<void> {
    let entry: ComfyHistoryEntry | null;
    let queue: ComfyQueueState | undefined;
    try {
      entry = await this.deps.getHistory(this.promptId);
      if (!entry && !this.settled) queue = await this.deps.getQueue();
    } catch (error) {
      if (this.settled) return;
      this.pollFailures++;
      if (this.pollFailures >= this.settings.maxPollFailures) {
        const detail = error instanceof Error ? error.message : String(error);
        this.finish(
          new ComfyUnavailableError(
            `ComfyUI ${this.deps.baseUrl} stopped answering while prompt ${this.promptId} was pending (${this.pollFailures} failed polls): ${detail}`,
            error instanceof ComfyUnavailableError ? error.status : undefined,
            error instanceof ComfyUnavailableError ? error.code : undefined,
            { cause: error },
          ),
        );
      }
      return;
    }
    if (this.settled) return;
    this.pollFailures = 0;
    if (entry) {
      this.finishFromHistory(entry);
      return;
    }
    if (queue && (queue.running.includes(this.promptId) || queue.pending.includes(this.promptId))) {
      this.missingChecks = 0;
      return;
    }
    this.missingChecks++;
    if (this.missingChecks >= this.settings.lostPromptChecks) {
      this.finish(
        this.cancelledByUs
          ? new ComfyInterruptedError(this.promptId, undefined, undefined, 'cancelled')
          : new ComfyPromptLostError(this.promptId),
      );
    }
  }

  private finishFromHistory(entry: ComfyHistoryEntry): void {
    const status = entry.status;
    const messages = Array.isArray(status?.messages) ? status.messages : [];
    const find = (event: string) => messages.find((m) => Array.isArray(m) && m[0] === event)?.[1];
    // Tolerant: an entry without `status` (very old ComfyUI, UNVERIFIED) is taken as a success.
    const failed = status ? status.status_str === 'error' || status.completed === false : false;
    if (!failed) {
      this.finish(undefined, { entry, completedVia: this.sawFinalExecuting ? 'websocket' : 'history' });
      return;
    }
    const error = find('execution_error');
    if (error) return this.finish(new ComfyExecutionError(executionErrorData(this.promptId, error)));
    const interrupted = find('execution_interrupted');
    if (interrupted || this.cancelledByUs)
      return this.finish(interruptedError(this.promptId, interrupted ?? {}));
    this.finish(
      new ComfyExecutionError({
        prompt_id: this.promptId,
        node_id: '',
        node_type: '',
        exception_message: `ComfyUI reports status "${status?.status_str ?? 'error'}" without an error message`,
        exception_type: 'UnknownError',
        traceback: [],
      }),
    );
  }

  // ------------------------------------------------------------------ the end

  private finish(error: Error | undefined, outcome?: PromptWatchOutcome): void {
    if (this.settled) return;
    this.settled = true;
    clearTimeout(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.deadlineTimer);
    this.pollTimer = this.reconnectTimer = this.deadlineTimer = undefined;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    for (const s of this.ownsSockets) s.close();
    this.socket = undefined;
    if (error) this.rejectFn(error);
    else if (outcome) this.resolveFn(outcome);
    else this.rejectFn(new Error('PromptWatch finished without an outcome'));
  }
}

/** Node ids are strings on the wire; numbers are tolerated. */
function idOf(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

function executionErrorData(promptId: string, data: Record<string, unknown>): ComfyExecutionErrorData {
  return {
    prompt_id: typeof data.prompt_id === 'string' ? data.prompt_id : promptId,
    node_id: idOf(data.node_id) ?? '',
    node_type: typeof data.node_type === 'string' ? data.node_type : '',
    exception_message: typeof data.exception_message === 'string' ? data.exception_message : '',
    exception_type: typeof data.exception_type === 'string' ? data.exception_type : '',
    traceback: Array.isArray(data.traceback) ? data.traceback.map(String) : [],
    executed: Array.isArray(data.executed) ? data.executed.map(String) : undefined,
    current_inputs: data.current_inputs,
    current_outputs: data.current_outputs,
    timestamp: typeof data.timestamp === 'number' ? data.timestamp : undefined,
  };
}

function interruptedError(promptId: string, data: Record<string, unknown>): ComfyInterruptedError {
  return new ComfyInterruptedError(
    promptId,
    idOf(data.node_id),
    typeof data.node_type === 'string' ? data.node_type : undefined,
  );
}
