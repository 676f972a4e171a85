import { type GraphQLSchema } from 'graphql';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { type Duplex } from 'node:stream';
import { type Clock, SystemClock } from '../../../src/common/clock';
import { FakeComfyUI, type FakeComfyUIOptions } from '../comfyui/fake-comfyui';
import { DEFAULT_GPU_TYPES, type GpuTypeSpec } from './catalog';
import { type ComfyWorkerOptions } from './comfy-worker';
import { type ApiKind, Faults, type HttpFaultRule } from './faults';
import { buildRunPodSchema, handleGraphql } from './graphql';
import { sendJson, sendProblem, sleep, STATUS_TITLES } from './http-util';
import { COMFY_PORT, handleProxyHttp, handleProxyUpgrade } from './pod-proxy';
import { handleRestV2 } from './rest-v2';
import { type EndpointConfig, type ServerlessJobLedgerEntry, ServerlessSim, type SimWorker } from './serverless';
import {
  type ComfyFactory,
  type ComfyLike,
  type NetworkVolumeSpec,
  type PodLedgerEntry,
  PodStore,
  type PodTemplateSpec,
} from './state';

export type { ApiKind, BootFaultMode, JobFailureKind } from './faults';
export type {
  PodLedgerEntry,
  ComfyLike,
  ComfyFactory,
  NetworkVolumeSpec,
  PodTemplateSpec,
  PodCreateRequestRecord,
} from './state';
export type { ServerlessJobLedgerEntry, EndpointConfig } from './serverless';
export type { GpuTypeSpec } from './catalog';
export { Faults } from './faults';
export { DEFAULT_GPU_TYPES } from './catalog';
export { NO_CAPACITY_MESSAGE } from './state';

export interface FakeRunPodOptions {
  /** The one valid API key (default 'sim-key'). */
  apiKey?: string;
  /** Source of time for boot, billing, job times and retention (default: SystemClock). */
  clock?: Clock;
  /** A pod is RUNNING with a runtime once clock.now() >= boot start + bootMs (default 2000). */
  bootMs?: number;
  /** PROVISIONING lasts this long, then STARTING until bootMs (default bootMs / 4). */
  provisioningMs?: number;
  /** Serverless endpoint ids (default ['sim-endpoint-01']); ignored when `serverlessEndpoints` is given. */
  serverlessEndpointIds?: string[];
  /** Full endpoint configs (id, workers, pricePerSecond). */
  serverlessEndpoints?: EndpointConfig[];
  /** Workers (each with its own ComfyUI) per endpoint when using `serverlessEndpointIds` (default 1). */
  serverlessWorkersPerEndpoint?: number;
  /** GPU catalog with prices (default: every id of reference §1.6 with plausible prices). */
  gpuTypes?: readonly GpuTypeSpec[];
  /** Options for every FakeComfyUI the fake starts (pods and serverless workers). */
  comfy?: FakeComfyUIOptions;
  /** Replace FakeComfyUI (e.g. with a scripted ComfyUI in tests). */
  comfyFactory?: ComfyFactory;
  /** Tuning of the sim's worker-comfyui (check_server retries, /history poll interval). */
  worker?: ComfyWorkerOptions;
  /** Proxy answers 524 after this long without a response (default 100 s, as RunPod's Cloudflare proxy). */
  proxyTimeoutMs?: number;
  /** Max real-time wait of /stream when nothing is new (default 500 ms). */
  streamWaitMs?: number;
  /** Delay between webhook retries (default 10 s, as documented). */
  webhookRetryDelayMs?: number;
  /** Data centre id for pods (default 'US-KS-2'). */
  dataCenterId?: string;
  /** Network volumes of the fake account (REST v2 /network-volumes, GraphQL myself.networkVolumes); default none. */
  networkVolumes?: NetworkVolumeSpec[];
  /** Pod templates a create may name (`templateId`); any other id is 404 / a GraphQL error. Default none. */
  podTemplates?: PodTemplateSpec[];
  host?: string;
}

export interface RequestLogEntry {
  /** clock.now() when the request arrived. */
  at: number;
  method: string;
  /** Path without the query string, e.g. `/v2/pods/abc`. */
  path: string;
  query: string;
  api: ApiKind;
  /** Final HTTP status (101 for proxied websockets, 0 if the client went away before an answer). */
  status: number;
  /** True when the answer came from `faults.failNext`. */
  injected: boolean;
  durationMs: number;
}

export interface RequestFilter {
  api?: ApiKind;
  method?: string;
  path?: string | RegExp;
  status?: number;
}

function classify(pathname: string): ApiKind {
  if (pathname === '/v2' || pathname.startsWith('/v2/')) return 'rest';
  if (pathname === '/graphql' || pathname.startsWith('/graphql/')) return 'graphql';
  if (pathname.startsWith('/serverless/')) return 'serverless';
  if (pathname.startsWith('/proxy/')) return 'proxy';
  return 'other';
}

/**
 * An in-process fake of RunPod: REST v2, GraphQL, serverless queue endpoints running worker-comfyui, and the
 * pod HTTP proxy, on one Node http server. See README-style notes in each module for sources and UNVERIFIED bits.
 *
 * URL layout (base = `fake.url`, e.g. http://127.0.0.1:8189):
 * - REST v2:    `${url}/v2/pods`, `/v2/pods/{id}`, `/v2/pods/{id}/action`, `/v2/catalog/gpus[/{id}]`
 * - GraphQL:    `${url}/graphql` (key via `?api_key=` or `Authorization: Bearer`)
 * - Serverless: `${url}/serverless/v2/{endpointId}/{run|runsync|status/{id}|...}` (runpod-sdk baseUrl = `${url}/serverless/v2`)
 * - Pod proxy:  `${url}/proxy/{podId}-{port}/...` (template `${url}/proxy/{podId}-8188`)
 */
export class FakeRunPod {
  readonly apiKey: string;
  readonly clock: Clock;
  readonly faults: Faults;
  private readonly store: PodStore;
  private readonly serverless: ServerlessSim;
  private readonly schema: GraphQLSchema;
  private readonly log: RequestLogEntry[] = [];
  private readonly proxyTimeoutMs: number;
  private readonly dataCenterId: string;
  private readonly host: string;
  private server?: Server;
  private baseUrl?: string;

  constructor(private readonly options: FakeRunPodOptions = {}) {
    this.apiKey = options.apiKey ?? 'sim-key';
    this.clock = options.clock ?? new SystemClock();
    this.host = options.host ?? '127.0.0.1';
    this.dataCenterId = options.dataCenterId ?? 'US-KS-2';
    this.proxyTimeoutMs = options.proxyTimeoutMs ?? 100_000;
    const comfyFactory: ComfyFactory = options.comfyFactory ?? (() => new FakeComfyUI(options.comfy));
    this.faults = new Faults({
      killPod: async (podId) => {
        const pod = this.store.all().find((p) => p.id === podId);
        if (!pod) throw new Error(`unknown pod ${podId}`);
        await this.store.killComfy(pod);
      },
      killServerlessWorker: (endpointId, index) => this.serverless.killWorker(endpointId, index),
      resumeServerless: (endpointId) => this.serverless.resume(endpointId),
    });
    const bootMs = options.bootMs ?? 2000;
    this.store = new PodStore({
      clock: this.clock,
      bootMs,
      provisioningMs: Math.min(bootMs, options.provisioningMs ?? Math.floor(bootMs / 4)),
      gpuTypes: options.gpuTypes ?? DEFAULT_GPU_TYPES,
      faults: this.faults,
      comfyFactory,
      dataCenterId: this.dataCenterId,
      networkVolumes: options.networkVolumes ?? [],
      templates: options.podTemplates ?? [],
    });
    const endpoints =
      options.serverlessEndpoints ??
      (options.serverlessEndpointIds ?? ['sim-endpoint-01']).map((id) => ({ id, workers: options.serverlessWorkersPerEndpoint ?? 1 }));
    this.serverless = new ServerlessSim({
      clock: this.clock,
      faults: this.faults,
      comfyFactory,
      endpoints,
      worker: options.worker ?? {},
      streamWaitMs: options.streamWaitMs ?? 500,
      webhookRetryDelayMs: options.webhookRetryDelayMs ?? 10_000,
    });
    this.schema = buildRunPodSchema();
  }

  // ---- lifecycle ----------------------------------------------------------------------------------------

  /** Starts listening (port 0 = ephemeral) and the serverless workers' ComfyUIs; resolves to the base URL. */
  async start(port = 0): Promise<string> {
    if (this.server) return this.url;
    await this.serverless.start();
    const server = createServer((req, res) => {
      void this.onRequest(req, res);
    });
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.onUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const { port: actual } = server.address() as AddressInfo;
    this.baseUrl = `http://${this.host}:${actual}`;
    return this.baseUrl;
  }

  /** Stops the server and closes every ComfyUI (pods and serverless workers). Pods are kept as ground truth. */
  async stop(): Promise<void> {
    await this.serverless.stop();
    await this.store.closeAll();
    const server = this.server;
    this.server = undefined;
    this.baseUrl = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Forget everything: pods (their ComfyUIs are closed), jobs, request log, faults. Keeps listening. */
  async reset(): Promise<void> {
    this.faults.reset();
    await this.store.closeAll();
    this.store.clear();
    if (this.server) await this.serverless.reset();
    this.log.length = 0;
  }

  // ---- URLs ---------------------------------------------------------------------------------------------

  get url(): string {
    if (!this.baseUrl) throw new Error('FakeRunPod is not started');
    return this.baseUrl;
  }

  get port(): number {
    return Number(new URL(this.url).port);
  }

  /** REST v2 base (paths below are `/pods`, `/catalog/gpus`, ...). The host root is `url`. */
  get restV2Url(): string {
    return `${this.url}/v2`;
  }

  get graphqlUrl(): string {
    return `${this.url}/graphql`;
  }

  /** What runpod-sdk takes as `baseUrl` (real: https://api.runpod.ai/v2). */
  get serverlessBaseUrl(): string {
    return `${this.url}/serverless/v2`;
  }

  /** Pod URL template for the service, with `{podId}` placeholder (real: https://{podId}-8188.proxy.runpod.net). */
  get podUrlTemplate(): string {
    return `${this.url}/proxy/{podId}-${COMFY_PORT}`;
  }

  podUrl(podId: string, port = COMFY_PORT): string {
    return `${this.url}/proxy/${podId}-${port}`;
  }

  get serverlessEndpointIds(): string[] {
    return this.serverless.endpointIds;
  }

  // ---- ground truth -------------------------------------------------------------------------------------

  /** Every pod ever created, terminated ones included, oldest first. */
  listAllPods(): PodLedgerEntry[] {
    return this.store.all().map((p) => this.store.ledger(p));
  }

  /** Pods not terminated (RUNNING, booting or EXITED). */
  runningPods(): PodLedgerEntry[] {
    return this.store.list().map((p) => this.store.ledger(p));
  }

  getPod(podId: string): PodLedgerEntry | undefined {
    const p = this.store.all().find((x) => x.id === podId);
    return p && this.store.ledger(p);
  }

  /** Sum of billedUsd over all pods (terminated included) at `now` (default clock.now()). */
  totalPodBilledUsd(now = this.clock.now()): number {
    return this.listAllPods().reduce((s, p) => s + p.billedUsd(now), 0);
  }

  /** The pod's ComfyUI (e.g. to inspect it or to queue work directly), if alive. */
  podComfy(podId: string): ComfyLike | undefined {
    return this.store.all().find((p) => p.id === podId)?.comfy;
  }

  serverlessJobs(endpointId?: string): ServerlessJobLedgerEntry[] {
    return this.serverless.jobLedger().filter((j) => !endpointId || j.endpointId === endpointId);
  }

  totalServerlessBilledSeconds(endpointId?: string): number {
    return this.serverlessJobs(endpointId).reduce((s, j) => s + j.billedSeconds, 0);
  }

  totalServerlessBilledUsd(endpointId?: string): number {
    return this.serverlessJobs(endpointId).reduce((s, j) => s + j.billedUsd, 0);
  }

  /** USD per billed second of a worker on this endpoint (ground truth for serverless cost). */
  serverlessPricePerSecond(endpointId = this.serverlessEndpointIds[0]): number | undefined {
    return this.serverless.pricePerSecond(endpointId);
  }

  /** Environment for the service so that it talks to this fake (names from src/config/app-config.ts). */
  serviceEnv(): Record<string, string> {
    return {
      RUNPOD_API_KEY: this.apiKey,
      RUNPOD_REST_URL: this.restV2Url,
      RUNPOD_GRAPHQL_URL: this.graphqlUrl,
      RUNPOD_SERVERLESS_URL: this.serverlessBaseUrl,
      RUNPOD_SERVERLESS_ENDPOINT_ID: this.serverlessEndpointIds[0] ?? '',
      RUNPOD_POD_URL_TEMPLATE: this.podUrlTemplate,
      RUNPOD_SERVERLESS_PRICE_PER_SECOND: String(this.serverlessPricePerSecond() ?? ''),
    };
  }

  serverlessWorkers(endpointId: string): ReadonlyArray<Readonly<SimWorker>> {
    return this.serverless.workers(endpointId);
  }

  /** The request log, optionally filtered (path: prefix string or regex). */
  requests(filter: RequestFilter = {}): RequestLogEntry[] {
    return this.log.filter(
      (r) =>
        (!filter.api || r.api === filter.api) &&
        (!filter.method || r.method === filter.method.toUpperCase()) &&
        (filter.status === undefined || r.status === filter.status) &&
        (filter.path === undefined || (typeof filter.path === 'string' ? r.path.startsWith(filter.path) : filter.path.test(r.path))),
    );
  }

  clearRequestLog(): void {
    this.log.length = 0;
  }

  // ---- HTTP plumbing ------------------------------------------------------------------------------------

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const startedReal = Date.now();
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const api = classify(url.pathname);
    const method = (req.method ?? 'GET').toUpperCase();
    const entry: RequestLogEntry = {
      at: this.clock.now(),
      method,
      path: url.pathname,
      query: url.search,
      api,
      status: 0,
      injected: false,
      durationMs: 0,
    };
    this.log.push(entry);
    res.on('close', () => {
      entry.status = res.headersSent ? res.statusCode : 0;
      entry.durationMs = Date.now() - startedReal;
    });
    try {
      const delay = this.faults.takeDelay(api, method, url.pathname);
      if (delay > 0) await sleep(delay);
      const fault = this.faults.takeHttpFault(api, method, url.pathname);
      if (fault) {
        entry.injected = true;
        req.resume();
        return this.sendFault(res, api, fault);
      }
      switch (api) {
        case 'rest':
          if (!this.checkRestAuth(req, res)) return;
          return await handleRestV2(
            {
              store: this.store,
              faults: this.faults,
              now: () => this.clock.now(),
              serverless: { workerCount: (id) => this.serverless.workerCount(id) },
            },
            req,
            res,
            url,
          );
        case 'graphql':
          if (!this.checkGraphqlAuth(req, res, url)) return;
          return await handleGraphql(
            { store: this.store, faults: this.faults, now: () => this.clock.now(), dataCenterId: this.dataCenterId },
            this.schema,
            req,
            res,
          );
        case 'serverless': {
          const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent); // serverless, v2, endpointId, op, jobId
          if (segs[1] !== 'v2') return sendJson(res, 404, { error: 'not found' });
          if (!this.checkServerlessAuth(req, res)) return;
          return await this.serverless.handle(req, res, segs.slice(2), url);
        }
        case 'proxy':
          return handleProxyHttp({ store: this.store, proxyTimeoutMs: this.proxyTimeoutMs }, req, res, url);
        case 'other':
          if (url.pathname === '/' && method === 'GET') {
            return sendJson(res, 200, {
              name: 'FakeRunPod',
              restV2: this.restV2Url,
              graphql: this.graphqlUrl,
              serverless: this.serverlessBaseUrl,
              serverlessEndpointIds: this.serverlessEndpointIds,
              podUrlTemplate: this.podUrlTemplate,
            });
          }
          return sendJson(res, 404, { error: 'not found' });
      }
    } catch (e) {
      if (!res.headersSent) sendJson(res, 500, { error: `FakeRunPod internal error: ${(e as Error).message}` });
      else res.destroy();
    }
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://sim.invalid');
    const api = classify(url.pathname);
    const entry: RequestLogEntry = { at: this.clock.now(), method: req.method ?? 'GET', path: url.pathname, query: url.search, api, status: 101, injected: false, durationMs: 0 };
    this.log.push(entry);
    socket.on('error', () => undefined);
    if (api !== 'proxy') {
      entry.status = 404;
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const fault = this.faults.takeHttpFault(api, entry.method, url.pathname);
    if (fault) {
      entry.status = fault.status;
      entry.injected = true;
      socket.end(`HTTP/1.1 ${fault.status} ${STATUS_TITLES[fault.status] ?? 'Error'}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    handleProxyUpgrade({ store: this.store, proxyTimeoutMs: this.proxyTimeoutMs }, req, socket, head, url, (s) => (entry.status = s));
  }

  private sendFault(res: ServerResponse, api: ApiKind, fault: HttpFaultRule): void {
    const headers: Record<string, string> = {};
    if (fault.retryAfterSec !== undefined) headers['Retry-After'] = String(fault.retryAfterSec);
    const title = STATUS_TITLES[fault.status] ?? 'Error';
    switch (api) {
      case 'rest':
        return sendProblem(res, fault.status, fault.status === 429 ? 'rate limit exceeded for the minute window' : `simulated ${title.toLowerCase()}`, { headers });
      case 'graphql':
        return sendJson(res, fault.status, { errors: [{ message: title }] }, headers);
      case 'proxy':
        res.writeHead(fault.status, { 'content-type': 'text/html', ...headers }).end(`<html><body><h1>${fault.status} ${title}</h1></body></html>`);
        return;
      case 'serverless':
      case 'other':
        return sendJson(res, fault.status, { error: title }, headers);
    }
  }

  private keyOk(key: string | undefined): boolean {
    return key !== undefined && key === this.apiKey && !this.faults.allKeysRejected;
  }

  /** REST v2: `Authorization: Bearer KEY` only. */
  private checkRestAuth(req: IncomingMessage, res: ServerResponse): boolean {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) {
      sendProblem(res, 401, 'missing bearer token');
      return false;
    }
    if (!this.keyOk(m[1])) {
      // UNVERIFIED: only the "missing bearer token" example is documented; the spec says 401 also covers
      // "malformed, expired, or invalid" tokens.
      sendProblem(res, 401, 'invalid bearer token');
      return false;
    }
    return true;
  }

  /** GraphQL: `?api_key=KEY` or `Authorization: Bearer KEY`; missing/invalid -> HTTP 401 (body UNVERIFIED). */
  private checkGraphqlAuth(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
    const key = url.searchParams.get('api_key') ?? bearer;
    if (this.keyOk(key)) return true;
    req.resume();
    sendJson(res, 401, { errors: [{ message: 'Unauthorized' }] });
    return false;
  }

  /** Serverless: `Authorization: Bearer KEY` or the raw key (DOCS curl examples); 401 otherwise (body UNVERIFIED). */
  private checkServerlessAuth(req: IncomingMessage, res: ServerResponse): boolean {
    const raw = (req.headers.authorization ?? '').trim();
    const key = /^Bearer\s+/i.test(raw) ? raw.replace(/^Bearer\s+/i, '') : raw || undefined;
    if (this.keyOk(key)) return true;
    req.resume();
    sendJson(res, 401, { error: 'Unauthorized' });
    return false;
  }
}
