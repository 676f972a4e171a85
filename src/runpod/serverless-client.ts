import { requestErrorFrom, type RunPodHttp } from './runpod-http';
import { RunPodRequestError, ServerlessJobNotFoundError } from './runpod.errors';

export interface RunPodServerlessClientOptions {
  /** e.g. `https://api.runpod.ai/v2` (note `.ai`: the serverless API is not the pods API host). */
  baseUrl: string;
  endpointId: string;
  http: RunPodHttp;
}

export type ServerlessJobState =
  'IN_QUEUE' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TIMED_OUT';

export const SERVERLESS_TERMINAL_STATES: readonly ServerlessJobState[] = [
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMED_OUT',
];

export const isTerminalServerlessState = (s: ServerlessJobState): boolean =>
  SERVERLESS_TERMINAL_STATES.includes(s);

/** RunPod's per-job policy (all ms). Defaults on RunPod's side: executionTimeout 600000, ttl 86400000. */
export interface ServerlessPolicy {
  executionTimeout?: number;
  lowPriority?: boolean;
  ttl?: number;
}

export interface ServerlessRunResult {
  id: string;
  status: ServerlessJobState;
}

export interface ServerlessJobStatus {
  id: string;
  status: ServerlessJobState;
  /** The handler's output: worker-comfyui 5.x gives `{images:[{filename,type,data}], errors?}`. */
  output?: unknown;
  /** FAILED jobs: the handler's error string (possibly itself JSON for raised exceptions). */
  error?: string;
  /** ms the job waited in the queue. */
  delayTime?: number;
  /** ms of execution. */
  executionTime?: number;
  workerId?: string;
}

export interface ServerlessHealth {
  jobs: { completed: number; failed: number; inProgress: number; inQueue: number; retried: number };
  /** `initializing`, `ready`, `throttled`, `unhealthy` are seen live but not in every answer; missing = 0. */
  workers: {
    idle: number;
    initializing: number;
    ready: number;
    running: number;
    throttled: number;
    unhealthy: number;
  };
}

const STATES: readonly ServerlessJobState[] = [
  'IN_QUEUE',
  'IN_PROGRESS',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'TIMED_OUT',
];

/**
 * RunPod serverless queue endpoint client (`{base}/{endpointId}/run|status|cancel|health`), for a worker-comfyui
 * endpoint. Auth is `Authorization: Bearer`. Errors: see `RunPodHttp` (auth, rate limit, unavailable); a job
 * RunPod does not know (never existed or expired) -> `ServerlessJobNotFoundError`; other 4xx -> `RunPodRequestError`.
 */
export class RunPodServerlessClient {
  private readonly endpointUrl: string;
  private readonly http: RunPodHttp;

  constructor(options: RunPodServerlessClientOptions) {
    if (!options.endpointId) throw new RunPodRequestError('RunPod serverless endpoint id is empty');
    this.endpointUrl = `${options.baseUrl.replace(/\/+$/, '')}/${encodeURIComponent(options.endpointId)}`;
    this.http = options.http;
  }

  /**
   * `POST /run` with `{input, policy?}` -> `{id, status: IN_QUEUE}`. Not retried after a timeout/reset/5xx other
   * than 503: a repeat would enqueue (and bill) the job twice.
   */
  async run(input: object, policy?: ServerlessPolicy): Promise<ServerlessRunResult> {
    const body = policy ? { input, policy } : { input };
    const res = await this.http.request({
      method: 'POST',
      url: `${this.endpointUrl}/run`,
      body,
      idempotent: false,
    });
    if (res.status !== 200 && res.status !== 201) throw requestErrorFrom('serverless run', res);
    const job = this.toJob(res.body, 'serverless run');
    const answered = (res.body as { status?: unknown } | null)?.status;
    return { id: job.id, status: answered === undefined ? 'IN_QUEUE' : job.status };
  }

  /** `GET /status/{jobId}`. 404 -> `ServerlessJobNotFoundError` (unknown, expired after 30 min, or ttl passed). */
  async status(jobId: string): Promise<ServerlessJobStatus> {
    const res = await this.http.request({ method: 'GET', url: this.jobUrl('status', jobId) });
    if (res.status === 404) throw new ServerlessJobNotFoundError(jobId, 404);
    if (res.status !== 200) throw requestErrorFrom(`serverless status ${jobId}`, res);
    return this.toJob(res.body, `serverless status ${jobId}`);
  }

  /** `POST /cancel/{jobId}` (body `{}`, as the JS SDK sends). 404 -> `ServerlessJobNotFoundError`. */
  async cancel(jobId: string): Promise<ServerlessRunResult> {
    const res = await this.http.request({
      method: 'POST',
      url: this.jobUrl('cancel', jobId),
      body: {},
      idempotent: true,
    });
    if (res.status === 404) throw new ServerlessJobNotFoundError(jobId, 404);
    if (res.status !== 200) throw requestErrorFrom(`serverless cancel ${jobId}`, res);
    const body = (res.body ?? {}) as { id?: unknown; status?: unknown };
    return {
      id: typeof body.id === 'string' ? body.id : jobId,
      status: body.status === undefined ? 'CANCELLED' : toState(body.status),
    };
  }

  /** `GET /health`: queue and worker counts. Missing counters read as 0. */
  async health(): Promise<ServerlessHealth> {
    const res = await this.http.request({ method: 'GET', url: `${this.endpointUrl}/health` });
    if (res.status !== 200) throw requestErrorFrom('serverless health', res);
    const body = (res.body ?? {}) as { jobs?: Record<string, unknown>; workers?: Record<string, unknown> };
    const jobs = body.jobs ?? {};
    const workers = body.workers ?? {};
    return {
      jobs: {
        completed: count(jobs.completed),
        failed: count(jobs.failed),
        inProgress: count(jobs.inProgress),
        inQueue: count(jobs.inQueue),
        retried: count(jobs.retried),
      },
      workers: {
        idle: count(workers.idle),
        initializing: count(workers.initializing),
        ready: count(workers.ready),
        running: count(workers.running),
        throttled: count(workers.throttled),
        unhealthy: count(workers.unhealthy),
      },
    };
  }

  private jobUrl(op: 'status' | 'cancel', jobId: string): string {
    return `${this.endpointUrl}/${op}/${encodeURIComponent(jobId)}`;
  }

  private toJob(raw: unknown, what: string): ServerlessJobStatus {
    const b = (raw ?? {}) as Record<string, unknown>;
    if (typeof b.id !== 'string' || b.id === '') {
      throw new RunPodRequestError(`${what}: RunPod answered without a job id`);
    }
    const job: ServerlessJobStatus = { id: b.id, status: toState(b.status) };
    if (b.output !== undefined && b.output !== null) job.output = b.output;
    if (b.error !== undefined && b.error !== null) {
      job.error = typeof b.error === 'string' ? b.error : JSON.stringify(b.error);
    }
    if (typeof b.delayTime === 'number') job.delayTime = b.delayTime;
    if (typeof b.executionTime === 'number') job.executionTime = b.executionTime;
    if (typeof b.workerId === 'string') job.workerId = b.workerId;
    return job;
  }
}

/**
 * RunPod's job-states page also lists `RUNNING` (read as IN_PROGRESS). Any other unknown word is read as
 * IN_PROGRESS too: the caller keeps polling and its own deadline decides, rather than us inventing a failure.
 */
function toState(status: unknown): ServerlessJobState {
  const s = typeof status === 'string' ? status.toUpperCase() : '';
  if ((STATES as readonly string[]).includes(s)) return s as ServerlessJobState;
  return 'IN_PROGRESS';
}

function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}
