import { type Clock, HOUR, SECOND } from '../../common/clock';
import type {
  CreatePodSpec,
  GpuTypeInfo,
  ListGpuTypesOptions,
  PodsApi,
  RunPodNetworkVolume,
  RunPodPod,
  RunPodPodStatus,
} from '../pods-api';
import { GpuCapacityError, RunPodRequestError, RunPodUnavailableError } from '../runpod.errors';

/**
 * An in-process, stateful fake of RunPod's on-demand pods (Karpenter's `cloudprovider/fake`): pods live in a map,
 * move through their statuses on an injected clock, and are billed as RunPod bills them. Tests step the clock,
 * inject one-shot faults, and read the ground truth (what exists, what it cost, what was asked) instead of
 * mocking the service's own modules. Test-only (`testing/` is excluded from the build).
 *
 * Modelled on reference/runpod.md:
 * - a created pod is `PROVISIONING`, then `STARTING`, then `RUNNING` (REST v2 `PodStatus`, "Poll getPod"); its
 *   `runtime` is null until then (§1.8), so `hasRuntime` turns true only with `RUNNING`;
 * - billing (§5): "billed by the second", from creation (boot included) to termination. Partial seconds are rounded
 *   up, as RunPod documents for serverless; the docs say no more for pods, so the fake takes the same rule;
 * - a terminated pod "no longer appears in listPods" (§1.7), and `get` then returns null (the contract's "gone");
 * - no capacity is a `GpuCapacityError` with RunPod's own text (§1.9); a listing is not a capacity promise.
 */
export interface InMemoryPodsApiOptions {
  clock: Clock;
  /** Creation to `RUNNING` with a runtime. Default 60 s. */
  bootMs?: number;
  /** Creation to `STARTING` (capped at `bootMs`). Default 10 s. */
  provisioningMs?: number;
  /** On-demand USD/h per GPU type id, both clouds; default: {@link DEFAULT_PRICES}. Other ids are refused. */
  prices?: Readonly<Record<string, number>>;
  networkVolumes?: readonly RunPodNetworkVolume[];
  kind?: 'rest' | 'graphql';
}

/** Plausible prices (the fake RunPod server's secure-cloud figures, test/sim/runpod/catalog.ts), not RunPod's. */
export const DEFAULT_PRICES: Readonly<Record<string, number>> = {
  'NVIDIA GeForce RTX 3090': 0.34,
  'NVIDIA GeForce RTX 4090': 0.69,
  'NVIDIA RTX A4000': 0.35,
  'NVIDIA RTX A5000': 0.36,
};

export const NO_CAPACITY_MESSAGE =
  'There are no longer any instances available with the requested specifications. Please refresh and try again.';

/** What the fake knows about one pod, terminated ones included (ground truth for assertions). */
export interface FakePod {
  readonly id: string;
  readonly name: string;
  readonly spec: CreatePodSpec;
  readonly gpuTypeId: string;
  readonly costPerHour: number;
  readonly createdAt: number;
  /** Creation to `RUNNING`; Infinity for a pod that never boots. */
  readonly bootMs: number;
  terminatedAt: number | null;
  /** The container stopped (`EXITED`) or failed (`ERROR`) at `stoppedAt`. */
  stoppedAs: 'EXITED' | 'ERROR' | null;
  stoppedAt: number | null;
  /** Created by {@link InMemoryPodsApi.addForeignPod} (not through `create`). */
  readonly foreign: boolean;
}

export type PodsApiMethod =
  'create' | 'get' | 'listByNamePrefix' | 'terminate' | 'listGpuTypes' | 'getNetworkVolume';

export interface PodsApiCall {
  method: PodsApiMethod;
  /** The clock's time of the call. */
  at: number;
  /** create: the pod's name; get/terminate: the pod id; listByNamePrefix: the prefix. */
  arg?: string;
  /** Whether the call threw (an injected fault or a refusal). */
  failed: boolean;
}

/** A one-shot create fault, consumed by the next `create` (in the order they were queued). */
type CreateFault = { kind: 'error'; error: Error } | { kind: 'answer-lost' } | { kind: 'never-boots' };

export class InMemoryPodsApi implements PodsApi {
  readonly kind: 'rest' | 'graphql';
  private readonly clock: Clock;
  private readonly provisioningMs: number;
  private readonly prices: Readonly<Record<string, number>>;
  private readonly networkVolumes: Map<string, RunPodNetworkVolume>;
  private bootMs: number;
  private pods = new Map<string, FakePod>();
  private log: PodsApiCall[] = [];
  private createFaults: CreateFault[] = [];
  private methodFaults = new Map<PodsApiMethod, Error[]>();
  private noCapacity = new Set<string>();
  private nextId = 1;

  constructor(options: InMemoryPodsApiOptions) {
    this.clock = options.clock;
    this.bootMs = options.bootMs ?? 60 * SECOND;
    this.provisioningMs = options.provisioningMs ?? 10 * SECOND;
    this.prices = options.prices ?? DEFAULT_PRICES;
    this.networkVolumes = new Map((options.networkVolumes ?? []).map((volume) => [volume.id, volume]));
    this.kind = options.kind ?? 'rest';
  }

  // --- PodsApi ---------------------------------------------------------------------------------------------------

  async create(spec: CreatePodSpec): Promise<RunPodPod> {
    return this.call('create', spec.name, () => {
      const fault = this.createFaults.shift();
      if (fault?.kind === 'error') throw fault.error;
      const price = this.prices[spec.gpuTypeId];
      if (price === undefined) {
        throw new RunPodRequestError(
          `Unknown GPU type ${spec.gpuTypeId}`,
          400,
          'gpuTypeId is not a GPU type',
        );
      }
      if (this.noCapacity.has(spec.gpuTypeId))
        throw new GpuCapacityError(NO_CAPACITY_MESSAGE, spec.gpuTypeId, 400);
      if (spec.networkVolume && !this.networkVolumes.has(spec.networkVolume.id)) {
        throw new RunPodRequestError(`Network volume ${spec.networkVolume.id} not found`, 400);
      }
      const pod = this.add(spec, price, fault?.kind === 'never-boots' ? Infinity : this.bootMs, false);
      // RunPod created it, then the answer was lost (timeout, 502): the transport reports an unknown outcome.
      if (fault?.kind === 'answer-lost')
        throw new RunPodUnavailableError('RunPod did not answer the create (injected)', undefined, 'TIMEOUT');
      return this.view(pod);
    });
  }

  async get(podId: string): Promise<RunPodPod | null> {
    return this.call('get', podId, () => {
      const pod = this.pods.get(podId);
      return pod && pod.terminatedAt === null ? this.view(pod) : null;
    });
  }

  async listByNamePrefix(prefix: string): Promise<RunPodPod[]> {
    return this.call('listByNamePrefix', prefix, () =>
      [...this.pods.values()]
        .filter((pod) => pod.terminatedAt === null && pod.name.startsWith(prefix))
        .map((pod) => this.view(pod)),
    );
  }

  async terminate(podId: string): Promise<void> {
    return this.call('terminate', podId, () => {
      const pod = this.pods.get(podId);
      if (pod && pod.terminatedAt === null) pod.terminatedAt = this.clock.now();
    });
  }

  async listGpuTypes(options: ListGpuTypesOptions = {}): Promise<GpuTypeInfo[]> {
    return this.call('listGpuTypes', undefined, () =>
      Object.entries(this.prices).map(([id, price]) => ({
        id,
        displayName: id.replace(/^NVIDIA (GeForce )?/, ''),
        memoryInGb: null,
        pricePerHour: price,
        pricePerHourByCloud: { SECURE: price, COMMUNITY: price },
        ...(options.withStockIn
          ? { stockStatus: this.noCapacity.has(id) ? ('NONE' as const) : ('HIGH' as const) }
          : {}),
      })),
    );
  }

  async getNetworkVolume(volumeId: string): Promise<RunPodNetworkVolume | null> {
    return this.call('getNetworkVolume', volumeId, () => this.networkVolumes.get(volumeId) ?? null);
  }

  // --- Faults (one-shot unless said otherwise) -------------------------------------------------------------------

  /** The next `create` throws `GpuCapacityError` (RunPod's "no longer any instances available"). */
  failNextCreateWithNoCapacity(): this {
    this.createFaults.push({
      kind: 'error',
      error: new GpuCapacityError(NO_CAPACITY_MESSAGE, undefined, 400),
    });
    return this;
  }

  /** The next `create` throws `RunPodUnavailableError` without creating anything (an outage before RunPod acted). */
  failNextCreateUnavailable(): this {
    this.createFaults.push({
      kind: 'error',
      error: new RunPodUnavailableError('RunPod is unavailable (injected)', 503),
    });
    return this;
  }

  /** The next `create` creates the pod at RunPod, then throws `RunPodUnavailableError` (the answer was lost). */
  loseNextCreateAnswer(): this {
    this.createFaults.push({ kind: 'answer-lost' });
    return this;
  }

  /** The next pod created never reaches `RUNNING` (stuck `STARTING`, no runtime), billing all the while. */
  nextPodNeverBoots(): this {
    this.createFaults.push({ kind: 'never-boots' });
    return this;
  }

  /** The next call of `method` throws `error` (queued per method). */
  failNext(
    method: PodsApiMethod,
    error: Error = new RunPodUnavailableError('RunPod is unavailable (injected)', 503),
  ): this {
    const queue = this.methodFaults.get(method) ?? [];
    queue.push(error);
    this.methodFaults.set(method, queue);
    return this;
  }

  /** Until `restoreCapacity`, every create of this GPU type throws `GpuCapacityError` (and its stock is NONE). */
  removeCapacity(gpuTypeId: string): this {
    this.noCapacity.add(gpuTypeId);
    return this;
  }

  restoreCapacity(gpuTypeId: string): this {
    this.noCapacity.delete(gpuTypeId);
    return this;
  }

  /** Boot time of pods created from now on. */
  setBootMs(ms: number): this {
    this.bootMs = ms;
    return this;
  }

  // --- What happens at RunPod outside the service ----------------------------------------------------------------

  /** A pod the service did not create through this API (another process, a crash before its row was written). */
  addForeignPod(spec: Partial<CreatePodSpec> & { name: string }, createdAt = this.clock.now()): FakePod {
    const full: CreatePodSpec = {
      imageName: 'example/comfyui:latest',
      gpuTypeId: Object.keys(this.prices)[0],
      cloudType: 'SECURE',
      ports: ['8188/http'],
      containerDiskInGb: 50,
      env: {},
      ...spec,
    };
    return this.add(full, this.prices[full.gpuTypeId] ?? 0, this.bootMs, true, createdAt);
  }

  /** Someone terminated the pod in RunPod's console. */
  terminateOutside(podId: string): void {
    const pod = this.mustFind(podId);
    pod.terminatedAt ??= this.clock.now();
  }

  /**
   * The pod's container stopped (`EXITED`) or failed (`ERROR`). Its GPU is no longer billed (REST v2 reports
   * `cost` 0.0 once EXITED); the disk a stopped pod keeps costs storage, which the fake does not model.
   */
  stopOutside(podId: string, as: 'EXITED' | 'ERROR' = 'EXITED'): void {
    const pod = this.mustFind(podId);
    if (pod.terminatedAt !== null || pod.stoppedAs) return;
    pod.stoppedAs = as;
    pod.stoppedAt = this.clock.now();
  }

  // --- Ground truth ----------------------------------------------------------------------------------------------

  /** Every pod ever created or added, terminated ones included, in creation order. */
  allPods(): FakePod[] {
    return [...this.pods.values()];
  }

  /** Pods not terminated, whatever their status. */
  livePods(): FakePod[] {
    return this.allPods().filter((pod) => pod.terminatedAt === null);
  }

  /** Pods `RUNNING` now (booted, not stopped, not terminated). */
  runningPods(): FakePod[] {
    return this.livePods().filter((pod) => this.statusOf(pod) === 'RUNNING');
  }

  pod(idOrName: string): FakePod | undefined {
    return this.pods.get(idOrName) ?? this.allPods().find((pod) => pod.name === idOrName);
  }

  status(podId: string): RunPodPodStatus {
    return this.statusOf(this.mustFind(podId));
  }

  /**
   * Whole seconds RunPod bills the pod's GPU up to now (or its termination or stop): from creation, partial seconds
   * rounded up.
   */
  billedSeconds(podId: string): number {
    const pod = this.mustFind(podId);
    const end = Math.min(pod.terminatedAt ?? Infinity, pod.stoppedAt ?? Infinity, this.clock.now());
    return Math.max(0, Math.ceil((end - pod.createdAt) / SECOND));
  }

  /** USD RunPod bills: of one pod, or of every pod when no id is given. */
  billedUsd(podId?: string): number {
    const pods = podId === undefined ? this.allPods() : [this.mustFind(podId)];
    return pods.reduce((sum, pod) => sum + (pod.costPerHour * this.billedSeconds(pod.id) * SECOND) / HOUR, 0);
  }

  /** Every call the service made, in order. */
  calls(method?: PodsApiMethod): PodsApiCall[] {
    return method ? this.log.filter((call) => call.method === method) : [...this.log];
  }

  /** Forgets pods, calls, faults and capacity changes (the clock is the test's). */
  reset(): void {
    this.pods = new Map();
    this.log = [];
    this.createFaults = [];
    this.methodFaults = new Map();
    this.noCapacity = new Set();
    this.nextId = 1;
  }

  // --- Internals -------------------------------------------------------------------------------------------------

  private async call<T>(method: PodsApiMethod, arg: string | undefined, work: () => T): Promise<T> {
    const entry: PodsApiCall = {
      method,
      at: this.clock.now(),
      failed: false,
      ...(arg !== undefined ? { arg } : {}),
    };
    this.log.push(entry);
    // Answer on a later microtask, as a network call would: callers must not rely on synchronous effects.
    await Promise.resolve();
    try {
      const fault = this.methodFaults.get(method)?.shift();
      if (fault) throw fault;
      return work();
    } catch (error) {
      entry.failed = true;
      throw error;
    }
  }

  private add(
    spec: CreatePodSpec,
    price: number,
    bootMs: number,
    foreign: boolean,
    createdAt = this.clock.now(),
  ): FakePod {
    // RunPod ids are 14 lowercase characters (reference/runpod.md §8); a counter keeps runs reproducible.
    const id = `pod${(this.nextId++).toString(36).padStart(11, '0')}`;
    const pod: FakePod = {
      id,
      name: spec.name,
      spec: { ...spec, env: { ...spec.env } },
      gpuTypeId: spec.gpuTypeId,
      costPerHour: price,
      createdAt,
      bootMs,
      terminatedAt: null,
      stoppedAs: null,
      stoppedAt: null,
      foreign,
    };
    this.pods.set(id, pod);
    return pod;
  }

  private statusOf(pod: FakePod): RunPodPodStatus {
    if (pod.terminatedAt !== null) return 'TERMINATED';
    if (pod.stoppedAs) return pod.stoppedAs;
    const age = this.clock.now() - pod.createdAt;
    if (age >= pod.bootMs) return 'RUNNING';
    return age >= Math.min(this.provisioningMs, pod.bootMs) ? 'STARTING' : 'PROVISIONING';
  }

  private view(pod: FakePod): RunPodPod {
    const status = this.statusOf(pod);
    return {
      id: pod.id,
      name: pod.name,
      status,
      // REST v2: `cost` is 0.0 once EXITED or TERMINATED (reference/runpod.md §4).
      costPerHour: status === 'EXITED' || status === 'TERMINATED' ? 0 : pod.costPerHour,
      gpuTypeId: pod.gpuTypeId,
      createdAt: this.kind === 'rest' ? new Date(pod.createdAt) : null,
      hasRuntime: status === 'RUNNING',
    };
  }

  private mustFind(podId: string): FakePod {
    const pod = this.pods.get(podId);
    if (!pod) throw new Error(`InMemoryPodsApi: no pod ${podId}`);
    return pod;
  }
}
