import { gpuTypeIdForDisplayName } from '../config/gpu-catalog';
import type {
  CreatePodSpec,
  GpuStockStatus,
  GpuTypeInfo,
  ListGpuTypesOptions,
  PodsApi,
  RunPodNetworkVolume,
  RunPodPod,
  RunPodPodStatus,
} from './pods-api';
import { describeBody, requestErrorFrom, type RunPodHttp } from './runpod-http';
import {
  GpuCapacityError,
  RunPodAuthError,
  RunPodRequestError,
  isCapacityMessage,
  isNotFoundMessage,
  isUnauthorizedMessage,
} from './runpod.errors';

export interface GraphqlPodsApiOptions {
  /** e.g. `https://api.runpod.io/graphql`. The key goes in the Authorization header, never in the query string. */
  url: string;
  http: RunPodHttp;
}

/**
 * Only fields official clients select on `Pod` (reference/runpod.md §1.5), so a schema change elsewhere cannot
 * fail our queries. GraphQL has no `gpuTypeId` or `createdAt` on pods: the GPU comes from `machine.gpuDisplayName`.
 */
const POD_FIELDS =
  'id name desiredStatus costPerHr imageName machine { gpuDisplayName } runtime { uptimeInSeconds }';

const CREATE_POD = `mutation CreateOnDemandPod($input: PodFindAndDeployOnDemandInput!) {
  podFindAndDeployOnDemand(input: $input) { ${POD_FIELDS} }
}`;
const GET_POD = `query Pod($podId: String!) { pod(input: { podId: $podId }) { ${POD_FIELDS} } }`;
const LIST_PODS = `query MyPods { myself { pods { ${POD_FIELDS} } } }`;
const TERMINATE_POD = `mutation TerminatePod($podId: String!) { podTerminate(input: { podId: $podId }) }`;
/** PY `queries/user.py` (reference/runpod.md §1.5): the account's volumes with their data center. */
const NETWORK_VOLUMES = `query NetworkVolumes { myself { networkVolumes { id name size dataCenterId } } }`;
const GPU_TYPES = `query GpuTypes {
  gpuTypes { id displayName memoryInGb securePrice communityPrice lowestPrice(input: { gpuCount: 1 }) { uninterruptablePrice } }
}`;
/**
 * The same with the stock level for one GPU in one cloud: `lowestPrice.stockStatus` (DOCS manage-pods; values
 * High/Medium/Low/None, may be null). That `secureCloud: false` means community cloud is our reading of the
 * older DOCS input list (UNVERIFIED), so an unknown or missing answer maps to "RunPod did not say".
 */
const GPU_TYPES_WITH_STOCK = `query GpuTypesWithStock($secureCloud: Boolean) {
  gpuTypes { id displayName memoryInGb securePrice communityPrice lowestPrice(input: { gpuCount: 1, secureCloud: $secureCloud }) { uninterruptablePrice stockStatus } }
}`;

interface WirePod {
  id?: unknown;
  name?: unknown;
  desiredStatus?: unknown;
  costPerHr?: unknown;
  machine?: { gpuDisplayName?: unknown } | null;
  runtime?: unknown;
}

interface WireGpuType {
  id?: unknown;
  displayName?: unknown;
  memoryInGb?: unknown;
  securePrice?: unknown;
  communityPrice?: unknown;
  lowestPrice?: { uninterruptablePrice?: unknown; stockStatus?: unknown } | null;
}

interface GraphqlResult {
  data: Record<string, unknown> | null;
  /** `errors[].message`, trimmed (RunPod's messages sometimes end in "\n"). Already scrubbed of the key. */
  errors: string[];
}

/**
 * `PodsApi` over RunPod's GraphQL API (deprecated; retired early 2027). Selected with `RUNPOD_POD_API=graphql`.
 * Every user value travels as a GraphQL variable, never interpolated into the query text.
 *
 * GraphQL reports domain errors as HTTP 200 `{data, errors:[{message}]}`; only auth is a non-200 (401).
 */
export class GraphqlPodsApi implements PodsApi {
  readonly kind = 'graphql' as const;
  private readonly url: string;
  private readonly http: RunPodHttp;

  constructor(options: GraphqlPodsApiOptions) {
    this.url = options.url;
    this.http = options.http;
  }

  /**
   * `podFindAndDeployOnDemand`. Capacity messages ("There are no longer any instances available...", "No
   * compatible CUDA host is currently available") -> `GpuCapacityError`. Not retried on ambiguous failures.
   */
  async create(spec: CreatePodSpec): Promise<RunPodPod> {
    const input = {
      cloudType: spec.cloudType,
      gpuCount: 1,
      gpuTypeId: spec.gpuTypeId,
      name: spec.name,
      imageName: spec.imageName,
      dockerArgs: '',
      ports: spec.ports.map((p) => p.replace(/\s+/g, '')).join(','),
      containerDiskInGb: spec.containerDiskInGb,
      // No persistent volume: our pods are disposable, and a volume would bill while stopped.
      volumeInGb: 0,
      env: Object.entries(spec.env).map(([key, value]) => ({ key, value })),
      // Input names as official clients send them (reference/runpod.md §1.2: PY/CTL/DOCS). With a network volume,
      // `volumeMountPath` is where it is mounted: that it applies to the network volume when `volumeInGb` is 0 is
      // how PY uses it (one mount path per pod), not documented; UNVERIFIED. `dataCenterId` is a single string
      // (config refuses several with GraphQL); PY sends null when there is none, we leave it out (both optional).
      // With `templateId` and `imageName` both set, which wins is UNVERIFIED for GraphQL (REST v2: the body).
      ...(spec.networkVolume
        ? { networkVolumeId: spec.networkVolume.id, volumeMountPath: spec.networkVolume.mountPath }
        : {}),
      ...(spec.dataCenterIds?.length ? { dataCenterId: spec.dataCenterIds[0] } : {}),
      ...(spec.templateId ? { templateId: spec.templateId } : {}),
    };
    const what = `create pod ${spec.name}`;
    const result = await this.execute(what, CREATE_POD, { input }, false);
    const capacity = result.errors.find(isCapacityMessage);
    if (capacity) {
      throw new GpuCapacityError(
        `No RunPod capacity for ${spec.gpuTypeId} (${spec.cloudType}): ${capacity}`,
        spec.gpuTypeId,
      );
    }
    this.throwIfErrors(what, result);
    const pod = result.data?.podFindAndDeployOnDemand;
    if (!pod) throw new RunPodRequestError(`${what}: RunPod answered without a pod`);
    return this.toPod(pod, what, spec.gpuTypeId);
  }

  /**
   * `pod(input:{podId})`. A null pod or a "not found"-like error -> null. RunPod's exact answer for an unknown
   * id is UNVERIFIED (null or an error), so both are accepted.
   */
  async get(podId: string): Promise<RunPodPod | null> {
    const what = `get pod ${podId}`;
    const result = await this.execute(what, GET_POD, { podId }, true);
    if (result.errors.length && result.errors.every(isNotFoundMessage)) return null;
    this.throwIfErrors(what, result);
    const pod = result.data?.pod;
    return pod ? this.toPod(pod, what) : null;
  }

  /** `myself { pods }`, filtered by name prefix here (GraphQL has no name filter). */
  async listByNamePrefix(prefix: string): Promise<RunPodPod[]> {
    const what = 'list pods';
    const result = await this.execute(what, LIST_PODS, {}, true);
    this.throwIfErrors(what, result);
    const pods = (result.data?.myself as { pods?: unknown } | null | undefined)?.pods;
    if (!Array.isArray(pods)) throw new RunPodRequestError(`${what}: RunPod answered without myself.pods`);
    return pods
      .filter(
        (p) => typeof (p as WirePod)?.name === 'string' && ((p as WirePod).name as string).startsWith(prefix),
      )
      .map((p) => this.toPod(p, what));
  }

  /**
   * `podTerminate(input:{podId})`, a scalar mutation (its value, probably null, is UNVERIFIED and ignored).
   * A "not found"-like error means it is already gone: success.
   */
  async terminate(podId: string): Promise<void> {
    const what = `terminate pod ${podId}`;
    const result = await this.execute(what, TERMINATE_POD, { podId }, true);
    if (result.errors.length && result.errors.every(isNotFoundMessage)) return;
    this.throwIfErrors(what, result);
  }

  /**
   * `gpuTypes` with `lowestPrice(input:{gpuCount:1}).uninterruptablePrice` as the on-demand price; falls back to
   * the lower of `securePrice`/`communityPrice` when RunPod gives no lowest price (e.g. no stock).
   */
  async listGpuTypes(options: ListGpuTypesOptions = {}): Promise<GpuTypeInfo[]> {
    const what = 'list GPU types';
    const withStock = options.withStockIn !== undefined;
    const result = withStock
      ? await this.execute(what, GPU_TYPES_WITH_STOCK, { secureCloud: options.withStockIn === 'SECURE' }, true)
      : await this.execute(what, GPU_TYPES, {}, true);
    this.throwIfErrors(what, result);
    const list = result.data?.gpuTypes;
    if (!Array.isArray(list)) throw new RunPodRequestError(`${what}: RunPod answered without gpuTypes`);
    return list
      .map((g) => g as WireGpuType)
      .filter((g) => typeof g?.id === 'string' && g.id !== '' && g.id !== 'unknown')
      .map((g) => ({
        id: g.id as string,
        displayName: typeof g.displayName === 'string' ? g.displayName : (g.id as string),
        memoryInGb: finiteNumber(g.memoryInGb),
        pricePerHour: gpuPrice(g),
        pricePerHourByCloud: {
          SECURE: positivePrice(g.securePrice),
          COMMUNITY: positivePrice(g.communityPrice),
        },
        ...(withStock ? { stockStatus: stockStatusOf(g.lowestPrice?.stockStatus) } : {}),
      }));
  }

  /**
   * `myself { networkVolumes { id name size dataCenterId } }`, found by id (GraphQL has no single-volume query in
   * reference/; PY looks the data center up this way when `networkVolumeId` comes without `dataCenterId`).
   */
  async getNetworkVolume(volumeId: string): Promise<RunPodNetworkVolume | null> {
    const what = `get network volume ${volumeId}`;
    const result = await this.execute(what, NETWORK_VOLUMES, {}, true);
    this.throwIfErrors(what, result);
    const volumes = (result.data?.myself as { networkVolumes?: unknown } | null | undefined)?.networkVolumes;
    if (!Array.isArray(volumes)) {
      throw new RunPodRequestError(`${what}: RunPod answered without myself.networkVolumes`);
    }
    const v = volumes.find((x) => (x as { id?: unknown } | null)?.id === volumeId) as
      | { id: string; name?: unknown; dataCenterId?: unknown }
      | undefined;
    if (!v) return null;
    return {
      id: v.id,
      name: typeof v.name === 'string' ? v.name : '',
      dataCenterId: typeof v.dataCenterId === 'string' && v.dataCenterId !== '' ? v.dataCenterId : null,
    };
  }

  private async execute(
    what: string,
    query: string,
    variables: Record<string, unknown>,
    idempotent: boolean,
  ): Promise<GraphqlResult> {
    const res = await this.http.request({
      method: 'POST',
      url: this.url,
      body: { query, variables },
      idempotent,
    });
    const body = res.body as { data?: unknown; errors?: unknown } | null;
    const errors = Array.isArray(body?.errors)
      ? body.errors.map((e) => {
          const message = (e as { message?: unknown })?.message;
          return typeof message === 'string' ? message.trim() : JSON.stringify(e);
        })
      : [];
    if (res.status !== 200 && errors.length === 0) throw requestErrorFrom(what, res);
    const data = body?.data && typeof body.data === 'object' ? (body.data as Record<string, unknown>) : null;
    if (res.status === 200 && !data && errors.length === 0) {
      throw new RunPodRequestError(
        `${what}: RunPod answered without data: ${describeBody(res.body)}`,
        res.status,
      );
    }
    return { data, errors };
  }

  private throwIfErrors(what: string, result: GraphqlResult): void {
    if (!result.errors.length) return;
    const message = result.errors.join('; ');
    if (result.errors.some(isCapacityMessage)) throw new GpuCapacityError(`${what}: ${message}`);
    if (result.errors.some(isUnauthorizedMessage)) {
      throw new RunPodAuthError(`${what} rejected by RunPod: ${message}`);
    }
    throw new RunPodRequestError(`${what} rejected by RunPod: ${message}`, undefined, message);
  }

  private toPod(raw: unknown, what: string, knownGpuTypeId?: string): RunPodPod {
    const p = (raw ?? {}) as WirePod;
    if (typeof p.id !== 'string' || p.id === '') {
      throw new RunPodRequestError(`${what}: RunPod answered without a pod id`);
    }
    const runtime = !!p.runtime && typeof p.runtime === 'object';
    return {
      id: p.id,
      name: typeof p.name === 'string' ? p.name : '',
      status: toStatus(p.desiredStatus, runtime),
      costPerHour: finiteNumber(p.costPerHr) ?? 0,
      gpuTypeId:
        knownGpuTypeId ??
        gpuTypeIdForDisplayName(
          typeof p.machine?.gpuDisplayName === 'string' ? p.machine.gpuDisplayName : null,
        ),
      // GraphQL exposes no creation time (`lastStatusChange` is a human string).
      createdAt: null,
      hasRuntime: runtime,
    };
  }
}

/**
 * `desiredStatus` is what RunPod is steering the pod towards, not what it observed: it reads RUNNING from the
 * moment of creation. Official clients call a pod ready only when it is RUNNING *and* has a `runtime` (§1.8), so
 * RUNNING without runtime is STARTING (the image is being pulled / the container started). GraphQL cannot tell
 * PROVISIONING from STARTING; STARTING is the closer fit since podFindAndDeployOnDemand returns with a machine
 * already assigned. CREATED/RESTARTING/DEAD/PAUSED are UNVERIFIED words; unknown words fall back on the runtime
 * rather than ERROR so a new status never gets a healthy pod reaped.
 */
function toStatus(desiredStatus: unknown, hasRuntime: boolean): RunPodPodStatus {
  const s = typeof desiredStatus === 'string' ? desiredStatus.toUpperCase() : '';
  switch (s) {
    case 'RUNNING':
      return hasRuntime ? 'RUNNING' : 'STARTING';
    case 'CREATED':
      return 'PROVISIONING';
    case 'RESTARTING':
      return 'STARTING';
    case 'EXITED':
    case 'PAUSED':
      return 'EXITED';
    case 'TERMINATED':
      return 'TERMINATED';
    case 'DEAD':
      return 'ERROR';
    default:
      return hasRuntime ? 'RUNNING' : 'STARTING';
  }
}

function finiteNumber(value: unknown): number | null {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

function positivePrice(value: unknown): number | null {
  const price = finiteNumber(value);
  return price !== null && price > 0 ? price : null;
}

const STOCK_STATUSES: readonly GpuStockStatus[] = ['HIGH', 'MEDIUM', 'LOW', 'NONE'];

/** "High" -> "HIGH"; anything else RunPod might send (null, "", a new word) -> null: unknown, not "none". */
function stockStatusOf(value: unknown): GpuStockStatus | null {
  if (typeof value !== 'string') return null;
  const upper = value.trim().toUpperCase();
  return (STOCK_STATUSES as readonly string[]).includes(upper) ? (upper as GpuStockStatus) : null;
}

function gpuPrice(g: WireGpuType): number | null {
  const lowest = finiteNumber(g.lowestPrice?.uninterruptablePrice);
  if (lowest !== null && lowest > 0) return lowest;
  const listed = [finiteNumber(g.securePrice), finiteNumber(g.communityPrice)].filter(
    (p): p is number => p !== null && p > 0,
  );
  return listed.length ? Math.min(...listed) : null;
}
