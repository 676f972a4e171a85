/**
 * Fault injection for FakeRunPod. Everything here is inert until a test turns it on; `reset()` turns it all off.
 */
export type ApiKind = 'rest' | 'graphql' | 'serverless' | 'proxy' | 'other';

/** How a pod fails to become usable. */
export type BootFaultMode =
  /** Stays STARTING with `runtime: null` forever (REST `status` STARTING, GraphQL `runtime` null). */
  | 'stuck'
  /** Boots (RUNNING, runtime present) but nothing listens: the proxy answers 502 (DOCS troubleshooting-502). */
  | 'comfy-down'
  /** Boots but ComfyUI never answers: the proxy holds the request and answers 524 after `proxyTimeoutMs`. */
  | 'comfy-hang';

export interface HttpFaultOptions {
  /** Only requests to this API. */
  api?: ApiKind;
  /** Only paths (without query string) that start with this string / match this regex. */
  path?: string | RegExp;
  /** Only this HTTP method. */
  method?: string;
  /** Adds `Retry-After: <seconds>` (REST v2 429s document integer seconds). */
  retryAfterSec?: number;
}

export interface HttpFaultRule extends HttpFaultOptions {
  status: number;
  remaining: number;
}

export interface SlowRule {
  delayMs: number;
  api?: ApiKind;
  path?: string | RegExp;
  remaining: number;
}

export type JobFailureKind =
  /** The handler itself crashed (runpod-python reports the exception as a JSON string in `error`). */
  | 'infrastructure'
  /** ComfyUI rejected the workflow (worker-comfyui "Workflow validation failed..."). */
  | 'workflow';

export interface FaultHooks {
  killPod(podId: string): Promise<void>;
  killServerlessWorker(endpointId: string, workerIndex?: number): Promise<void>;
  /** Throttling of the endpoint ended: its queued jobs may start. */
  resumeServerless(endpointId: string): void;
}

function matches(rule: { api?: ApiKind; path?: string | RegExp; method?: string }, api: ApiKind, method: string, path: string): boolean {
  if (rule.api && rule.api !== api) return false;
  if (rule.method && rule.method.toUpperCase() !== method.toUpperCase()) return false;
  if (rule.path !== undefined) {
    if (typeof rule.path === 'string' ? !path.startsWith(rule.path) : !rule.path.test(path)) return false;
  }
  return true;
}

export class Faults {
  /** gpuTypeId -> keep showing stock in the catalog anyway ("the listing is not a capacity signal", §1.9). */
  private readonly noCapacityGpus = new Map<string, { visibleInCatalog: boolean }>();
  private noCapacityAll?: { visibleInCatalog: boolean };
  private httpRules: HttpFaultRule[] = [];
  private slowRules: SlowRule[] = [];
  private bootFault?: { mode: BootFaultMode; remaining: number };
  private keysRejected = false;
  private jobFailures: Array<{ kind: JobFailureKind; remaining: number; endpointId?: string }> = [];
  private readonly throttledEndpoints = new Set<string>();

  constructor(private readonly hooks: FaultHooks) {}

  // ---- capacity -------------------------------------------------------------------------------------------

  /**
   * No capacity for these GPU types (all types when omitted). Pod creation then fails the way RunPod does:
   * REST v2 HTTP 400 problem+json, GraphQL HTTP 200 with `errors[0].message`. By default the catalog also
   * reports the type as out of stock; pass `visibleInCatalog: true` to keep advertising it.
   */
  noCapacity(gpuTypeIds?: string | string[], opts: { visibleInCatalog?: boolean } = {}): void {
    const v = { visibleInCatalog: opts.visibleInCatalog ?? false };
    if (gpuTypeIds === undefined) {
      this.noCapacityAll = v;
      return;
    }
    for (const id of Array.isArray(gpuTypeIds) ? gpuTypeIds : [gpuTypeIds]) this.noCapacityGpus.set(id, v);
  }

  /** Undo `noCapacity` for these types (or for everything). */
  restoreCapacity(gpuTypeIds?: string | string[]): void {
    if (gpuTypeIds === undefined) {
      this.noCapacityAll = undefined;
      this.noCapacityGpus.clear();
      return;
    }
    for (const id of Array.isArray(gpuTypeIds) ? gpuTypeIds : [gpuTypeIds]) this.noCapacityGpus.delete(id);
  }

  hasCapacity(gpuTypeId: string): boolean {
    return !this.noCapacityAll && !this.noCapacityGpus.has(gpuTypeId);
  }

  /** What the catalog / lowestPrice should advertise. */
  advertisesStock(gpuTypeId: string): boolean {
    if (this.noCapacityAll && !this.noCapacityAll.visibleInCatalog) return false;
    const g = this.noCapacityGpus.get(gpuTypeId);
    return !g || g.visibleInCatalog;
  }

  // ---- HTTP-level failures ------------------------------------------------------------------------------

  /**
   * The next `count` matching requests answer `status` (e.g. 500/502/503/429) instead of being handled.
   * Body shape follows the API: problem+json for REST v2, `{"errors":[...]}` for GraphQL, `{"error"}` otherwise.
   */
  failNext(count: number, status: number, opts: HttpFaultOptions = {}): void {
    this.httpRules.push({ ...opts, status, remaining: count });
  }

  /** Delay matching responses by `delayMs` of real time (for `count` requests, default: until reset). */
  slow(delayMs: number, opts: { api?: ApiKind; path?: string | RegExp; count?: number } = {}): void {
    this.slowRules.push({ delayMs, api: opts.api, path: opts.path, remaining: opts.count ?? Infinity });
  }

  /** @internal consumed by the server for each request. */
  takeHttpFault(api: ApiKind, method: string, path: string): HttpFaultRule | undefined {
    const rule = this.httpRules.find((r) => r.remaining > 0 && matches(r, api, method, path));
    if (!rule) return undefined;
    rule.remaining--;
    return rule;
  }

  /** @internal */
  takeDelay(api: ApiKind, method: string, path: string): number {
    const rule = this.slowRules.find((r) => r.remaining > 0 && matches(r, api, method, path));
    if (!rule) return 0;
    rule.remaining--;
    return rule.delayMs;
  }

  // ---- pods ---------------------------------------------------------------------------------------------

  /**
   * The next `count` pods created (default: every pod until reset) never become usable; see BootFaultMode.
   * The mode is fixed on the pod at creation, like a bad host or a broken image would be.
   */
  podsNeverBoot(opts: { mode?: BootFaultMode; count?: number } = {}): void {
    this.bootFault = { mode: opts.mode ?? 'stuck', remaining: opts.count ?? Infinity };
  }

  /** @internal */
  takeBootFault(): BootFaultMode | undefined {
    if (!this.bootFault || this.bootFault.remaining <= 0) return undefined;
    this.bootFault.remaining--;
    return this.bootFault.mode;
  }

  /** The pod's FakeComfyUI is closed (container crashed / OOM); the pod stays listed and billed; the proxy gives 502. */
  killPod(podId: string): Promise<void> {
    return this.hooks.killPod(podId);
  }

  // ---- auth ---------------------------------------------------------------------------------------------

  /** Every API key is rejected (401 on every API) until `rejectAllKeys(false)` or reset. */
  rejectAllKeys(on = true): void {
    this.keysRejected = on;
  }

  get allKeysRejected(): boolean {
    return this.keysRejected;
  }

  // ---- serverless ---------------------------------------------------------------------------------------

  /** The next `count` serverless jobs (optionally only on one endpoint) fail with this kind of error. */
  failNextJobs(count: number, kind: JobFailureKind, opts: { endpointId?: string } = {}): void {
    this.jobFailures.push({ kind, remaining: count, endpointId: opts.endpointId });
  }

  /** @internal */
  takeJobFailure(endpointId: string): JobFailureKind | undefined {
    const f = this.jobFailures.find((j) => j.remaining > 0 && (!j.endpointId || j.endpointId === endpointId));
    if (!f) return undefined;
    f.remaining--;
    return f.kind;
  }

  /**
   * A serverless worker dies: its FakeComfyUI is closed (a running job fails the way worker-comfyui fails when
   * ComfyUI vanishes) and the worker counts as `unhealthy`. Default: the first live worker of the endpoint.
   */
  killServerlessWorker(endpointId: string, workerIndex?: number): Promise<void> {
    return this.hooks.killServerlessWorker(endpointId, workerIndex);
  }

  /**
   * Every worker of the endpoint is `throttled` ("when supply is short", runpod.md §3.3; not billed): no job
   * starts and `/health` counts its idle workers as throttled; queued jobs stay IN_QUEUE until `on` is false
   * (or until reset, after which the next request starts them).
   */
  throttleServerless(endpointId: string, on = true): void {
    if (on) this.throttledEndpoints.add(endpointId);
    else if (this.throttledEndpoints.delete(endpointId)) this.hooks.resumeServerless(endpointId);
  }

  /** @internal */
  isServerlessThrottled(endpointId: string): boolean {
    return this.throttledEndpoints.has(endpointId);
  }

  reset(): void {
    this.throttledEndpoints.clear();
    this.noCapacityGpus.clear();
    this.noCapacityAll = undefined;
    this.httpRules = [];
    this.slowRules = [];
    this.bootFault = undefined;
    this.keysRejected = false;
    this.jobFailures = [];
  }
}
