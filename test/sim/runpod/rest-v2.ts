import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type GpuTypeSpec, serverlessPricePerHour } from './catalog';
import { type Faults } from './faults';
import { HttpError, parseJson, readBody, sendEmpty, sendJson, sendProblem } from './http-util';
import {
  type CreatePodInput,
  type NetworkVolumeSpec,
  parsePortList,
  PodError,
  type PodPhase,
  type PodRecord,
  type PodStore,
} from './state';

/**
 * REST v2 (`https://api.runpod.io/v2`), written from reference/runpod-rest-v2.openapi.json (authoritative) and
 * reference/runpod.md §4.2. Implemented: listPods, createPod, getPod, deletePod, podAction, listGpuTypes, getGpuType,
 * getEndpoint (the fake's serverless endpoints), listNetworkVolumes, getNetworkVolume (the fake's volumes). Templates
 * are known to createPod only (FakeRunPodOptions.podTemplates). Not implemented (405/404): PATCH pods, logs, clusters,
 * the rest of serverless management (list, create, update, delete, workers, releases), template and volume
 * management, billing.
 */
export interface RestV2Context {
  store: PodStore;
  faults: Faults;
  now(): number;
  /** The fake's serverless endpoints, for getEndpoint. Without it every `/serverless/{id}` is 404. */
  serverless?: RestV2ServerlessView;
}

export interface RestV2ServerlessView {
  /** Configured worker count of an endpoint the fake serves, undefined for an unknown id. */
  workerCount(endpointId: string): number | undefined;
}

const POD_ACTIONS = ['start', 'stop', 'restart', 'terminate'] as const;
type PodActionName = (typeof POD_ACTIONS)[number];

/** V2OAS podAction: RUNNING allows stop/restart/terminate; EXITED and ERROR start/terminate; PROVISIONING/STARTING stop/terminate. */
export function actionsFor(phase: PodPhase): PodActionName[] {
  switch (phase) {
    case 'RUNNING':
      return ['stop', 'restart', 'terminate'];
    case 'EXITED':
      return ['start', 'terminate'];
    case 'PROVISIONING':
    case 'STARTING':
      return ['stop', 'terminate'];
    case 'TERMINATED':
      return [];
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** A pod as REST v2 `Pod` (validates against the OpenAPI schema). */
export function toV2Pod(store: PodStore, pod: PodRecord, now: number): Record<string, unknown> {
  const phase = store.phase(pod, now);
  const bootedAt = store.bootedAt(pod, now);
  const running = phase === 'RUNNING';
  const sshPort = pod.ports.find((p) => p.port === 22 && p.type === 'tcp');
  const sshPublic = sshPort ? pod.publicPorts.get(22) : undefined;
  return {
    id: pod.id,
    name: pod.name,
    image: pod.image,
    args: pod.args,
    disk: pod.disk,
    ports: pod.ports.map((p) => `${p.port}/${p.type}`),
    env: { ...pod.env },
    registry: null,
    status: phase,
    actions: actionsFor(phase),
    mounts: pod.networkVolume
      ? { network: [{ volumeId: pod.networkVolume.id, path: pod.networkVolume.path }] }
      : pod.volumeInGb > 0
        ? { persistent: { size: Math.max(10, pod.volumeInGb), path: pod.volumeMountPath } }
        : {},
    gpu: { id: pod.gpuTypeId, count: pod.gpuCount },
    cloud: pod.cloud,
    dataCenterId: pod.dataCenterId,
    cudaVersion: pod.cudaVersion,
    ssh: {
      proxy: { host: 'ssh.runpod.io', port: 22, username: pod.podHostId, command: `ssh ${pod.podHostId}@ssh.runpod.io` },
      direct:
        running && sshPublic !== undefined
          ? { host: pod.publicIp, port: sshPublic, username: 'root', command: `ssh root@${pod.publicIp} -p ${sshPublic}` }
          : null,
    },
    template: pod.templateId,
    // "Current cost in USD per hour (0.0 when EXITED or TERMINATED)". Billing runs during boot, so cost is non-zero then.
    cost: phase === 'EXITED' || phase === 'TERMINATED' ? 0 : pod.costPerHour,
    locked: false,
    globalNetworking: { enabled: false },
    // "Null when the pod is not RUNNING."
    runtime:
      running && bootedAt !== undefined
        ? {
            uptime: Math.floor((now - bootedAt) / 1000),
            gpus: pod.gpuUuids.map(() => ({ util: 0, memoryUtil: 0 })),
            cpu: { util: 0 },
            memory: { util: 0 },
            ports: pod.ports.map((p) => ({
              private: p.port,
              public: pod.publicPorts.get(p.port) ?? null,
              type: p.type,
              ip: p.type === 'http' ? pod.httpIp : pod.publicIp,
            })),
          }
        : null,
    createdAt: iso(pod.createdAt),
    startedAt: bootedAt !== undefined ? iso(bootedAt) : pod.lastBootedAt !== undefined ? iso(pod.lastBootedAt) : null,
  };
}

/** A network volume as REST v2 `NetworkVolume`. */
export function toV2NetworkVolume(v: NetworkVolumeSpec): Record<string, unknown> {
  return { id: v.id, name: v.name, size: v.size, dataCenter: v.dataCenterId, type: v.type };
}

/** Stock in the asked cloud (`cloud`, upstream default SECURE): none where the type is not offered at all. */
function availability(faults: Faults, gpu: GpuTypeSpec, cloud: 'SECURE' | 'COMMUNITY'): 'HIGH' | 'NONE' {
  const offered = cloud === 'SECURE' ? gpu.secureCloud : gpu.communityCloud;
  return offered && faults.advertisesStock(gpu.id) ? 'HIGH' : 'NONE';
}

export function toV2GpuType(
  faults: Faults,
  gpu: GpuTypeSpec,
  withAvailability: boolean,
  dataCenterId: string,
  cloud: 'SECURE' | 'COMMUNITY' = 'SECURE',
): Record<string, unknown> {
  const price: Record<string, number> = { secure: gpu.securePrice, community: gpu.communityPrice };
  const serverless = serverlessPricePerHour(gpu);
  if (serverless !== undefined) price.serverless = serverless;
  const out: Record<string, unknown> = {
    id: gpu.id,
    name: gpu.displayName,
    pool: gpu.pool,
    manufacturer: gpu.manufacturer,
    memory: gpu.memoryInGb,
    secure: gpu.secureCloud,
    community: gpu.communityCloud,
    price,
    maxCount: { secure: gpu.secureCloud ? gpu.maxGpuCount : 0, community: gpu.communityCloud ? gpu.maxGpuCount : 0 },
  };
  if (withAvailability) {
    const level = availability(faults, gpu, cloud);
    out.availability = level;
    // "omitted entirely when the configuration is unavailable everywhere"
    if (level !== 'NONE') out.dataCenters = [{ id: dataCenterId, name: dataCenterId, availability: level }];
    if (gpu.manufacturer === 'NVIDIA') out.cudaVersions = [{ version: '12.8', available: level !== 'NONE' }];
  }
  return out;
}

/** Fixed: the fake does not create endpoints, they exist from the start; a stable value keeps answers comparable. */
const ENDPOINT_CREATED_AT = '2026-01-01T00:00:00.000Z';

/**
 * A fake serverless endpoint as REST v2 `Endpoint` (validates against the OpenAPI schema). `workers.max` is the
 * fake's worker count; the rest are RunPod's documented defaults (reference/runpod.md §3.3: idle timeout 5 s,
 * execution timeout 600 s, active workers 0, FlashBoot on) and the pool of the fake's default price (ADA_24).
 */
export function toV2Endpoint(id: string, workerCount: number, dataCenterId: string): Record<string, unknown> {
  return {
    id,
    name: id,
    type: 'QUEUE',
    // `requestUrls` (optional) is left out: QueueBasedRequestUrls declares `format: uri`, which the
    // `.../status/{job_id}` templates of RunPod's own examples fail, so no documented-looking value validates.
    image: 'runpod/worker-comfyui:5.8.5-base',
    args: '',
    disk: 20,
    ports: [],
    env: {},
    registry: null,
    gpu: { pools: ['ADA_24'], count: 1, allowedCudaVersions: [], minCudaVersion: null },
    workers: { min: 0, max: workerCount, idleTimeout: 5 },
    // idleTimeout is only omitted for REQUEST_COUNT scaling; QUEUE_DELAY (4 s, the schema's example) keeps it.
    scaling: { type: 'QUEUE_DELAY', queueDelay: 4 },
    dataCenterIds: [dataCenterId],
    networkVolumes: [],
    timeout: 600_000,
    flashboot: 'FLASHBOOT',
    createdAt: ENDPOINT_CREATED_AT,
  };
}

// ---- request validation (hand-written subset of CreatePodRequest; messages in the style of the live 422s) -----

const CREATE_KEYS = new Set([
  'args', 'disk', 'env', 'image', 'ports', 'registry', 'name', 'cloud', 'cpu', 'dataCenterIds',
  'globalNetworking', 'gpu', 'mounts', 'startJupyter', 'startSsh', 'templateId',
]);
const GPU_KEYS = new Set(['id', 'count', 'allowedCudaVersions', 'minCudaVersion']);
const MOUNT_KEYS = new Set(['persistent', 'network']);
const NETWORK_MOUNT_KEYS = new Set(['volumeId', 'path']);

class ValidationFailure extends Error {
  constructor(readonly errors: string[]) {
    super('Request validation failed.');
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function validateCreate(body: unknown): CreatePodInput {
  const errors: string[] = [];
  if (!isObject(body)) throw new ValidationFailure(['$: value must be an object']);
  const extra = Object.keys(body).filter((k) => !CREATE_KEYS.has(k));
  if (extra.length) errors.push(`$: additional properties ${extra.map((k) => `'${k}'`).join(', ')} not allowed`);
  const missing = ['name'];
  if (body.templateId === undefined) missing.push('image');
  const absent = missing.filter((k) => body[k] === undefined);
  if (absent.length) errors.push(`$: missing properties ${absent.map((k) => `'${k}'`).join(', ')}`);
  const str = (k: string, minLength = 0): void => {
    if (body[k] !== undefined && (typeof body[k] !== 'string' || (body[k]).length < minLength)) {
      errors.push(minLength ? `$.${k}: value must be a string of length >= ${minLength}` : `$.${k}: value must be a string`);
    }
  };
  str('name', 1);
  str('image');
  str('args');
  str('templateId', 1);
  if (body.disk !== undefined && (!Number.isInteger(body.disk) || (body.disk as number) < 1)) errors.push('$.disk: value must be an integer >= 1');
  if (body.cloud !== undefined && body.cloud !== 'SECURE' && body.cloud !== 'COMMUNITY') {
    errors.push("$.cloud: value must be one of 'SECURE', 'COMMUNITY'");
  }
  if (body.env !== undefined && (!isObject(body.env) || Object.values(body.env).some((v) => typeof v !== 'string'))) {
    errors.push('$.env: value must be an object of strings');
  }
  if (body.ports !== undefined && (!Array.isArray(body.ports) || body.ports.some((p) => typeof p !== 'string'))) {
    errors.push('$.ports: value must be an array of strings');
  }
  if (body.dataCenterIds !== undefined && (!Array.isArray(body.dataCenterIds) || body.dataCenterIds.some((p) => typeof p !== 'string'))) {
    errors.push('$.dataCenterIds: value must be an array of strings');
  }
  for (const k of ['globalNetworking', 'startJupyter', 'startSsh']) {
    if (body[k] !== undefined && typeof body[k] !== 'boolean') errors.push(`$.${k}: value must be a boolean`);
  }
  if (body.gpu !== undefined) {
    const gpu = body.gpu;
    if (!isObject(gpu)) errors.push('$.gpu: value must be an object');
    else {
      const gx = Object.keys(gpu).filter((k) => !GPU_KEYS.has(k));
      if (gx.length) errors.push(`$.gpu: additional properties ${gx.map((k) => `'${k}'`).join(', ')} not allowed`);
      if (typeof gpu.id !== 'string') errors.push("$.gpu: missing properties 'id'");
      if (gpu.count !== undefined && (!Number.isInteger(gpu.count) || (gpu.count as number) < 1)) errors.push('$.gpu.count: value must be an integer >= 1');
    }
  }
  let volumeInGb: number | undefined;
  let volumeMountPath: string | undefined;
  let networkVolume: { id: string; path: string } | undefined;
  if (body.mounts !== undefined) {
    const m = body.mounts;
    if (!isObject(m)) errors.push('$.mounts: value must be an object');
    else {
      // Mounts, PersistentMount and NetworkMount all have `additionalProperties: false`.
      const mx = Object.keys(m).filter((k) => !MOUNT_KEYS.has(k));
      if (mx.length) errors.push(`$.mounts: additional properties ${mx.map((k) => `'${k}'`).join(', ')} not allowed`);
      if (m.persistent !== undefined) {
        const pm = m.persistent;
        if (!isObject(pm) || !Number.isInteger(pm.size) || (pm.size as number) < 10 || typeof pm.path !== 'string') {
          errors.push('$.mounts.persistent: expected {size: integer >= 10, path: string}');
        } else {
          volumeInGb = pm.size as number;
          volumeMountPath = pm.path;
        }
      }
      if (m.network !== undefined) {
        const nm = m.network;
        if (!Array.isArray(nm)) errors.push('$.mounts.network: value must be an array');
        else if (nm.length > 1) errors.push('$.mounts.network: array must have at most 1 items');
        else if (nm.length === 1) {
          const entry = nm[0] as unknown;
          if (!isObject(entry)) errors.push('$.mounts.network[0]: value must be an object');
          else {
            const nx = Object.keys(entry).filter((k) => !NETWORK_MOUNT_KEYS.has(k));
            if (nx.length) errors.push(`$.mounts.network[0]: additional properties ${nx.map((k) => `'${k}'`).join(', ')} not allowed`);
            const absentKeys = ['volumeId', 'path'].filter((k) => entry[k] === undefined);
            // "Missing required fields -> 422" (Mounts description).
            if (absentKeys.length) errors.push(`$.mounts.network[0]: missing properties ${absentKeys.map((k) => `'${k}'`).join(', ')}`);
            for (const k of ['volumeId', 'path']) {
              if (entry[k] !== undefined && typeof entry[k] !== 'string') errors.push(`$.mounts.network[0].${k}: value must be a string`);
            }
            if (!errors.length) networkVolume = { id: entry.volumeId as string, path: entry.path as string };
          }
        }
      }
    }
  }
  if (errors.length) throw new ValidationFailure(errors);
  // "At-most-one of persistent or network ... enforced at the handler with 400 if both are present."
  if (volumeInGb !== undefined && networkVolume) throw new HttpError(400, 'mounts: persistent and network are mutually exclusive');
  // Cross-field rules are 400s ("the body matches the contract but was rejected").
  if (body.cpu !== undefined && body.gpu !== undefined) throw new HttpError(400, 'exactly one of gpu or cpu must be set');
  if (body.cpu !== undefined) throw new HttpError(400, 'CPU pods are not supported by the RunPod simulator');
  if (body.gpu === undefined) throw new HttpError(400, 'exactly one of gpu or cpu must be set');
  // Templates: the fake's own (FakeRunPodOptions.podTemplates); any other id is "unknown or inaccessible ID -> 404".
  const gpu = body.gpu as Record<string, unknown>;
  let ports;
  try {
    ports = body.ports === undefined ? undefined : parsePortList(body.ports as string[]);
  } catch (e) {
    throw new HttpError(400, (e as Error).message);
  }
  return {
    name: body.name as string,
    image: body.image as string | undefined,
    args: body.args as string | undefined,
    disk: body.disk as number | undefined,
    ports,
    env: body.env as Record<string, string> | undefined,
    gpuTypeId: gpu.id as string,
    gpuCount: (gpu.count as number | undefined) ?? 1,
    cloud: (body.cloud as 'SECURE' | 'COMMUNITY' | undefined) ?? 'SECURE',
    volumeInGb,
    volumeMountPath,
    dataCenterIds: body.dataCenterIds as string[] | undefined,
    templateId: (body.templateId as string | undefined) ?? null,
    keepTemplateId: false, // "the created pod does not retain a link to the template (template stays null)"
    networkVolume,
    rawRequest: body,
    createdVia: 'rest',
  };
}

function podErrorToHttp(e: PodError): HttpError {
  switch (e.kind) {
    case 'capacity':
    case 'validation':
      return new HttpError(400, e.message);
    case 'unknown-gpu':
      // UNVERIFIED: the live wording for an unknown GPU id was not found; 400 per "the body matches the contract but was rejected".
      return new HttpError(400, e.message);
    case 'not-found':
      return new HttpError(404, 'pod not found');
    case 'template-not-found':
      return new HttpError(404, e.message);
    case 'conflict':
      return new HttpError(409, e.message);
  }
}

/** Handles `/v2/...`; the caller has already checked auth. */
export async function handleRestV2(ctx: RestV2Context, req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
  const method = req.method ?? 'GET';
  const path = url.pathname.replace(/\/+$/, '');
  const segs = path.split('/').slice(2).map(decodeURIComponent); // after "/v2"
  try {
    if (segs[0] === 'pods') {
      if (segs.length === 1) {
        if (method === 'GET') {
          // listPods has no name filter in the spec (only includeClusterPods), so filtering is client-side.
          const now = ctx.now();
          return sendJson(res, 200, { pods: ctx.store.list().map((p) => toV2Pod(ctx.store, p, now)) });
        }
        if (method === 'POST') {
          let input: CreatePodInput;
          try {
            input = validateCreate(parseJson(await readBody(req)));
          } catch (e) {
            if (e instanceof ValidationFailure) return sendProblem(res, 422, e.message, { errors: e.errors });
            throw e;
          }
          const pod = await ctx.store.create(input);
          return sendJson(res, 201, toV2Pod(ctx.store, pod, ctx.now()));
        }
        return methodNotAllowed(res, 'GET, POST');
      }
      const pod = ctx.store.get(segs[1]);
      if (segs.length === 2) {
        if (method !== 'GET' && method !== 'DELETE') return methodNotAllowed(res, 'GET, DELETE');
        if (!pod) return sendProblem(res, 404, 'pod not found');
        if (method === 'GET') return sendJson(res, 200, toV2Pod(ctx.store, pod, ctx.now()));
        await ctx.store.terminate(pod);
        return sendEmpty(res, 204);
      }
      if (segs.length === 3 && segs[2] === 'action') {
        if (method !== 'POST') return methodNotAllowed(res, 'POST');
        const body = parseJson(await readBody(req));
        if (!isObject(body) || body.action === undefined) return sendProblem(res, 422, 'Request validation failed.', { errors: ["$: missing properties 'action'"] });
        const extra = Object.keys(body).filter((k) => k !== 'action');
        if (extra.length) return sendProblem(res, 422, 'Request validation failed.', { errors: [`$: additional properties ${extra.map((k) => `'${k}'`).join(', ')} not allowed`] });
        const action = body.action as PodActionName;
        if (!POD_ACTIONS.includes(action)) {
          return sendProblem(res, 422, 'Request validation failed.', { errors: ["$.action: value must be one of 'start', 'stop', 'restart', 'terminate'"] });
        }
        if (!pod) return sendProblem(res, 404, 'pod not found');
        const phase = ctx.store.phase(pod);
        if (!actionsFor(phase).includes(action)) {
          return sendProblem(res, 409, `action '${action}' is not valid for a pod in status ${phase}`);
        }
        switch (action) {
          case 'terminate':
            await ctx.store.terminate(pod);
            return sendEmpty(res, 204);
          case 'stop':
            ctx.store.stop(pod);
            break;
          case 'start':
            ctx.store.start(pod);
            break;
          case 'restart':
            ctx.store.restart(pod);
            break;
        }
        return sendJson(res, 200, toV2Pod(ctx.store, pod, ctx.now()));
      }
      return sendProblem(res, 404, 'resource not found');
    }
    if (segs[0] === 'network-volumes' && segs.length <= 2) {
      // listNetworkVolumes / getNetworkVolume only; create/update/delete are not simulated.
      if (method !== 'GET') return methodNotAllowed(res, 'GET');
      if (segs.length === 1) return sendJson(res, 200, { networkVolumes: ctx.store.networkVolumes.map(toV2NetworkVolume) });
      const volume = ctx.store.networkVolume(segs[1]);
      if (!volume) return sendProblem(res, 404, 'resource not found');
      return sendJson(res, 200, toV2NetworkVolume(volume));
    }
    if (segs[0] === 'serverless' && segs.length === 2) {
      // getEndpoint only; update/delete are not simulated.
      if (method !== 'GET') return methodNotAllowed(res, 'GET');
      const workers = ctx.serverless?.workerCount(segs[1]);
      if (!ctx.serverless || workers === undefined) return sendProblem(res, 404, 'resource not found');
      return sendJson(res, 200, toV2Endpoint(segs[1], workers, 'US-KS-2'));
    }
    if (segs[0] === 'catalog' && segs[1] === 'gpus') {
      if (method !== 'GET') return methodNotAllowed(res, 'GET');
      const include = url.searchParams.get('include');
      const product = url.searchParams.get('product');
      if (include && !product) return sendProblem(res, 400, 'product is required with include=AVAILABILITY');
      if (product && !include) return sendProblem(res, 400, 'product is valid only with include=AVAILABILITY');
      if (include && include !== 'AVAILABILITY') {
        return sendProblem(res, 422, 'Request validation failed.', { errors: ["include: value must be one of 'AVAILABILITY'"] });
      }
      const withAvail = include === 'AVAILABILITY';
      const cloudParam = url.searchParams.get('cloud');
      if (cloudParam !== null && !withAvail) return sendProblem(res, 400, 'cloud is valid only with include=AVAILABILITY');
      if (cloudParam !== null && cloudParam !== 'SECURE' && cloudParam !== 'COMMUNITY') {
        return sendProblem(res, 422, 'Request validation failed.', { errors: ["cloud: value must be one of 'SECURE', 'COMMUNITY'"] });
      }
      const cloud = cloudParam ?? 'SECURE';
      const dc = 'US-KS-2';
      if (segs.length === 2) return sendJson(res, 200, { gpus: ctx.store.gpuTypes.map((g) => toV2GpuType(ctx.faults, g, withAvail, dc, cloud)) });
      const gpu = segs.length === 3 ? ctx.store.gpu(segs[2]) : undefined;
      if (!gpu) return sendProblem(res, 404, 'resource not found');
      return sendJson(res, 200, toV2GpuType(ctx.faults, gpu, withAvail, dc, cloud));
    }
    return sendProblem(res, 404, 'resource not found');
  } catch (e) {
    const err = e instanceof PodError ? podErrorToHttp(e) : e;
    if (err instanceof HttpError) return sendProblem(res, err.status, err.message);
    return sendProblem(res, 500, `internal error: ${(err as Error).message}`);
  }
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  sendProblem(res, 405, 'The requested method is not allowed for this path.', { headers: { Allow: allow } });
}
