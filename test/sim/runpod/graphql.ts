import { buildSchema, graphql, GraphQLError, type GraphQLSchema } from 'graphql';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { type GpuTypeSpec } from './catalog';
import { type Faults } from './faults';
import { parseJson, readBody, sendJson } from './http-util';
import { type CreatePodInput, NO_CAPACITY_MESSAGE, parsePortList, PodError, type PodRecord, type PodStore } from './state';

/**
 * The legacy GraphQL API (`POST https://api.runpod.io/graphql`), reference/runpod.md §1. A real graphql-js schema,
 * so inline literals, unquoted enums, variables, aliases, named operations and selection sets behave as on
 * RunPod, and only requested fields come back. The schema covers the fields official clients (PY, CTL, DOCS)
 * use; RunPod's real schema has more. Type names other than the input types official clients name
 * (`PodFindAndDeployOnDemandInput`, `PodRentInterruptableInput`) are ours (UNVERIFIED).
 */
export const RUNPOD_GRAPHQL_SDL = /* GraphQL */ `
  "podTerminate returns a scalar; the value is null (UNVERIFIED, reference §1.4)."
  scalar Void

  enum CloudTypeEnum { ALL SECURE COMMUNITY }
  enum PodStatus { CREATED RUNNING RESTARTING EXITED PAUSED DEAD TERMINATED }

  input EnvironmentVariableInput { key: String! value: String }

  input PodFindAndDeployOnDemandInput {
    aiApiId: String
    allowedCudaVersions: [String]
    cloudType: CloudTypeEnum
    containerDiskInGb: Int
    containerRegistryAuthId: String
    countryCode: String
    cudaVersion: String
    dataCenterId: String
    deployCost: Float
    dockerArgs: String
    env: [EnvironmentVariableInput]
    globalNetwork: Boolean
    gpuCount: Int
    gpuTypeId: String
    gpuTypeIdList: [String]
    imageName: String
    minDisk: Int
    minDownload: Int
    minMemoryInGb: Int
    minUpload: Int
    minVcpuCount: Int
    name: String
    networkVolumeId: String
    port: Int
    ports: String
    startJupyter: Boolean
    startSsh: Boolean
    stopAfter: String
    supportPublicIp: Boolean
    templateId: String
    terminateAfter: String
    volumeInGb: Int
    volumeKey: String
    volumeMountPath: String
  }

  input PodRentInterruptableInput {
    bidPerGpu: Float!
    aiApiId: String
    allowedCudaVersions: [String]
    cloudType: CloudTypeEnum
    containerDiskInGb: Int
    containerRegistryAuthId: String
    countryCode: String
    cudaVersion: String
    dataCenterId: String
    dockerArgs: String
    env: [EnvironmentVariableInput]
    globalNetwork: Boolean
    gpuCount: Int
    gpuTypeId: String
    imageName: String
    minDisk: Int
    minDownload: Int
    minMemoryInGb: Int
    minUpload: Int
    minVcpuCount: Int
    name: String
    networkVolumeId: String
    port: Int
    ports: String
    startJupyter: Boolean
    startSsh: Boolean
    supportPublicIp: Boolean
    templateId: String
    volumeInGb: Int
    volumeKey: String
    volumeMountPath: String
  }

  input PodStopInput { podId: String! incrementVersion: Boolean }
  input PodResumeInput { podId: String! gpuCount: Int allowedCudaVersions: [String] syncMachine: Boolean }
  input PodBidResumeInput { podId: String! bidPerGpu: Float! gpuCount: Int allowedCudaVersions: [String] }
  input PodTerminateInput { podId: String! }
  input PodFilter { podId: String! }
  input GpuTypeFilter { id: String ids: [String] }
  input GpuLowestPriceInput {
    allowedCudaVersions: [String]
    compliance: [String]
    countryCode: String
    dataCenterId: String
    globalNetwork: Boolean
    gpuCount: Int
    includeAiApi: Boolean
    minDisk: Int
    minDownload: Int
    minMemoryInGb: Int
    minUpload: Int
    minVcpuCount: Int
    secureCloud: Boolean
    supportPublicIp: Boolean
  }

  type PodRuntimeContainer { cpuPercent: Int memoryPercent: Int }
  type PodRuntimeGpus { id: String gpuUtilPercent: Int memoryUtilPercent: Int }
  type PodRuntimePorts { ip: String isIpPublic: Boolean privatePort: Int publicPort: Int type: String }
  type PodRuntime {
    uptimeInSeconds: Int
    ports: [PodRuntimePorts]
    gpus: [PodRuntimeGpus]
    container: PodRuntimeContainer
  }

  type PodMachineInfo {
    id: String
    podHostId: String
    gpuDisplayName: String
    gpuTypeId: String
    location: String
    dataCenterId: String
    secureCloud: Boolean
    costPerHr: Float
  }

  type Pod {
    id: String!
    name: String
    adjustedCostPerHr: Float
    containerDiskInGb: Int
    costPerHr: Float
    createdAt: String
    desiredStatus: PodStatus
    dockerArgs: String
    dockerId: String
    env: [String]
    gpuCount: Int
    imageName: String
    interruptible: Boolean
    lastStartedAt: String
    lastStatusChange: String
    locked: Boolean
    machine: PodMachineInfo
    machineId: String
    memoryInGb: Float
    networkVolumeId: String
    podType: String
    port: Int
    ports: String
    runtime: PodRuntime
    templateId: String
    uptimeSeconds: Int
    vcpuCount: Float
    version: Int
    volumeEncrypted: Boolean
    volumeInGb: Float
    volumeMountPath: String
  }

  type LowestPrice {
    gpuName: String
    gpuTypeId: String
    minimumBidPrice: Float
    uninterruptablePrice: Float
    minVcpu: Float
    minMemory: Float
    stockStatus: String
    compliance: [String]
    maxUnreservedGpuCount: Int
    availableGpuCounts: [Int]
    countryCode: String
  }

  type GpuType {
    id: String!
    displayName: String
    manufacturer: String
    memoryInGb: Int
    cudaCores: Int
    secureCloud: Boolean
    communityCloud: Boolean
    securePrice: Float
    communityPrice: Float
    oneWeekPrice: Float
    oneMonthPrice: Float
    threeMonthPrice: Float
    sixMonthPrice: Float
    oneYearPrice: Float
    communitySpotPrice: Float
    secureSpotPrice: Float
    clusterPrice: Float
    maxGpuCount: Int
    maxGpuCountCommunityCloud: Int
    maxGpuCountSecureCloud: Int
    minPodGpuCount: Int
    nodeGroupGpuSizes: [Int]
    throughput: Int
    lowestPrice(input: GpuLowestPriceInput): LowestPrice
  }

  type NetworkVolume { id: String! name: String size: Int dataCenterId: String }

  type User {
    id: String
    email: String
    pubKey: String
    clientBalance: Float
    currentSpendPerHr: Float
    spendLimit: Int
    minBalance: Float
    notifyPodsStale: Boolean
    notifyPodsGeneral: Boolean
    notifyLowBalance: Boolean
    pods: [Pod]
    networkVolumes: [NetworkVolume]
  }

  type GpuAvailability { gpuTypeId: String displayName: String stockStatus: String }
  type DataCenter { id: String name: String location: String gpuAvailability: [GpuAvailability] }
  type ServerlessGpuPool { id: String gpuTypeIds: [String] }

  type Query {
    myself: User
    "Unknown or terminated podId gives null (UNVERIFIED, reference §1.5)."
    pod(input: PodFilter): Pod
    gpuTypes(input: GpuTypeFilter): [GpuType]
    dataCenters: [DataCenter]
    serverlessGpuPools: [ServerlessGpuPool]
  }

  type Mutation {
    podFindAndDeployOnDemand(input: PodFindAndDeployOnDemandInput): Pod
    podRentInterruptable(input: PodRentInterruptableInput): Pod
    podStop(input: PodStopInput): Pod
    podResume(input: PodResumeInput): Pod
    podBidResume(input: PodBidResumeInput): Pod
    podTerminate(input: PodTerminateInput): Void
  }
`;

export interface GraphqlContext {
  store: PodStore;
  faults: Faults;
  now(): number;
  dataCenterId: string;
}

type Args<T> = { input?: T | null };
interface EnvVar {
  key: string;
  value?: string | null;
}
interface DeployInput {
  cloudType?: 'ALL' | 'SECURE' | 'COMMUNITY' | null;
  containerDiskInGb?: number | null;
  dataCenterId?: string | null;
  dockerArgs?: string | null;
  env?: Array<EnvVar | null> | null;
  gpuCount?: number | null;
  gpuTypeId?: string | null;
  imageName?: string | null;
  minMemoryInGb?: number | null;
  minVcpuCount?: number | null;
  name?: string | null;
  networkVolumeId?: string | null;
  ports?: string | null;
  templateId?: string | null;
  volumeInGb?: number | null;
  volumeMountPath?: string | null;
  bidPerGpu?: number | null;
}
interface LowestPriceInput {
  gpuCount?: number | null;
  secureCloud?: boolean | null;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export function gqlPod(store: PodStore, pod: PodRecord, now: number): Record<string, unknown> {
  const bootedAt = store.bootedAt(pod, now);
  return {
    id: pod.id,
    name: pod.name,
    adjustedCostPerHr: pod.costPerHour,
    containerDiskInGb: pod.disk,
    costPerHr: pod.costPerHour,
    createdAt: iso(pod.createdAt),
    desiredStatus: pod.desired,
    dockerArgs: pod.args,
    dockerId: null,
    // "env on output is a list of KEY=value strings" (§1.2)
    env: Object.entries(pod.env).map(([k, v]) => `${k}=${v}`),
    gpuCount: pod.gpuCount,
    imageName: pod.image,
    interruptible: pod.interruptible,
    lastStartedAt: iso(bootedAt ?? pod.lastBootedAt),
    lastStatusChange: pod.lastStatusChange,
    locked: false,
    machine: {
      id: pod.machineId,
      podHostId: pod.podHostId,
      gpuDisplayName: pod.gpuDisplayName,
      gpuTypeId: pod.gpuTypeId,
      location: pod.dataCenterId.slice(0, 2),
      dataCenterId: pod.dataCenterId,
      secureCloud: pod.cloud === 'SECURE',
      costPerHr: pod.costPerHour,
    },
    machineId: pod.machineId,
    memoryInGb: pod.memoryInGb,
    networkVolumeId: pod.networkVolume?.id ?? null,
    podType: pod.interruptible ? 'INTERRUPTABLE' : 'RESERVED',
    port: null,
    ports: pod.ports.map((p) => `${p.port}/${p.type}`).join(','),
    // runtime is null while the pod is starting (§1.8) and when stopped.
    runtime:
      bootedAt === undefined
        ? null
        : {
            uptimeInSeconds: Math.floor((now - bootedAt) / 1000),
            // HTTP ports: private 100.65.x.x address, isIpPublic false; TCP ports: public IP and a different port (§2).
            ports: pod.ports.map((p) => ({
              ip: p.type === 'http' ? pod.httpIp : pod.publicIp,
              isIpPublic: p.type === 'tcp',
              privatePort: p.port,
              publicPort: pod.publicPorts.get(p.port) ?? null,
              type: p.type,
            })),
            gpus: pod.gpuUuids.map((id) => ({ id, gpuUtilPercent: 0, memoryUtilPercent: 0 })),
            container: { cpuPercent: 0, memoryPercent: 0 },
          },
    templateId: pod.templateId,
    uptimeSeconds: bootedAt === undefined ? 0 : Math.floor((now - bootedAt) / 1000),
    vcpuCount: pod.vcpuCount,
    version: 0,
    volumeEncrypted: false,
    volumeInGb: pod.volumeInGb,
    volumeMountPath: pod.volumeMountPath,
  };
}

function gqlGpuType(ctx: GraphqlContext, gpu: GpuTypeSpec): Record<string, unknown> {
  const minBid = (p: number): number => Math.round(p * 0.5 * 1000) / 1000;
  return {
    id: gpu.id,
    displayName: gpu.displayName,
    manufacturer: gpu.manufacturer === 'NVIDIA' ? 'Nvidia' : gpu.manufacturer === 'AMD' ? 'AMD' : 'Unknown',
    memoryInGb: gpu.memoryInGb,
    cudaCores: gpu.cudaCores ?? 0,
    secureCloud: gpu.secureCloud,
    communityCloud: gpu.communityCloud,
    securePrice: gpu.securePrice,
    communityPrice: gpu.communityPrice,
    oneWeekPrice: gpu.securePrice,
    oneMonthPrice: Math.round(gpu.securePrice * 0.95 * 100) / 100,
    threeMonthPrice: Math.round(gpu.securePrice * 0.9 * 100) / 100,
    sixMonthPrice: Math.round(gpu.securePrice * 0.85 * 100) / 100,
    oneYearPrice: Math.round(gpu.securePrice * 0.8 * 100) / 100,
    communitySpotPrice: minBid(gpu.communityPrice),
    secureSpotPrice: minBid(gpu.securePrice),
    clusterPrice: null,
    maxGpuCount: gpu.maxGpuCount,
    maxGpuCountCommunityCloud: gpu.communityCloud ? gpu.maxGpuCount : 0,
    maxGpuCountSecureCloud: gpu.secureCloud ? gpu.maxGpuCount : 0,
    minPodGpuCount: 1,
    nodeGroupGpuSizes: [1, 2, 4, 8].filter((n) => n <= gpu.maxGpuCount),
    throughput: null,
    // UNVERIFIED: whether prices are per GPU or for `gpuCount` GPUs. The fake quotes one GPU (like securePrice).
    lowestPrice: (args: Args<LowestPriceInput>) => {
      const count = args.input?.gpuCount ?? 1;
      const secure = args.input?.secureCloud;
      const price = secure === true ? gpu.securePrice : secure === false ? gpu.communityPrice : Math.min(gpu.securePrice, gpu.communityPrice);
      const offered = secure === true ? gpu.secureCloud : secure === false ? gpu.communityCloud : gpu.secureCloud || gpu.communityCloud;
      const stocked = offered && ctx.faults.advertisesStock(gpu.id) && count <= gpu.maxGpuCount;
      return {
        gpuName: gpu.displayName,
        gpuTypeId: gpu.id,
        minimumBidPrice: minBid(price),
        uninterruptablePrice: price,
        minVcpu: 8 * count,
        minMemory: 31 * count,
        stockStatus: stocked ? 'High' : 'None',
        compliance: [],
        maxUnreservedGpuCount: stocked ? gpu.maxGpuCount : 0,
        availableGpuCounts: stocked ? [1, 2, 4, 8].filter((n) => n <= gpu.maxGpuCount) : [],
        countryCode: null,
      };
    },
  };
}

function deployInput(input: DeployInput | null | undefined, interruptible: boolean): CreatePodInput {
  if (!input) throw new GraphQLError('input is required');
  if (!input.gpuTypeId) throw new GraphQLError('gpuTypeId is required');
  // UNVERIFIED: whether GraphQL takes the image from a template when imageName is absent; the fake does, as REST v2.
  if (!input.imageName && !input.templateId) throw new GraphQLError('imageName is required');
  const env: Record<string, string> = {};
  for (const e of input.env ?? []) if (e) env[e.key] = e.value ?? '';
  let ports;
  try {
    ports =
      input.ports === undefined || input.ports === null
        ? undefined
        : parsePortList(
            input.ports
              .split(',')
              .map((s) => s.trim())
              .filter(Boolean),
          );
  } catch (e) {
    throw new GraphQLError((e as Error).message);
  }
  // With a network volume, volumeMountPath is where it is mounted (PY passes one path per pod; UNVERIFIED
  // beyond that); PY's default path is /runpod-volume.
  const networkVolume = input.networkVolumeId
    ? { id: input.networkVolumeId, path: input.volumeMountPath ?? '/runpod-volume' }
    : undefined;
  return {
    name: input.name ?? '',
    image: input.imageName ?? undefined,
    args: input.dockerArgs ?? undefined,
    disk: input.containerDiskInGb ?? undefined,
    ports,
    env,
    gpuTypeId: input.gpuTypeId,
    gpuCount: input.gpuCount ?? 1,
    cloud: input.cloudType ?? 'ALL',
    interruptible,
    bidPerGpu: input.bidPerGpu ?? undefined,
    volumeInGb: input.volumeInGb ?? 0,
    volumeMountPath: input.volumeMountPath ?? '/runpod-volume',
    dataCenterIds: input.dataCenterId ? [input.dataCenterId] : undefined,
    templateId: input.templateId ?? null,
    keepTemplateId: true,
    networkVolume,
    rawRequest: input,
    minMemoryInGb: input.minMemoryInGb ?? undefined,
    minVcpuCount: input.minVcpuCount ?? undefined,
    createdVia: 'graphql',
  };
}

function asGraphqlError(e: unknown): unknown {
  if (e instanceof PodError) {
    // UNVERIFIED: RunPod's wording for an unknown gpuTypeId / bad input; the capacity message is exact (§1.9).
    return new GraphQLError(e.message);
  }
  return e;
}

export function buildRunPodSchema(): GraphQLSchema {
  return buildSchema(RUNPOD_GRAPHQL_SDL);
}

export function makeRootValue(ctx: GraphqlContext): Record<string, unknown> {
  const { store } = ctx;
  const podOrThrow = (podId: string): PodRecord => {
    const pod = store.get(podId);
    // UNVERIFIED: the live message for an unknown / terminated pod id.
    if (!pod) throw new GraphQLError(`pod "${podId}" not found`);
    return pod;
  };
  const deploy = async (input: DeployInput | null | undefined, interruptible: boolean) => {
    try {
      if (interruptible && input) {
        const gpu = input.gpuTypeId ? store.gpu(input.gpuTypeId) : undefined;
        const floor = gpu ? Math.round(Math.min(gpu.securePrice, gpu.communityPrice) * 0.5 * 1000) / 1000 : 0;
        if ((input.bidPerGpu ?? 0) < floor) throw new GraphQLError(`bidPerGpu must be at least the minimum bid price ${floor}`);
      }
      const pod = await store.create(deployInput(input, interruptible));
      return gqlPod(store, pod, ctx.now());
    } catch (e) {
      throw asGraphqlError(e);
    }
  };
  return {
    myself: () => {
      const now = ctx.now();
      const pods = store.list();
      return {
        id: 'user_sim0000000000',
        email: 'sim@example.invalid',
        pubKey: '',
        clientBalance: 100,
        currentSpendPerHr: pods.filter((p) => p.desired === 'RUNNING').reduce((s, p) => s + p.costPerHour, 0),
        spendLimit: 80,
        minBalance: 0,
        notifyPodsStale: true,
        notifyPodsGeneral: true,
        notifyLowBalance: true,
        // Terminated pods vanish from myself.pods (UNVERIFIED for GraphQL but "likely", §1.7).
        pods: pods.map((p) => gqlPod(store, p, now)),
        networkVolumes: store.networkVolumes.map((v) => ({ id: v.id, name: v.name, size: v.size, dataCenterId: v.dataCenterId })),
      };
    },
    pod: (args: Args<{ podId: string }>) => {
      const pod = args.input ? store.get(args.input.podId) : undefined;
      return pod ? gqlPod(store, pod, ctx.now()) : null;
    },
    gpuTypes: (args: Args<{ id?: string | null; ids?: string[] | null }>) => {
      const id = args.input?.id;
      const ids = args.input?.ids;
      return store.gpuTypes
        .filter((g) => (id ? g.id === id : true) && (ids ? ids.includes(g.id) : true))
        .map((g) => gqlGpuType(ctx, g));
    },
    dataCenters: () => [
      {
        id: ctx.dataCenterId,
        name: ctx.dataCenterId,
        location: 'United States',
        gpuAvailability: store.gpuTypes.map((g) => ({
          gpuTypeId: g.id,
          displayName: g.displayName,
          stockStatus: ctx.faults.advertisesStock(g.id) ? 'High' : null,
        })),
      },
    ],
    serverlessGpuPools: () => {
      const pools = new Map<string, string[]>();
      for (const g of store.gpuTypes) if (g.pool) pools.set(g.pool, [...(pools.get(g.pool) ?? []), g.id]);
      return [...pools.entries()].map(([id, gpuTypeIds]) => ({ id, gpuTypeIds }));
    },
    podFindAndDeployOnDemand: (args: Args<DeployInput>) => deploy(args.input, false),
    podRentInterruptable: (args: Args<DeployInput>) => deploy(args.input, true),
    podStop: (args: Args<{ podId: string }>) => {
      const pod = podOrThrow(args.input?.podId ?? '');
      store.stop(pod);
      return gqlPod(store, pod, ctx.now());
    },
    podResume: (args: Args<{ podId: string }>) => {
      const pod = podOrThrow(args.input?.podId ?? '');
      try {
        store.start(pod);
      } catch (e) {
        throw asGraphqlError(e);
      }
      return gqlPod(store, pod, ctx.now());
    },
    podBidResume: (args: Args<{ podId: string; bidPerGpu: number }>) => {
      const pod = podOrThrow(args.input?.podId ?? '');
      try {
        store.start(pod);
      } catch (e) {
        throw asGraphqlError(e);
      }
      if (args.input) pod.costPerHour = Math.round(args.input.bidPerGpu * pod.gpuCount * 10000) / 10000;
      return gqlPod(store, pod, ctx.now());
    },
    podTerminate: async (args: Args<{ podId: string }>) => {
      await store.terminate(podOrThrow(args.input?.podId ?? ''));
      return null;
    },
  };
}

/** Handles `POST /graphql` after auth. Domain and validation errors are HTTP 200 `{"errors":[...]}` (§1.9). */
export async function handleGraphql(
  ctx: GraphqlContext,
  schema: GraphQLSchema,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  if (req.method !== 'POST') {
    sendJson(res, 405, { errors: [{ message: 'GraphQL only supports POST requests.' }] }, { Allow: 'POST' });
    return;
  }
  let body: unknown;
  try {
    body = parseJson(await readBody(req));
  } catch {
    sendJson(res, 400, { errors: [{ message: 'POST body sent invalid JSON.' }] });
    return;
  }
  const b = (body ?? {}) as { query?: unknown; variables?: unknown; operationName?: unknown };
  if (typeof b.query !== 'string') {
    // UNVERIFIED: status for a missing query. Apollo-style 400.
    sendJson(res, 400, { errors: [{ message: 'Must provide query string.' }] });
    return;
  }
  const result = await graphql({
    schema,
    source: b.query,
    rootValue: makeRootValue(ctx),
    variableValues: (b.variables ?? undefined) as Record<string, unknown> | undefined,
    operationName: typeof b.operationName === 'string' ? b.operationName : undefined,
  });
  // Parse/validation errors: UNVERIFIED status; the reference checklist says only auth is non-200, so 200.
  sendJson(res, 200, result);
}

export { NO_CAPACITY_MESSAGE };
