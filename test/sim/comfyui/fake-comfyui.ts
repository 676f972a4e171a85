import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, type Socket } from 'node:net';
import { type Duplex } from 'node:stream';
import { Executor, type ExecutorSettings, type FailurePlan } from './executor';
import { encodePng, synthFrame } from './media';
import { buildCatalogue, type CatalogueEnv, type NodeDef } from './nodes';
import { type HistoryEntry, PromptQueue, type QueueTuple, toTuple } from './queue';
import { type ReceivedPrompt, route, type RouteContext, sendStatus } from './routes';
import { FileStore, type FolderType, type StoredFile } from './storage';
import { type Flavor } from './validation';
import { type DropPlan, type SentMessage, WsHub } from './ws-hub';

/**
 * A fake ComfyUI server, written from /work/shared/reference/comfyui.md (not from our client).
 *
 * Files: routes.ts (HTTP), validation.ts (POST /prompt validation), executor.ts (worker + message order),
 * queue.ts (queue heap + history), ws-hub.ts (websocket), nodes.ts (node catalogue), storage.ts (in-memory
 * input/output/temp folders), media.ts (PNG/APNG encoders, fake MP4/WEBP/FLAC), py-compat.ts (Python-isms).
 */
export interface FakeComfyUIOptions {
  /** Simulated execution time per executed node, in ms. Default 10. */
  executionMsPerNode?: number;
  /** Simulated time per KSampler step (each step sends `progress`), in ms. Default 2. */
  samplerStepMs?: number;
  /**
   * Which ComfyUI to imitate where versions differ. 'new' (v0.26.0, default): missing_node_type errors,
   * prompt_id must be a canonical UUID, `system.os` = sys.platform ("linux"), `create_time` in extra_data,
   * sensitive extra_data stripped from /queue. 'old' (v0.3.64): invalid_prompt errors, any prompt_id,
   * `system.os` = "posix".
   */
  flavor?: Flavor;
  /**
   * Model folder listings (`/models` lists the keys, `/models/{folder}` the files) and the loaders' combos:
   * checkpoints (CheckpointLoaderSimple), loras (LoraLoader*), vae (VAELoader), diffusion_models (UNETLoader),
   * text_encoders (CLIPLoader, DualCLIPLoader). Give two instances different lists to make workers with
   * different models; `setModels` changes them while running.
   */
  models?: Record<string, string[]>;
  /** Node classes this instance lacks (a worker without some custom node): absent from /object_info and validation. */
  withoutNodes?: string[];
  /** Server-wide preview method (`--preview-method`); `extra_data.preview_method` overrides. Default 'none'. */
  previewMethod?: string;
  /** Upload/body size limit in bytes (`--max-upload-size`); default 100 MiB → 413 above it. */
  maxUploadSize?: number;
  /** Seed input/example.png like the ComfyUI repo does. Default true. */
  seedExampleInput?: boolean;
  // ---- fault injection ----
  /** One-shot: once this many websocket text messages have been sent (after listen), drop every socket. */
  dropSocketsAfterMessages?: number;
  /** Delay between execution_success/error and the history write (widens the real race). Default 0. */
  historyWriteDelayMs?: number;
  /** Delay every HTTP response (number) or only some paths (`{'/object_info': 2000}`; path without /api). */
  responseDelayMs?: number | Record<string, number>;
}

export interface QueueSnapshot {
  running: QueueTuple[];
  pending: QueueTuple[];
}

interface Runtime {
  server: Server;
  sockets: Set<Socket | Duplex>;
  queue: PromptQueue;
  hub: WsHub;
  executor: Executor;
  number: number;
  dead: boolean;
}

export class FakeComfyUI {
  private baseUrl?: string;
  private rt?: Runtime;
  private readonly store = new FileStore();
  private readonly catalogue: Map<string, NodeDef> = buildCatalogue();
  private readonly env: CatalogueEnv;
  private readonly flavor: Flavor;
  private readonly receivedPrompts: ReceivedPrompt[] = [];
  private readonly receivedRequests: string[] = [];
  private websocketUpgrades = 0;
  private readonly frees: unknown[] = [];
  private responseDelay: number | Record<string, number>;
  private historyWriteDelayMs: number;

  constructor(private readonly options: FakeComfyUIOptions = {}) {
    this.flavor = options.flavor ?? 'new';
    this.env = {
      store: this.store,
      // A copy per instance: `setModels` on one worker must not change another built from the same lists.
      models: options.models
        ? structuredClone(options.models)
        : {
            checkpoints: ['sd_xl_base_1.0.safetensors', 'v1-5-pruned-emaonly.safetensors'],
            loras: ['add_detail.safetensors'],
            vae: ['sdxl_vae.safetensors'],
            embeddings: [],
          },
    };
    for (const name of options.withoutNodes ?? []) this.catalogue.delete(name);
    this.responseDelay = options.responseDelayMs ?? 0;
    this.historyWriteDelayMs = options.historyWriteDelayMs ?? 0;
    if (options.seedExampleInput !== false)
      this.store.write('input', '', 'example.png', encodePng(synthFrame(64, 64, 'example')));
  }

  /** Starts listening on 127.0.0.1 (port 0 = ephemeral) and resolves to the base URL, e.g. http://127.0.0.1:41234 */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.rt && !this.rt.dead) throw new Error('FakeComfyUI is already listening');
    // A (re)start: queue and history are in memory and start empty; files "on disk" survive.
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    const sockets = new Set<Socket | Duplex>();
    const queue = new PromptQueue(() =>
      this.rt?.hub.send(
        'status',
        { status: { exec_info: { queue_remaining: this.rt.queue.remaining } } },
        null,
      ),
    );
    const hub = new WsHub({
      queueRemaining: () => queue.remaining,
      running: () => ({
        clientId: this.rt?.executor.clientId ?? null,
        lastNodeId: this.rt?.executor.lastNodeId ?? null,
      }),
      serverFeatures: () => this.serverFeatures(),
    });
    const executor = new Executor(queue, hub, this.catalogue, this.env, this.store, () => this.settings());
    this.rt = { server, sockets, queue, hub, executor, number: 0, dead: false };
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.upgrade(req, socket, head),
    );
    if (this.options.dropSocketsAfterMessages !== undefined)
      hub.armDrop({ afterMessages: this.options.dropSocketsAfterMessages });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    const { port: actual } = server.address() as AddressInfo;
    this.baseUrl = `http://${host}:${actual}`;
    return this.baseUrl;
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('FakeComfyUI is not listening');
    return this.baseUrl;
  }

  /** Stops the worker and closes every HTTP and websocket connection. */
  async close(): Promise<void> {
    const rt = this.rt;
    if (!rt) return;
    this.rt = undefined;
    await this.shutdown(rt);
  }

  // ------------------------------------------------------------------ fault injection

  /** Crash: the server stops listening and every connection (HTTP and WS) is destroyed; the running job never finishes. */
  async die(): Promise<void> {
    const rt = this.rt;
    if (!rt || rt.dead) return;
    await this.shutdown(rt);
  }

  /** The next prompt that runs fails with an execution_error (at `nodeId`, the first `classType` node, or its last node). */
  failNextPrompt(plan: FailurePlan = {}): void {
    this.runtime().executor.failNextPrompt(plan);
  }

  /** Abruptly destroys every websocket now (clients may reconnect). */
  dropSockets(): void {
    this.runtime().hub.dropAll();
  }

  /** One-shot: drop every websocket after N more text messages, or right after a given event (optionally for a node). */
  dropSocketsAfter(plan: DropPlan): void {
    this.runtime().hub.armDrop(plan);
  }

  /** Delay HTTP responses (all, or by path without the /api prefix). */
  setResponseDelay(delay: number | Record<string, number>): void {
    this.responseDelay = delay;
  }

  /** Replaces one model folder's files (a model downloaded or deleted); `undefined` removes the folder. */
  setModels(folder: string, files: string[] | undefined): void {
    if (files === undefined) delete this.env.models[folder];
    else this.env.models[folder] = [...files];
  }

  setHistoryWriteDelay(ms: number): void {
    this.historyWriteDelayMs = ms;
  }

  /** The job "goes missing": removed from the queue (or silently stopped if running), no history is written. */
  vanishPrompt(promptId: string): boolean {
    return this.runtime().executor.vanish(promptId);
  }

  /** Forget cached node outputs (as if the server restarted its cache). */
  clearCache(): void {
    this.rt?.executor.clearCache();
  }

  // ------------------------------------------------------------------ files

  /** Puts a file into input/ (or another folder), as if it were on disk. */
  putFile(filename: string, bytes: Buffer, subfolder = '', type: FolderType = 'input'): void {
    this.store.write(type, subfolder, filename, bytes);
  }

  readFile(filename: string, subfolder = '', type: FolderType = 'output'): Buffer | undefined {
    return this.store.read(type, subfolder, filename);
  }

  // ------------------------------------------------------------------ read-only inspection

  /** Every POST /prompt received (body, HTTP status, response). */
  get prompts(): readonly ReceivedPrompt[] {
    return this.receivedPrompts;
  }

  /** Every HTTP request received, as "METHOD /path" (no query), in order. */
  get requests(): readonly string[] {
    return this.receivedRequests;
  }

  /** Current queue as wire tuples; `pending` sorted by number (the wire shows raw heap order). */
  get queue(): QueueSnapshot {
    const q = this.rt?.queue;
    if (!q) return { running: [], pending: [] };
    return {
      running: q.runningItems.map((i) => toTuple(i)),
      pending: [...q.pending]
        .sort((a, b) => a.number - b.number || (a.promptId < b.promptId ? -1 : 1))
        .map((i) => toTuple(i)),
    };
  }

  /** History entries in completion order. */
  get history(): ReadonlyMap<string, HistoryEntry> {
    return this.rt?.queue.history ?? new Map<string, HistoryEntry>();
  }

  /** Every websocket message the server emitted (text and binary), with its routing. */
  get wsMessages(): readonly SentMessage[] {
    return this.rt?.hub.log ?? [];
  }

  /** sids currently registered on /ws. */
  /** Websocket connections accepted since start (open or closed). */
  get websocketConnections(): number {
    return this.websocketUpgrades;
  }

  get connectedClients(): string[] {
    return this.rt?.hub.connectedSids ?? [];
  }

  get files(): readonly StoredFile[] {
    return this.store.all();
  }

  /** Bodies of POST /free calls. */
  get freeRequests(): readonly unknown[] {
    return this.frees;
  }

  get runningPromptId(): string | undefined {
    return this.rt?.executor.runningPromptId;
  }

  get isDead(): boolean {
    return !this.rt || this.rt.dead;
  }

  get nodeClasses(): string[] {
    return [...this.catalogue.keys()];
  }

  // ------------------------------------------------------------------ internals

  private runtime(): Runtime {
    if (!this.rt || this.rt.dead) throw new Error('FakeComfyUI is not running');
    return this.rt;
  }

  private settings(): ExecutorSettings {
    return {
      executionMsPerNode: this.options.executionMsPerNode ?? 10,
      samplerStepMs: this.options.samplerStepMs ?? 2,
      historyWriteDelayMs: this.historyWriteDelayMs,
      previewMethod: this.options.previewMethod ?? 'none',
    };
  }

  private serverFeatures(): Record<string, unknown> {
    const base: Record<string, unknown> = {
      supports_preview_metadata: true,
      max_upload_size: this.maxUploadSize,
    };
    if (this.flavor === 'new')
      Object.assign(base, {
        extension: { manager: { supports_v4: true } },
        node_replacements: true,
        assets: false,
      });
    return base;
  }

  private get maxUploadSize(): number {
    return this.options.maxUploadSize ?? 100 * 1024 * 1024;
  }

  private async shutdown(rt: Runtime): Promise<void> {
    rt.dead = true;
    rt.executor.kill();
    const closed = new Promise<void>((resolve) => rt.server.close(() => resolve()));
    await rt.hub.close();
    rt.server.closeAllConnections();
    for (const s of rt.sockets) s.destroy();
    await closed;
  }

  /** aiohttp origin-only middleware: Host loopback + Origin present + different host → 403. */
  private originRejected(req: IncomingMessage): boolean {
    const host = req.headers.host?.toLowerCase();
    const origin = req.headers.origin;
    if (!host || !origin) return false;
    let o: URL;
    let h: URL;
    try {
      o = new URL(origin);
      h = new URL(`http://${host}`);
    } catch {
      return false;
    }
    const hostname = h.hostname.replace(/^\[|\]$/g, '');
    const loopback = hostname === 'localhost' || /^127\./.test(hostname) || hostname === '::1';
    if (!loopback) return false;
    let hostDomain = host;
    let originDomain = o.host.toLowerCase();
    if (o.port === '') hostDomain = h.hostname;
    if (h.port === '') originDomain = o.hostname.toLowerCase();
    return hostDomain !== originDomain;
  }

  private delayFor(path: string): number {
    const d = this.responseDelay;
    if (typeof d === 'number') return d;
    return d[path] ?? Object.entries(d).find(([p]) => path.startsWith(p + '/'))?.[1] ?? 0;
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const rt = this.rt;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (!rt || rt.dead || (path !== '/ws' && path !== '/api/ws')) {
      socket.destroy();
      return;
    }
    if (this.originRejected(req)) {
      socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    rt.sockets.add(socket);
    this.websocketUpgrades++;
    socket.on('close', () => rt.sockets.delete(socket));
    rt.hub.handleUpgrade(req, socket, head);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rt = this.rt;
    try {
      if (!rt || rt.dead) {
        res.destroy();
        return;
      }
      const url = new URL(req.url ?? '/', 'http://x');
      this.receivedRequests.push(`${req.method} ${url.pathname}`);
      const path = url.pathname.startsWith('/api/')
        ? url.pathname.slice(4)
        : url.pathname === '/api'
          ? '/'
          : url.pathname;
      const delay = this.delayFor(path);
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      if (rt.dead) {
        res.destroy();
        return;
      }
      if (this.originRejected(req)) return sendStatus(res, 403);
      if (req.method === 'OPTIONS') return sendStatus(res, 200);
      const ctx: RouteContext = {
        flavor: this.flavor,
        store: this.store,
        catalogue: this.catalogue,
        env: this.env,
        queue: rt.queue,
        executor: rt.executor,
        prompts: this.receivedPrompts,
        freeRequests: this.frees,
        maxUploadSize: this.maxUploadSize,
        nextNumber: () => rt.number++,
        serverFeatures: () => this.serverFeatures(),
      };
      if (!(await route(ctx, req, res, path, url.searchParams))) sendStatus(res, 404);
    } catch {
      if (!res.headersSent) sendStatus(res, 500);
      else res.destroy();
    }
  }
}

export type { FailurePlan } from './executor';
export type { DropPlan, SentMessage } from './ws-hub';
export type { HistoryEntry, QueueTuple } from './queue';
export type { ReceivedPrompt } from './routes';
