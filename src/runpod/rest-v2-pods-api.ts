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
import { describeBody, requestErrorFrom, type RunPodHttp, type RunPodHttpResponse } from './runpod-http';
import {
  GpuCapacityError,
  RunPodInsufficientBalanceError,
  RunPodRequestError,
  isCapacityMessage,
} from './runpod.errors';

export interface RestV2PodsApiOptions {
  /** e.g. `https://api.runpod.io/v2` (the OpenAPI server is `https://api.runpod.io`, paths start `/v2`). */
  baseUrl: string;
  http: RunPodHttp;
}

const POD_STATUSES: readonly RunPodPodStatus[] = [
  'PROVISIONING',
  'STARTING',
  'RUNNING',
  'EXITED',
  'ERROR',
  'TERMINATED',
];

/** The subset of REST v2 `Pod` we read. Everything is optional here: we validate as we map. */
interface WirePod {
  id?: unknown;
  name?: unknown;
  status?: unknown;
  cost?: unknown;
  gpu?: { id?: unknown } | null;
  createdAt?: unknown;
  runtime?: unknown;
}

interface WireGpuType {
  id?: unknown;
  name?: unknown;
  memory?: unknown;
  secure?: unknown;
  community?: unknown;
  price?: { secure?: unknown; community?: unknown } | null;
  availability?: unknown;
}

/**
 * `PodsApi` over RunPod REST v2 (`reference/runpod-rest-v2.openapi.json`): `POST/GET /pods`, `GET/DELETE /pods/{id}`,
 * `GET /catalog/gpus`. Errors are RFC 9457 problem+json `{title,status,detail,errors?}`.
 */
export class RestV2PodsApi implements PodsApi {
  readonly kind = 'rest' as const;
  private readonly baseUrl: string;
  private readonly http: RunPodHttp;

  constructor(options: RestV2PodsApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.http = options.http;
  }

  /**
   * `POST /pods`. 201 -> the pod (status PROVISIONING). 400 whose `detail` is a capacity message ->
   * `GpuCapacityError` (v2 has no machine-readable capacity code). 402 -> `RunPodInsufficientBalanceError`.
   * Other 4xx (400 rule violation, 404 unknown template, 422 schema) -> `RunPodRequestError`.
   * Not retried on timeouts/500/502/504 (see `RunPodHttpRequest.idempotent`).
   */
  async create(spec: CreatePodSpec): Promise<RunPodPod> {
    // CreatePodRequest has `unevaluatedProperties: false`: send only fields the schema defines. There is no
    // `networkVolumeId` in v2 (that was v1): a network volume is `mounts.network[{volumeId, path}]` (path required,
    // at most one). `templateId`: "explicit body fields override the template's, except env, merged per key".
    const body: Record<string, unknown> = {
      name: spec.name,
      image: spec.imageName,
      gpu: { id: spec.gpuTypeId, count: 1 },
      cloud: spec.cloudType,
      ports: spec.ports,
      env: { ...spec.env },
      disk: spec.containerDiskInGb,
    };
    if (spec.networkVolume) {
      body.mounts = { network: [{ volumeId: spec.networkVolume.id, path: spec.networkVolume.mountPath }] };
    }
    if (spec.dataCenterIds?.length) body.dataCenterIds = [...spec.dataCenterIds];
    if (spec.templateId) body.templateId = spec.templateId;
    const res = await this.http.request({
      method: 'POST',
      url: `${this.baseUrl}/pods`,
      body,
      idempotent: false,
    });
    if (res.status === 200 || res.status === 201) return this.toPod(res.body, `create pod ${spec.name}`);

    const detail = describeBody(res.body);
    if (isCapacityMessage(detail)) {
      throw new GpuCapacityError(
        `No RunPod capacity for ${spec.gpuTypeId} (${spec.cloudType}): ${detail}`,
        spec.gpuTypeId,
        res.status,
      );
    }
    if (res.status === 402) {
      const err = requestErrorFrom(`create pod ${spec.name}`, res);
      throw new RunPodInsufficientBalanceError(err.message, err.status, err.detail, err.errors);
    }
    throw this.unexpected(`create pod ${spec.name}`, res);
  }

  /** `GET /pods/{id}`. 404 -> null. A pod RunPod reports as TERMINATED is returned as such. */
  async get(podId: string): Promise<RunPodPod | null> {
    const res = await this.http.request({ method: 'GET', url: this.podUrl(podId) });
    if (res.status === 404) return null;
    if (res.status === 200) return this.toPod(res.body, `get pod ${podId}`);
    throw this.unexpected(`get pod ${podId}`, res);
  }

  /**
   * `GET /pods`, filtered here by name prefix: the v2 list has no name filter (its only query parameter is
   * `includeClusterPods`). Cluster member pods are excluded, as RunPod does by default: we never create them.
   */
  async listByNamePrefix(prefix: string): Promise<RunPodPod[]> {
    const res = await this.http.request({ method: 'GET', url: `${this.baseUrl}/pods` });
    if (res.status !== 200) throw this.unexpected('list pods', res);
    const pods = extractList(res.body, 'pods');
    if (!pods) throw new RunPodRequestError('list pods: RunPod answered without a `pods` list', res.status);
    return pods
      .filter(
        (p) => typeof (p as WirePod)?.name === 'string' && ((p as WirePod).name as string).startsWith(prefix),
      )
      .map((p) => this.toPod(p, 'list pods'));
  }

  /** `DELETE /pods/{id}`. 204/200 = done; 404 = already gone (done). 409 (cluster pod) -> `RunPodRequestError`. */
  async terminate(podId: string): Promise<void> {
    const res = await this.http.request({ method: 'DELETE', url: this.podUrl(podId) });
    if (res.status === 204 || res.status === 200 || res.status === 202 || res.status === 404) return;
    throw this.unexpected(`terminate pod ${podId}`, res);
  }

  /**
   * `GET /catalog/gpus`. `pricePerHour` is the lower of `price.secure` / `price.community` among the clouds that
   * offer the type (list price for one GPU; a pod's billed rate is its own `cost`). Zero prices count as unknown.
   */
  async listGpuTypes(options: ListGpuTypesOptions = {}): Promise<GpuTypeInfo[]> {
    const withStock = options.withStockIn !== undefined;
    // V2OAS: availability comes only with include=AVAILABILITY, which requires product (400 either way alone);
    // count defaults to 1 and cloud to SECURE, so both are said.
    const query = withStock
      ? `?include=AVAILABILITY&product=POD&count=1&cloud=${options.withStockIn}`
      : '';
    const res = await this.http.request({ method: 'GET', url: `${this.baseUrl}/catalog/gpus${query}` });
    if (res.status !== 200) throw this.unexpected('list GPU types', res);
    const gpus = extractList(res.body, 'gpus');
    if (!gpus)
      throw new RunPodRequestError('list GPU types: RunPod answered without a `gpus` list', res.status);
    return gpus
      .map((g) => g as WireGpuType)
      .filter((g) => typeof g?.id === 'string' && g.id !== '')
      .map((g) => ({
        id: g.id as string,
        displayName: typeof g.name === 'string' ? g.name : (g.id as string),
        memoryInGb: finiteNumber(g.memory),
        pricePerHour: lowestOnDemandPrice(g),
        pricePerHourByCloud: {
          SECURE: positive(finiteNumber(g.price?.secure)),
          COMMUNITY: positive(finiteNumber(g.price?.community)),
        },
        ...(withStock ? { stockStatus: availabilityOf(g.availability) } : {}),
      }));
  }

  /** `GET /network-volumes/{id}` (V2OAS getNetworkVolume: `{id, name, size, dataCenter, type}`). 404 -> null. */
  async getNetworkVolume(volumeId: string): Promise<RunPodNetworkVolume | null> {
    const what = `get network volume ${volumeId}`;
    const res = await this.http.request({
      method: 'GET',
      url: `${this.baseUrl}/network-volumes/${encodeURIComponent(volumeId)}`,
    });
    if (res.status === 404) return null;
    if (res.status !== 200) throw this.unexpected(what, res);
    const v = (res.body ?? {}) as { id?: unknown; name?: unknown; dataCenter?: unknown };
    if (typeof v.id !== 'string' || v.id === '') {
      throw new RunPodRequestError(`${what}: RunPod answered without a volume id`, res.status);
    }
    return {
      id: v.id,
      name: typeof v.name === 'string' ? v.name : '',
      dataCenterId: typeof v.dataCenter === 'string' && v.dataCenter !== '' ? v.dataCenter : null,
    };
  }

  private podUrl(podId: string): string {
    return `${this.baseUrl}/pods/${encodeURIComponent(podId)}`;
  }

  private unexpected(what: string, res: RunPodHttpResponse): RunPodRequestError {
    return requestErrorFrom(what, res);
  }

  private toPod(body: unknown, what: string): RunPodPod {
    const p = (body ?? {}) as WirePod;
    if (typeof p.id !== 'string' || p.id === '') {
      throw new RunPodRequestError(`${what}: RunPod answered without a pod id`);
    }
    return {
      id: p.id,
      name: typeof p.name === 'string' ? p.name : '',
      status: toStatus(p.status, hasRuntime(p.runtime)),
      costPerHour: finiteNumber(p.cost) ?? 0,
      gpuTypeId: typeof p.gpu?.id === 'string' ? p.gpu.id : null,
      createdAt: toDate(p.createdAt),
      hasRuntime: hasRuntime(p.runtime),
    };
  }
}

/**
 * The schema says `runtime` is "Null when the pod is not RUNNING", yet the spec's own createPod example returns
 * `"runtime": {}` for a PROVISIONING pod. So an empty object counts as no runtime.
 */
function hasRuntime(runtime: unknown): boolean {
  return !!runtime && typeof runtime === 'object' && Object.keys(runtime).length > 0;
}

/**
 * `PodStatus` is an enum today; an unknown future value is mapped by runtime (RUNNING with one, else STARTING)
 * rather than ERROR, so a new status word never gets a healthy pod reaped. Boot timeouts still catch a stuck pod.
 */
function toStatus(status: unknown, runtime: boolean): RunPodPodStatus {
  const s = typeof status === 'string' ? status.toUpperCase() : '';
  if ((POD_STATUSES as readonly string[]).includes(s)) return s as RunPodPodStatus;
  return runtime ? 'RUNNING' : 'STARTING';
}

function finiteNumber(value: unknown): number | null {
  // REST v1 examples show prices as strings ("0.74"); accept both to be tolerant.
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : null;
}

function toDate(value: unknown): Date | null {
  if (typeof value !== 'string' || value === '') return null;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? null : d;
}

function extractList(body: unknown, key: string): unknown[] | null {
  if (Array.isArray(body)) return body; // REST v1 answered bare arrays; harmless to accept.
  const list = (body as Record<string, unknown> | null)?.[key];
  return Array.isArray(list) ? list : null;
}

const AVAILABILITY_LEVELS: readonly GpuStockStatus[] = ['HIGH', 'MEDIUM', 'LOW', 'NONE'];

/** V2OAS `AvailabilityLevel`; a missing or unknown value is "RunPod did not say" (null), not NONE. */
function availabilityOf(value: unknown): GpuStockStatus | null {
  return typeof value === 'string' && (AVAILABILITY_LEVELS as readonly string[]).includes(value)
    ? (value as GpuStockStatus)
    : null;
}

function lowestOnDemandPrice(g: WireGpuType): number | null {
  const secure = positive(finiteNumber(g.price?.secure));
  const community = positive(finiteNumber(g.price?.community));
  const offered = [g.secure !== false ? secure : null, g.community !== false ? community : null].filter(
    (p): p is number => p !== null,
  );
  const candidates = offered.length ? offered : [secure, community].filter((p): p is number => p !== null);
  return candidates.length ? Math.min(...candidates) : null;
}

const positive = (n: number | null): number | null => (n !== null && n > 0 ? n : null);
