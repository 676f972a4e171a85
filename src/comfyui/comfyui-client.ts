import { Logger } from '@nestjs/common';
import type { OutboundAddressPolicy } from '../common/net/outbound-address-policy';
import { randomUUID } from 'node:crypto';
import {
  ComfyAbortedError,
  ComfyUnavailableError,
  ComfyWorkflowError,
  type ComfyNodeErrors,
} from './comfyui.errors';
import { ComfyHttp } from './comfyui-http';
import { contentTypeForFilename, extractOutputFiles } from './comfyui-outputs';
import { PromptWatch, type PromptWatchSettings } from './comfyui-prompt-watch';
import { ComfySocket } from './comfyui-socket';
import type { ComfyEventSource } from './comfyui-socket';
import type { ComfySocketHub, ComfySocketHubs } from './comfyui-socket-hub';
import { assertApiWorkflow } from './comfyui-workflow';
import type {
  ComfyCancelOutcome,
  ComfyDevice,
  ComfyDownload,
  ComfyFileRef,
  ComfyHistoryEntry,
  ComfyInputImage,
  ComfyLogger,
  ComfyPromptResult,
  ComfyQueueState,
  ComfyRunOptions,
  ComfyRunResult,
  ComfySubmitted,
  ComfySystemStats,
  ComfyUiClientOptions,
  ComfyUploadedImage,
  ComfyWaitOptions,
} from './comfyui.types';

const DEFAULTS = {
  requestTimeoutMs: 10_000,
  transferTimeoutMs: 300_000,
  objectInfoTimeoutMs: 60_000,
  pollIntervalMs: 1000,
  connectedPollIntervalMs: 5000,
  websocketConnectTimeoutMs: 5000,
  websocketReconnectAttempts: 3,
  websocketReconnectDelayMs: 1000,
  lostPromptChecks: 3,
  maxPollFailures: 3,
};
const SETTING_KEYS = Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>;

/**
 * Body bounds of the capability reads. /object_info is ~1-5 MB on a server with many custom nodes and model
 * files (every combo lists them); 64 MiB leaves room for huge model libraries and still bounds a broken server.
 */
export const OBJECT_INFO_MAX_BYTES = 64 * 1024 * 1024;
export const MODELS_MAX_BYTES = 16 * 1024 * 1024;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A client for ONE ComfyUI server (HTTP + websocket). The only code that knows ComfyUI's wire format
 * (reference/comfyui.md). Plain class: construct one per server (or use `ComfyUiClientFactory`); it needs no
 * shutdown: HTTP goes through a process-wide keep-alive pool whose idle sockets close by themselves (4 s) and
 * never keep the process alive, and each wait closes the websocket it opened (or leaves its share of a hub's;
 * the hubs' owner, e.g. `ComfyUiClientFactory`, closes those).
 *
 * Errors are typed (`comfyui.errors.ts`) and classified by `kind`: `workflow` (fail the job everywhere),
 * `infrastructure` (retry on another server), `cancelled`.
 */
export class ComfyUiClient {
  readonly baseUrl: string;
  private readonly http: ComfyHttp;
  private readonly settings: typeof DEFAULTS;
  private readonly websocketBase: string;
  private readonly logger: ComfyLogger;
  private readonly socketHubs?: ComfySocketHubs;
  private readonly addressPolicy?: OutboundAddressPolicy;
  /** Watches in progress in this instance, so `cancel()` can end them with ComfyInterruptedError. */
  private readonly watches = new Map<string, Set<PromptWatch>>();

  constructor(baseUrl: string, options: ComfyUiClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.http = new ComfyHttp(this.baseUrl, options.addressPolicy, options.onHttpCall);
    // Only the settings' own keys are copied over the defaults: a key added to a spread copy costs about 1 µs on
    // Node 20 (`npm run bench:object-spread`), and the dispatcher makes a client for every job it runs.
    this.settings = { ...DEFAULTS };
    for (const key of SETTING_KEYS) {
      const value = options[key];
      if (value !== undefined) this.settings[key] = value;
    }
    this.settings.lostPromptChecks = Math.max(2, this.settings.lostPromptChecks);
    this.settings.maxPollFailures = Math.max(1, this.settings.maxPollFailures);
    this.websocketBase = (options.websocketUrl ?? this.baseUrl).replace(/\/+$/, '').replace(/^http/i, 'ws');
    this.logger = options.logger ?? new Logger('ComfyUiClient');
    this.socketHubs = options.socketHubs;
    this.addressPolicy = options.addressPolicy;
  }

  // ------------------------------------------------------------------ the whole job

  /**
   * Uploads `images`, submits `workflow`, waits for it to finish, and lists its output files (callers
   * `download()` the ones they want). The websocket is opened BEFORE submitting, since ComfyUI does not replay
   * events. `onSubmitted(promptId)` runs before the wait so the caller can persist the id for a re-attach.
   *
   * @returns the prompt id, the normalized output files (temp previews included, marked `temp`), the raw history
   *   entry and how completion was noticed.
   * @throws ComfyWorkflowError (bad format or rejected by `/prompt`), ComfyExecutionError (a node failed),
   *   ComfyRequestError (e.g. an upload refused), ComfyUnavailableError / ComfyPromptLostError /
   *   ComfyDeadlineError (infrastructure), ComfyInterruptedError (interrupted or cancelled), ComfyAbortedError
   *   (`signal`: only the wait stops, the prompt is NOT cancelled), or what `onSubmitted` threw.
   */
  async run(workflow: unknown, options: ComfyRunOptions = {}): Promise<ComfyRunResult> {
    assertApiWorkflow(workflow);
    const startedAt = Date.now();
    const hub = options.clientId === undefined ? this.hub() : undefined;
    const clientId = hub?.clientId ?? options.clientId ?? randomUUID();
    const uploadedImages: ComfyUploadedImage[] = [];
    for (const image of options.images ?? [])
      uploadedImages.push(await this.uploadImage(image, options.signal));

    const openSocket = hub ? () => hub.subscribe() : () => this.openSocket(clientId);
    const socket = openSocket();
    let handedOver = false;
    try {
      await socket.ready;
      const submitted = await this.submit(workflow, {
        clientId,
        extraData: options.extraData,
        signal: options.signal,
      });
      if (options.onSubmitted) {
        try {
          await options.onSubmitted(submitted.promptId, clientId);
        } catch (error) {
          await this.cancel(submitted.promptId).catch(() => undefined);
          throw error;
        }
      }
      const timeoutMs =
        options.timeoutMs !== undefined
          ? Math.max(1, options.timeoutMs - (Date.now() - startedAt))
          : undefined;
      handedOver = true;
      const result = await this.watch(
        submitted.promptId,
        socket,
        openSocket,
        { onProgress: options.onProgress, signal: options.signal, timeoutMs },
        true,
      );
      // Added onto the fresh result, not spread into a copy (each key added to a spread copy costs ~1 µs on Node 20).
      return Object.assign(result, { clientId, uploadedImages, nodeErrors: submitted.nodeErrors });
    } finally {
      if (!handedOver) socket.close();
    }
  }

  // ------------------------------------------------------------------ steps

  /**
   * `POST /upload/image` (multipart: `image` file part, `overwrite`, `subfolder`, `type`).
   * @returns ComfyUI's `{name, subfolder, type}`: use `name` in LoadImage (it differs from the one sent when
   *   ComfyUI renamed a colliding file, which `overwrite: true`, the default, prevents).
   * @throws ComfyRequestError (400 bad name/subfolder, 413 too large), ComfyUnavailableError, ComfyAbortedError.
   */
  async uploadImage(image: ComfyInputImage, signal?: AbortSignal): Promise<ComfyUploadedImage> {
    const form = new FormData();
    const type = image.contentType ?? contentTypeForFilename(image.name);
    form.append('image', new Blob([new Uint8Array(image.data)], { type }), image.name);
    form.append('overwrite', image.overwrite === false ? 'false' : 'true');
    if (image.subfolder) form.append('subfolder', image.subfolder);
    form.append('type', image.type ?? 'input');
    const body = await this.http.json<Record<string, unknown>>({
      method: 'POST',
      path: '/upload/image',
      body: form,
      timeoutMs: this.settings.transferTimeoutMs,
      signal,
    });
    if (typeof body?.name !== 'string')
      throw new ComfyUnavailableError(
        `ComfyUI /upload/image answered without a name: ${JSON.stringify(body)}`,
      );
    if (body.name !== image.name)
      this.logger.warn(`ComfyUI ${this.baseUrl} stored upload ${image.name} as ${body.name}`);
    return {
      name: body.name,
      subfolder: typeof body.subfolder === 'string' ? body.subfolder : (image.subfolder ?? ''),
      type: typeof body.type === 'string' ? body.type : (image.type ?? 'input'),
    };
  }

  /**
   * `POST /prompt {prompt, client_id, extra_data?}`. The workflow's shape is checked first (nothing is sent if
   * it is not API format).
   * @returns the server's prompt id and queue number; `nodeErrors` is non-empty when some outputs were dropped.
   * @throws ComfyWorkflowError (client-side format check, or any 400: ComfyUI's `error` + `node_errors`),
   *   ComfyUnavailableError (network, timeout, 5xx), ComfyRequestError (other statuses, e.g. 403), ComfyAbortedError.
   */
  async submit(
    workflow: unknown,
    options: { clientId?: string; extraData?: Record<string, unknown>; signal?: AbortSignal } = {},
  ): Promise<ComfySubmitted> {
    assertApiWorkflow(workflow);
    const body: Record<string, unknown> = { prompt: workflow };
    if (options.clientId) body.client_id = options.clientId;
    if (options.extraData) body.extra_data = options.extraData;
    const call = {
      method: 'POST' as const,
      path: '/prompt',
      json: body,
      timeoutMs: this.settings.requestTimeoutMs,
      signal: options.signal,
    };
    return this.http.send(call, async (response) => {
      if (response.status === 400) throw workflowErrorFrom(await response.text());
      await this.http.ensureOk(call, response);
      const text = await response.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      if (!isRecord(json) || typeof json.prompt_id !== 'string')
        throw new ComfyUnavailableError(
          `ComfyUI /prompt answered ${response.status} without a prompt_id: ${text.slice(0, 200)}`,
          response.status,
        );
      const nodeErrors = isRecord(json.node_errors) ? json.node_errors : {};
      if (Object.keys(nodeErrors).length)
        this.logger.warn(
          `ComfyUI ${this.baseUrl} queued prompt ${json.prompt_id} but dropped outputs that failed validation: ${JSON.stringify(nodeErrors).slice(0, 500)}`,
        );
      return { promptId: json.prompt_id, number: Number(json.number), nodeErrors };
    });
  }

  /**
   * Waits for a submitted prompt, also one submitted by an earlier process (re-attach). With the `clientId`
   * the prompt was submitted with, it connects the websocket under that id and follows the events (ComfyUI
   * sends them to the newest socket of that id); without one it polls. Either way it checks `/history` +
   * `/queue` right away and periodically. History present = done.
   * @returns the output files and history entry.
   * @throws ComfyExecutionError, ComfyInterruptedError, ComfyPromptLostError (in neither queue nor history),
   *   ComfyUnavailableError (server unreachable for `maxPollFailures` polls), ComfyDeadlineError (`timeoutMs`),
   *   ComfyAbortedError (`signal`).
   */
  async waitForCompletion(
    promptId: string,
    clientId?: string,
    options: ComfyWaitOptions = {},
  ): Promise<ComfyPromptResult> {
    if (options.signal?.aborted) throw new ComfyAbortedError(options.signal.reason);
    if (clientId === undefined) return this.watch(promptId, undefined, undefined, options);
    const openSocket = () => this.openSocket(clientId);
    return this.watch(promptId, openSocket(), openSocket, options);
  }

  /**
   * Stops a prompt: removes it from the queue (`POST /queue {delete}`) and, if it is the one running,
   * `POST /interrupt {prompt_id}`. A `waitForCompletion`/`run` of this client on it ends with
   * ComfyInterruptedError.
   *
   * Old ComfyUI (before 2025-09) ignores `prompt_id` on /interrupt and stops WHATEVER runs, so we only send it
   * after `/queue` shows our prompt running. A tiny race remains on old servers (ours finishes and the next one
   * starts between the check and the interrupt); new servers check the id themselves.
   * @returns 'dequeued' | 'interrupted' | 'not-found' (already finished or unknown).
   * @throws ComfyUnavailableError, ComfyRequestError.
   */
  async cancel(promptId: string): Promise<ComfyCancelOutcome> {
    const before = await this.getQueue();
    const wasPending = before.pending.includes(promptId);
    if (!before.running.includes(promptId))
      await this.http.empty({
        method: 'POST',
        path: '/queue',
        json: { delete: [promptId] },
        timeoutMs: this.settings.requestTimeoutMs,
      });
    // Re-read: it may have started between the first read and the delete (delete only touches pending items).
    const after = wasPending || before.running.includes(promptId) ? await this.getQueue() : before;
    if (after.running.includes(promptId)) {
      this.forEachWatch(promptId, (w) => w.markCancelled());
      await this.http.empty({
        method: 'POST',
        path: '/interrupt',
        json: { prompt_id: promptId },
        timeoutMs: this.settings.requestTimeoutMs,
      });
      return 'interrupted';
    }
    if (wasPending) {
      this.forEachWatch(promptId, (w) => w.cancelledBeforeStart());
      return 'dequeued';
    }
    return 'not-found';
  }

  /**
   * `GET /view?filename=&subfolder=&type=`.
   * @returns the bytes and the server's Content-Type (guessed from the extension when it said
   *   application/octet-stream or nothing).
   * @throws ComfyRequestError (404: file gone; 400/403: rejected name), ComfyUnavailableError, ComfyAbortedError.
   */
  async download(ref: ComfyFileRef, signal?: AbortSignal): Promise<ComfyDownload> {
    return this.http.send(
      {
        method: 'GET',
        path: '/view',
        query: { filename: ref.filename, subfolder: ref.subfolder ?? '', type: ref.type || 'output' },
        timeoutMs: this.settings.transferTimeoutMs,
        signal,
      },
      async (response) => {
        await this.http.ensureOk({ method: 'GET', path: '/view' }, response);
        const data = await response.buffer();
        const header = response.header('content-type')?.trim();
        const generic = !header || header.toLowerCase().startsWith('application/octet-stream');
        return { data, contentType: generic ? contentTypeForFilename(ref.filename) : header };
      },
    );
  }

  // ------------------------------------------------------------------ state

  /**
   * `GET /history/{id}`.
   * @returns the entry, or null while the prompt is pending/running or unknown (ComfyUI answers `{}`).
   * @throws ComfyUnavailableError, ComfyRequestError.
   */
  async getHistory(promptId: string, signal?: AbortSignal): Promise<ComfyHistoryEntry | null> {
    const body = await this.http.json<Record<string, unknown>>({
      method: 'GET',
      path: `/history/${encodeURIComponent(promptId)}`,
      timeoutMs: this.settings.requestTimeoutMs,
      signal,
    });
    const entry = isRecord(body) ? body[promptId] : undefined;
    return isRecord(entry) ? entry : null;
  }

  /**
   * `GET /queue`, reduced to prompt ids (items are `[number, prompt_id, prompt, extra_data, outputs]`).
   * @throws ComfyUnavailableError, ComfyRequestError.
   */
  async getQueue(signal?: AbortSignal): Promise<ComfyQueueState> {
    const body = await this.http.json<Record<string, unknown>>({
      method: 'GET',
      path: '/queue',
      timeoutMs: this.settings.requestTimeoutMs,
      signal,
    });
    if (!isRecord(body) || !Array.isArray(body.queue_running) || !Array.isArray(body.queue_pending))
      throw new ComfyUnavailableError(`ComfyUI ${this.baseUrl} /queue answered an unexpected body`);
    const ids = (items: unknown[]) =>
      items
        .filter((i): i is unknown[] => Array.isArray(i) && typeof i[1] === 'string')
        .sort((a, b) => Number(a[0]) - Number(b[0]))
        .map((i) => i[1] as string);
    return { running: ids(body.queue_running), pending: ids(body.queue_pending) };
  }

  /**
   * `GET /system_stats`, parsed (fields differ between versions; absent ones are undefined).
   * @throws ComfyUnavailableError (also when the answer is not a JSON object), ComfyRequestError.
   */
  async getSystemStats(signal?: AbortSignal): Promise<ComfySystemStats> {
    const raw = await this.http.json<unknown>({
      method: 'GET',
      path: '/system_stats',
      timeoutMs: this.settings.requestTimeoutMs,
      signal,
    });
    if (!isRecord(raw))
      throw new ComfyUnavailableError(`ComfyUI ${this.baseUrl} /system_stats is not a JSON object`);
    return parseSystemStats(raw);
  }

  /**
   * `GET /object_info`: every node class the server has, with its inputs (reference §1). Raw: read it with
   * `capabilitiesFrom` / `requirementsFromObjectInfo` (src/workflows).
   * @throws ComfyUnavailableError (also when the body is not a JSON object or over OBJECT_INFO_MAX_BYTES),
   *   ComfyRequestError, ComfyAbortedError.
   */
  async objectInfo(signal?: AbortSignal): Promise<Record<string, unknown>> {
    const raw = await this.http.json<unknown>({
      method: 'GET',
      path: '/object_info',
      timeoutMs: this.settings.objectInfoTimeoutMs,
      maxBytes: OBJECT_INFO_MAX_BYTES,
      signal,
    });
    if (!isRecord(raw))
      throw new ComfyUnavailableError(`ComfyUI ${this.baseUrl} /object_info is not a JSON object`);
    return raw;
  }

  /**
   * `GET /models` (the model folder names, e.g. `checkpoints`, `loras`, `diffusion_models`) or, with `folder`,
   * `GET /models/{folder}` (its files, subfolders with the server OS's separator). Non-strings are dropped.
   * @throws ComfyRequestError (404: unknown folder, or a server without the route), ComfyUnavailableError
   *   (also a body that is not a JSON array, or over MODELS_MAX_BYTES), ComfyAbortedError.
   */
  async models(folder?: string, signal?: AbortSignal): Promise<string[]> {
    const path = folder === undefined ? '/models' : `/models/${encodeURIComponent(folder)}`;
    const raw = await this.http.json<unknown>({
      method: 'GET',
      path,
      timeoutMs: this.settings.requestTimeoutMs,
      maxBytes: MODELS_MAX_BYTES,
      signal,
    });
    if (!Array.isArray(raw))
      throw new ComfyUnavailableError(`ComfyUI ${this.baseUrl} ${path} is not a JSON array`);
    return raw.filter((v): v is string => typeof v === 'string');
  }

  /** `getSystemStats()`, or null on any error: for health checks. */
  async tryGetSystemStats(signal?: AbortSignal): Promise<ComfySystemStats | null> {
    try {
      return await this.getSystemStats(signal);
    } catch {
      return null;
    }
  }

  // ------------------------------------------------------------------ internals

  private openSocket(clientId: string): ComfySocket {
    return new ComfySocket(
      `${this.websocketBase}/ws?clientId=${encodeURIComponent(clientId)}`,
      this.settings.websocketConnectTimeoutMs,
      this.addressPolicy,
    );
  }

  private hub(): ComfySocketHub | undefined {
    return this.socketHubs?.get(
      this.websocketBase,
      this.settings.websocketConnectTimeoutMs,
      this.addressPolicy,
    );
  }

  /** `socket` and `openSocket` (for reconnects) are undefined for a wait on polling alone. */
  private async watch(
    promptId: string,
    socket: ComfyEventSource | undefined,
    openSocket: (() => ComfyEventSource) | undefined,
    options: ComfyWaitOptions,
    submittedOnOpenSocket = false,
  ): Promise<ComfyPromptResult> {
    const settings: PromptWatchSettings = this.settings;
    const watch = new PromptWatch(
      promptId,
      {
        getHistory: (id) => this.getHistory(id),
        getQueue: () => this.getQueue(),
        openSocket,
        logger: this.logger,
        baseUrl: this.baseUrl,
      },
      settings,
      options,
    );
    const set = this.watches.get(promptId) ?? new Set<PromptWatch>();
    set.add(watch);
    this.watches.set(promptId, set);
    try {
      const { entry, completedVia } = await watch.start(socket, submittedOnOpenSocket);
      return { promptId, outputs: extractOutputFiles(entry), history: entry, completedVia };
    } finally {
      set.delete(watch);
      if (set.size === 0) this.watches.delete(promptId);
    }
  }

  private forEachWatch(promptId: string, action: (watch: PromptWatch) => void): void {
    for (const w of this.watches.get(promptId) ?? []) action(w);
  }
}

/** A 400 from `/prompt` → ComfyWorkflowError with ComfyUI's `error` and `node_errors` (reference §2). */
function workflowErrorFrom(text: string): ComfyWorkflowError {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return new ComfyWorkflowError(
      'invalid_prompt',
      text.slice(0, 500) || 'ComfyUI rejected the prompt (400)',
      '',
      {},
      {},
    );
  }
  const body = isRecord(json) ? json : {};
  const error = body.error;
  const nodeErrors = (isRecord(body.node_errors) ? body.node_errors : {}) as Record<string, ComfyNodeErrors>;
  if (typeof error === 'string') return new ComfyWorkflowError('invalid_prompt', error, '', {}, nodeErrors);
  const e = isRecord(error) ? error : {};
  return new ComfyWorkflowError(
    typeof e.type === 'string' ? e.type : 'invalid_prompt',
    typeof e.message === 'string' ? e.message : 'ComfyUI rejected the prompt (400)',
    typeof e.details === 'string' ? e.details : '',
    isRecord(e.extra_info) ? e.extra_info : {},
    nodeErrors,
  );
}

function parseSystemStats(raw: Record<string, unknown>): ComfySystemStats {
  const system = isRecord(raw.system) ? raw.system : {};
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' ? v : undefined);
  const devices: ComfyDevice[] = (Array.isArray(raw.devices) ? raw.devices : [])
    .filter(isRecord)
    .map((d) => ({
      name: str(d.name),
      type: str(d.type),
      index: typeof d.index === 'number' || d.index === null ? d.index : undefined,
      vramTotal: num(d.vram_total),
      vramFree: num(d.vram_free),
      torchVramTotal: num(d.torch_vram_total),
      torchVramFree: num(d.torch_vram_free),
    }));
  return {
    os: str(system.os),
    comfyuiVersion: str(system.comfyui_version),
    pythonVersion: str(system.python_version),
    pytorchVersion: str(system.pytorch_version),
    ramTotal: num(system.ram_total),
    ramFree: num(system.ram_free),
    devices,
    raw,
  };
}
