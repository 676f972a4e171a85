import { EventEmitter } from 'node:events';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type Clock } from '../../../src/common/clock';
import { type ComfyWorkerOptions, type HandlerResult, runComfyHandler } from './comfy-worker';
import { type Faults, type JobFailureKind } from './faults';
import { HttpError, parseJson, randomId, randomUUID, readBody, sendJson } from './http-util';
import { type ComfyFactory, type ComfyLike } from './state';

/**
 * Serverless queue endpoints (`https://api.runpod.ai/v2/{endpointId}/...`, reference/runpod.md §3 and §8),
 * served by the fake under `/serverless/v2/{endpointId}/...`. Each endpoint has one or more workers; each worker
 * owns a ComfyUI (FakeComfyUI by default) and runs jobs with the worker-comfyui handler (comfy-worker.ts).
 *
 * Times (`delayTime`, `executionTime`, retention, ttl, executionTimeout) come from the injected clock; long-polls
 * (`/runsync`, `/status-sync`, `/stream`) wait in real time.
 */
export type JobStatus = 'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';
const TERMINAL: ReadonlySet<JobStatus> = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT']);

export interface JobAttempt {
  workerId: string;
  startedAt: number;
  endedAt?: number;
}

export interface JobRecord {
  id: string;
  endpointId: string;
  sync: boolean;
  input: unknown;
  webhook?: string;
  executionTimeoutMs: number;
  ttlMs: number;
  lowPriority: boolean;
  status: JobStatus;
  createdAt: number;
  /** When the job (re-)entered the queue; delayTime = startedAt - queuedAt. */
  queuedAt: number;
  startedAt?: number;
  completedAt?: number;
  output?: unknown;
  error?: string;
  workerId?: string;
  retried: number;
  attempts: JobAttempt[];
  /** Chunks for /stream not yet delivered. */
  streamPending: unknown[];
  /** Removed from the API (expired, ttl, purged): 404 from then on. Still in the ledger. */
  deleted: boolean;
  abort?: AbortController;
}

/** Ground truth for one serverless job. */
export interface ServerlessJobLedgerEntry {
  id: string;
  endpointId: string;
  status: JobStatus;
  sync: boolean;
  createdAt: Date;
  delayTimeMs: number | null;
  executionTimeMs: number | null;
  workerId: string | null;
  retried: number;
  /** Per attempt: execution rounded UP to the second ("billed ... rounded up to the nearest second", §5), min 1 s. */
  billedSeconds: number;
  billedUsd: number;
  deleted: boolean;
}

export interface SimWorker {
  id: string;
  index: number;
  comfy?: ComfyLike;
  comfyUrl?: string;
  state: 'idle' | 'running' | 'unhealthy';
  jobId?: string;
}

export interface EndpointConfig {
  id: string;
  workers?: number;
  /** USD per second per worker (default: ADA_24 flex 0.00031, §5). */
  pricePerSecond?: number;
}

export interface ServerlessOptions {
  clock: Clock;
  faults: Faults;
  comfyFactory: ComfyFactory;
  endpoints: EndpointConfig[];
  worker: ComfyWorkerOptions;
  /** Real-time wait of `/stream` when there is nothing new yet. */
  streamWaitMs: number;
  webhookRetryDelayMs: number;
}

interface Endpoint {
  id: string;
  pricePerSecond: number;
  workers: SimWorker[];
  queue: string[];
  jobs: Map<string, JobRecord>;
}

const RUN_RETENTION_MS = 30 * 60 * 1000;
const RUNSYNC_RETENTION_MS = 60 * 1000;

export class ServerlessSim {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly ledger: JobRecord[] = [];
  private readonly events = new EventEmitter();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly o: ServerlessOptions) {
    this.events.setMaxListeners(0);
    for (const e of o.endpoints) {
      const workers: SimWorker[] = Array.from({ length: Math.max(1, e.workers ?? 1) }, (_, index) => ({
        id: randomId(14),
        index,
        state: 'idle' as const,
      }));
      this.endpoints.set(e.id, { id: e.id, pricePerSecond: e.pricePerSecond ?? 0.00031, workers, queue: [], jobs: new Map() });
    }
  }

  get endpointIds(): string[] {
    return [...this.endpoints.keys()];
  }

  async start(): Promise<void> {
    this.stopped = false;
    const starts: Promise<unknown>[] = [];
    for (const ep of this.endpoints.values()) {
      for (const w of ep.workers) {
        if (w.comfy) continue;
        const comfy = this.o.comfyFactory({ kind: 'serverless', id: `${ep.id}/${w.id}` });
        w.comfy = comfy;
        w.state = 'idle';
        starts.push(comfy.listen(0, '127.0.0.1').then((url) => (w.comfyUrl = url)));
      }
    }
    await Promise.all(starts);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const ep of this.endpoints.values()) for (const j of ep.jobs.values()) j.abort?.abort();
    this.events.emit('shutdown');
    const closes: Promise<void>[] = [];
    for (const ep of this.endpoints.values()) {
      for (const w of ep.workers) {
        if (w.comfy) closes.push(w.comfy.close());
        w.comfy = undefined;
        w.comfyUrl = undefined;
      }
    }
    await Promise.all(closes);
  }

  /** Forget all jobs (ledger included); workers are restarted healthy. */
  async reset(): Promise<void> {
    await this.stop();
    this.ledger.length = 0;
    for (const ep of this.endpoints.values()) {
      ep.jobs.clear();
      ep.queue.length = 0;
      for (const w of ep.workers) {
        w.state = 'idle';
        w.jobId = undefined;
      }
    }
    await this.start();
  }

  pricePerSecond(endpointId: string): number | undefined {
    return this.endpoints.get(endpointId)?.pricePerSecond;
  }

  /** How many workers the endpoint was configured with (REST v2 reports it as `workers.max`); undefined if unknown. */
  workerCount(endpointId: string): number | undefined {
    return this.endpoints.get(endpointId)?.workers.length;
  }

  workers(endpointId: string): SimWorker[] {
    return this.endpoints.get(endpointId)?.workers ?? [];
  }

  /** Throttling ended (Faults.throttleServerless): queued jobs start on the idle workers. */
  resume(endpointId: string): void {
    const ep = this.endpoints.get(endpointId);
    if (ep) this.dispatch(ep);
  }

  async killWorker(endpointId: string, index?: number): Promise<void> {
    const ep = this.endpoints.get(endpointId);
    if (!ep) throw new Error(`unknown serverless endpoint ${endpointId}`);
    const w = index === undefined ? ep.workers.find((x) => x.state !== 'unhealthy') : ep.workers[index];
    if (!w) throw new Error(`no live worker to kill on ${endpointId}`);
    w.state = 'unhealthy';
    const comfy = w.comfy;
    w.comfy = undefined;
    if (comfy) await comfy.close();
  }

  jobLedger(): ServerlessJobLedgerEntry[] {
    this.sweepAll();
    return this.ledger.map((j) => {
      const ep = this.endpoints.get(j.endpointId);
      const billedSeconds = j.attempts.reduce((s, a) => s + (a.endedAt === undefined ? 0 : Math.max(1, Math.ceil((a.endedAt - a.startedAt) / 1000))), 0);
      return {
        id: j.id,
        endpointId: j.endpointId,
        status: j.status,
        sync: j.sync,
        createdAt: new Date(j.createdAt),
        delayTimeMs: j.startedAt === undefined ? null : j.startedAt - j.queuedAt,
        executionTimeMs: j.startedAt === undefined || j.completedAt === undefined ? null : j.completedAt - j.startedAt,
        workerId: j.workerId ?? null,
        retried: j.retried,
        billedSeconds,
        billedUsd: billedSeconds * (ep?.pricePerSecond ?? 0),
        deleted: j.deleted,
      };
    });
  }

  // ---- state machine ------------------------------------------------------------------------------------

  private now(): number {
    return this.o.clock.now();
  }

  private changed(job: JobRecord): void {
    this.events.emit(`job:${job.id}`);
  }

  private sweepAll(): void {
    for (const ep of this.endpoints.values()) this.sweep(ep);
  }

  /** Lazy time-based transitions: executionTimeout -> TIMED_OUT, ttl -> deleted, retention -> deleted. */
  private sweep(ep: Endpoint): void {
    const now = this.now();
    for (const job of ep.jobs.values()) {
      if (job.deleted) continue;
      if (job.status === 'IN_PROGRESS' && job.startedAt !== undefined && now - job.startedAt > job.executionTimeoutMs) {
        this.finish(ep, job, 'TIMED_OUT', {});
      }
      if (!TERMINAL.has(job.status) && now - job.createdAt > job.ttlMs) {
        // "ttl ... counts queue + execution. On expiry the job is deleted and status returns 404."
        if (job.status === 'IN_PROGRESS') this.finish(ep, job, 'TIMED_OUT', {});
        this.remove(ep, job);
        continue;
      }
      if (TERMINAL.has(job.status) && job.completedAt !== undefined) {
        const keep = job.sync ? RUNSYNC_RETENTION_MS : RUN_RETENTION_MS;
        if (now - job.completedAt > keep) this.remove(ep, job);
      }
    }
  }

  private remove(ep: Endpoint, job: JobRecord): void {
    job.deleted = true;
    ep.jobs.delete(job.id);
    const qi = ep.queue.indexOf(job.id);
    if (qi >= 0) ep.queue.splice(qi, 1);
    this.changed(job);
  }

  private enqueue(ep: Endpoint, body: Record<string, unknown>, sync: boolean): JobRecord {
    const policy = (body.policy ?? {}) as Record<string, unknown>;
    const now = this.now();
    const job: JobRecord = {
      id: sync ? `sync-${randomUUID()}` : `${randomUUID()}-u1`,
      endpointId: ep.id,
      sync,
      input: body.input,
      webhook: typeof body.webhook === 'string' ? body.webhook : undefined,
      executionTimeoutMs: typeof policy.executionTimeout === 'number' ? policy.executionTimeout : 600_000,
      ttlMs: typeof policy.ttl === 'number' ? policy.ttl : 86_400_000,
      lowPriority: policy.lowPriority === true,
      status: 'IN_QUEUE',
      createdAt: now,
      queuedAt: now,
      retried: 0,
      attempts: [],
      streamPending: [],
      deleted: false,
    };
    ep.jobs.set(job.id, job);
    ep.queue.push(job.id);
    this.ledger.push(job);
    return job;
  }

  private dispatch(ep: Endpoint): void {
    if (this.stopped || this.o.faults.isServerlessThrottled(ep.id)) return;
    for (;;) {
      const worker = ep.workers.find((w) => w.state === 'idle' && w.comfyUrl !== undefined);
      if (!worker || ep.queue.length === 0) return;
      const job = ep.jobs.get(ep.queue.shift()!);
      if (!job || job.status !== 'IN_QUEUE') continue;
      void this.execute(ep, worker, job);
    }
  }

  private async execute(ep: Endpoint, worker: SimWorker, job: JobRecord): Promise<void> {
    const now = this.now();
    const attempt: JobAttempt = { workerId: worker.id, startedAt: now };
    const abort = new AbortController();
    job.status = 'IN_PROGRESS';
    job.startedAt = now;
    job.workerId = worker.id;
    job.attempts.push(attempt);
    job.abort = abort;
    worker.state = 'running';
    worker.jobId = job.id;
    this.changed(job);
    let result: HandlerResult;
    try {
      const fault = this.o.faults.takeJobFailure(ep.id);
      result = fault ? await injectedFailure(fault, worker) : await runComfyHandler(worker.comfyUrl!, { id: job.id, input: job.input }, abort.signal, this.o.worker);
    } catch (e) {
      if (abort.signal.aborted) return; // cancelled / timed out / shutting down: already finished
      result = { error: `An unexpected error occurred: ${(e as Error).message}` };
    }
    if (job.abort !== abort || job.status !== 'IN_PROGRESS') return;
    if (typeof result.error === 'string' || 'error' in result) {
      const { error, ...rest } = result;
      // runpod-python: `{"output": <rest>, "error": msg}`; an empty output is dropped (UNVERIFIED on /status).
      this.finish(ep, job, 'FAILED', { error: typeof error === 'string' ? error : JSON.stringify(error), output: Object.keys(rest).length ? rest : undefined });
    } else {
      this.finish(ep, job, 'COMPLETED', { output: result });
    }
  }

  private finish(ep: Endpoint, job: JobRecord, status: JobStatus, r: { output?: unknown; error?: string }): void {
    const now = this.now();
    job.status = status;
    job.completedAt = now;
    job.output = r.output;
    job.error = r.error;
    const attempt = job.attempts[job.attempts.length - 1];
    if (attempt && attempt.endedAt === undefined) attempt.endedAt = now;
    const abort = job.abort;
    job.abort = undefined;
    abort?.abort();
    const worker = ep.workers.find((w) => w.jobId === job.id);
    if (worker) {
      worker.jobId = undefined;
      if (worker.state === 'running') worker.state = 'idle';
    }
    if (status === 'COMPLETED' && job.output !== undefined) job.streamPending.push({ output: job.output });
    this.changed(job);
    if (job.webhook) this.deliverWebhook(job, job.webhook, 0);
    queueMicrotask(() => this.dispatch(ep));
  }

  private deliverWebhook(job: JobRecord, url: string, attempt: number): void {
    if (this.stopped) return;
    const body = JSON.stringify(statusBody(job));
    const retry = (): void => {
      // "It expects 200, and retries up to 2 more times, 10 s apart."
      if (attempt >= 2 || this.stopped) return;
      const t = setTimeout(() => {
        this.timers.delete(t);
        this.deliverWebhook(job, url, attempt + 1);
      }, this.o.webhookRetryDelayMs);
      t.unref();
      this.timers.add(t);
    };
    fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(10_000) })
      .then((res) => {
        if (res.status !== 200) retry();
      })
      .catch(() => retry());
  }

  /** Resolves when the job reaches a terminal state, is deleted, or `ms` of real time pass. */
  private waitFor(job: JobRecord, ms: number, until: () => boolean): Promise<void> {
    if (until() || ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.events.off(`job:${job.id}`, check);
        this.events.off('shutdown', done);
        resolve();
      };
      const check = (): void => {
        if (until()) done();
      };
      const timer = setTimeout(done, ms);
      this.events.on(`job:${job.id}`, check);
      this.events.on('shutdown', done);
    });
  }

  // ---- HTTP ---------------------------------------------------------------------------------------------

  /** Handles `/serverless/v2/{endpointId}/{op}[/{jobId}]` after auth. */
  async handle(req: IncomingMessage, res: ServerResponse, segs: string[], url: URL): Promise<void> {
    const method = req.method ?? 'GET';
    const [endpointId, op, jobId] = segs;
    const ep = endpointId ? this.endpoints.get(endpointId) : undefined;
    // UNVERIFIED: 404 bodies. RunPod documents only the status codes (§3.2).
    if (!ep) return sendJson(res, 404, { error: `endpoint ${endpointId ?? ''} not found` });
    this.sweep(ep);
    const post = (): boolean => method === 'POST';
    const getOrPost = (): boolean => method === 'GET' || method === 'POST';
    const notFound = (): void => sendJson(res, 404, { error: 'request does not exist' });
    const job = jobId ? ep.jobs.get(jobId) : undefined;
    try {
      switch (op) {
        case 'run':
        case 'runsync': {
          if (!post() || jobId) return sendJson(res, 405, { error: 'method not allowed' });
          const sync = op === 'runsync';
          let body: unknown;
          try {
            body = parseJson(await readBody(req, sync ? 20 * 1024 * 1024 : 10 * 1024 * 1024));
          } catch (e) {
            if (e instanceof HttpError && e.status === 413) throw new HttpError(400, `payload exceeds the ${sync ? 20 : 10} MB limit`);
            throw e;
          }
          if (!body || typeof body !== 'object' || !('input' in body)) throw new HttpError(400, "request body must contain 'input'");
          const created = this.enqueue(ep, body, sync);
          if (!sync) {
            sendJson(res, 200, { id: created.id, status: 'IN_QUEUE' });
            this.dispatch(ep);
            return;
          }
          this.dispatch(ep);
          const wait = clampWait(url.searchParams.get('wait'), 90_000, 300_000);
          await this.waitFor(created, wait, () => TERMINAL.has(created.status) || created.deleted);
          return sendJson(res, 200, statusBody(created));
        }
        case 'status':
        case 'status-sync': {
          if (!getOrPost()) return sendJson(res, 405, { error: 'method not allowed' });
          if (!job) return notFound();
          if (op === 'status-sync') {
            // Undocumented server-side (used by runpod-sdk runSync): a long-poll of /status.
            const wait = clampWait(url.searchParams.get('wait'), 90_000, 300_000);
            await this.waitFor(job, wait, () => TERMINAL.has(job.status) || job.deleted);
            if (job.deleted) return notFound();
          }
          return sendJson(res, 200, statusBody(job));
        }
        case 'stream': {
          if (!getOrPost()) return sendJson(res, 405, { error: 'method not allowed' });
          if (!job) return notFound();
          // worker-comfyui is not a generator handler: the only chunk is the final output (UNVERIFIED shape for
          // non-streaming handlers). Each chunk is delivered once; an empty `stream` once terminal.
          await this.waitFor(job, this.o.streamWaitMs, () => job.streamPending.length > 0 || TERMINAL.has(job.status));
          const stream = job.streamPending.splice(0);
          return sendJson(res, 200, { status: job.status, stream });
        }
        case 'cancel': {
          if (!post()) return sendJson(res, 405, { error: 'method not allowed' });
          if (!job) return notFound();
          if (job.status === 'IN_QUEUE' || job.status === 'IN_PROGRESS') {
            const qi = ep.queue.indexOf(job.id);
            if (qi >= 0) ep.queue.splice(qi, 1);
            // worker-comfyui never calls ComfyUI /interrupt: the prompt keeps running inside ComfyUI.
            this.finish(ep, job, 'CANCELLED', {});
          }
          return sendJson(res, 200, { id: job.id, status: job.status });
        }
        case 'retry': {
          if (!post()) return sendJson(res, 405, { error: 'method not allowed' });
          if (!job) return notFound();
          if (job.status !== 'FAILED' && job.status !== 'TIMED_OUT') {
            // UNVERIFIED: status code and body for retrying a job that is not FAILED/TIMED_OUT.
            return sendJson(res, 400, { error: `job ${job.id} is ${job.status}; only FAILED or TIMED_OUT jobs can be retried` });
          }
          job.status = 'IN_QUEUE';
          job.output = undefined;
          job.error = undefined;
          job.startedAt = undefined;
          job.completedAt = undefined;
          job.workerId = undefined;
          job.queuedAt = this.now();
          job.retried++;
          ep.queue.push(job.id);
          this.changed(job);
          sendJson(res, 200, { id: job.id, status: 'IN_QUEUE' });
          this.dispatch(ep);
          return;
        }
        case 'purge-queue': {
          if (!post()) return sendJson(res, 405, { error: 'method not allowed' });
          const queued = ep.queue.map((id) => ep.jobs.get(id)).filter((j): j is JobRecord => !!j && j.status === 'IN_QUEUE');
          for (const j of queued) {
            j.status = 'CANCELLED';
            this.remove(ep, j);
          }
          ep.queue.length = 0;
          return sendJson(res, 200, { removed: queued.length, status: 'completed' });
        }
        case 'health': {
          if (method !== 'GET') return sendJson(res, 405, { error: 'method not allowed' });
          const jobs = [...ep.jobs.values()];
          const count = (s: JobStatus): number => jobs.filter((j) => j.status === s).length;
          const free = ep.workers.filter((w) => w.state === 'idle').length;
          const throttled = this.o.faults.isServerlessThrottled(ep.id) ? free : 0;
          const idle = free - throttled;
          return sendJson(res, 200, {
            jobs: {
              completed: count('COMPLETED'),
              failed: count('FAILED'),
              inProgress: count('IN_PROGRESS'),
              inQueue: count('IN_QUEUE'),
              retried: jobs.filter((j) => j.retried > 0).length,
            },
            workers: {
              idle,
              initializing: 0,
              ready: idle,
              running: ep.workers.filter((w) => w.state === 'running').length,
              throttled,
              unhealthy: ep.workers.filter((w) => w.state === 'unhealthy').length,
            },
          });
        }
        default:
          return sendJson(res, 404, { error: `unknown operation ${op ?? ''}` });
      }
    } catch (e) {
      if (e instanceof HttpError) return sendJson(res, e.status, { error: e.message });
      return sendJson(res, 500, { error: (e as Error).message });
    }
  }
}

function clampWait(raw: string | null, dflt: number, max: number): number {
  const n = raw === null ? dflt : Number(raw);
  if (!Number.isFinite(n)) return dflt;
  return Math.min(max, Math.max(1000, n));
}

/** The `/status` body for a job in any state (§3.2, §8). */
export function statusBody(job: JobRecord): Record<string, unknown> {
  const b: Record<string, unknown> = { id: job.id, status: job.status };
  if (job.startedAt !== undefined) b.delayTime = job.startedAt - job.queuedAt;
  if (job.status === 'IN_PROGRESS') {
    b.input = job.input; // DOCS tutorial shows the input echoed while in progress
    b.workerId = job.workerId;
  }
  if (TERMINAL.has(job.status) && job.startedAt !== undefined && job.completedAt !== undefined) {
    b.executionTime = job.completedAt - job.startedAt;
    b.workerId = job.workerId;
  }
  if (job.status === 'COMPLETED') b.output = job.output;
  if (job.status === 'FAILED') {
    b.error = job.error;
    if (job.output !== undefined) b.output = job.output;
  }
  return b;
}

async function injectedFailure(kind: JobFailureKind, worker: SimWorker): Promise<HandlerResult> {
  await Promise.resolve();
  if (kind === 'infrastructure') {
    // runpod-python rp_job: a raised exception becomes a JSON string in `error` (§3.2 "Failed job").
    return {
      error: JSON.stringify({
        error_type: "<class 'RuntimeError'>",
        error_message: 'CUDA error: an illegal memory access was encountered',
        error_traceback: 'Traceback (most recent call last):\n  File "/handler.py", line 1, in handler\nRuntimeError: CUDA error: an illegal memory access was encountered\n',
        hostname: worker.id,
        worker_id: worker.id,
        runpod_version: '1.7.9',
      }),
    };
  }
  // What worker-comfyui returns for a ComfyUI 400 prompt_outputs_failed_validation with a missing checkpoint.
  return {
    error:
      "Workflow validation failed:\n• Node 4 (errors): [{'type': 'value_not_in_list', 'message': 'Value not in list', 'details': \"ckpt_name: 'missing.safetensors' not in []\", 'extra_info': {'input_name': 'ckpt_name'}}]\n• Node 4 (dependent_outputs): ['9']\n• Node 4 (class_type): CheckpointLoaderSimple\n\nNo checkpoint models appear to be available. Please check your model installation.",
  };
}
