import { type Socket } from 'node:net';
import { type Clock } from '../../../src/common/clock';
import { type GpuTypeSpec } from './catalog';
import { type BootFaultMode, type Faults } from './faults';
import { randomDigits, randomId, randomUUID } from './http-util';

/** What the fake needs from a ComfyUI server (FakeComfyUI satisfies it). */
export interface ComfyLike {
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  readonly url: string;
}

export type ComfyFactory = (ctx: { kind: 'pod' | 'serverless'; id: string }) => ComfyLike;

/** REST v2 `PodStatus` minus ERROR (never produced by the fake). */
export type PodPhase = 'PROVISIONING' | 'STARTING' | 'RUNNING' | 'EXITED' | 'TERMINATED';
export type DesiredStatus = 'RUNNING' | 'EXITED' | 'TERMINATED';
export type CloudTier = 'SECURE' | 'COMMUNITY';

export interface PortSpec {
  port: number;
  type: 'http' | 'tcp';
}

export interface PodRecord {
  id: string;
  name: string;
  image: string;
  args: string;
  /** Container disk GB (REST `disk`, GraphQL `containerDiskInGb`). */
  disk: number;
  ports: PortSpec[];
  env: Record<string, string>;
  gpuTypeId: string;
  gpuDisplayName: string;
  gpuCount: number;
  cloud: CloudTier;
  interruptible: boolean;
  dataCenterId: string;
  cudaVersion: string;
  volumeInGb: number;
  volumeMountPath: string;
  memoryInGb: number;
  vcpuCount: number;
  machineId: string;
  podHostId: string;
  /** The template the pod says it came from: REST v2 keeps none ("template stays null"), GraphQL what was sent. */
  templateId: string | null;
  /** The network volume mounted in the pod (it pins the pod to the volume's data center). */
  networkVolume: { id: string; path: string } | null;
  /** Ground truth for tests: what the create asked for, as the API received it. */
  requested: PodCreateRequestRecord;
  /** USD/h while the pod holds its GPU (price per GPU x gpuCount). */
  costPerHour: number;
  createdAt: number;
  /** Start of the current boot (creation, start/resume, restart). Boot completes at bootStartedAt + bootMs. */
  bootStartedAt: number;
  desired: DesiredStatus;
  lastStatusChange: string;
  terminatedAt?: number;
  /** When the last completed boot finished (kept while EXITED for REST `startedAt`). */
  lastBootedAt?: number;
  /** Periods during which the pod held its GPU and was billed (open period has no `to`). */
  billing: Array<{ from: number; to?: number }>;
  bootFault?: BootFaultMode;
  comfy?: ComfyLike;
  /** The pod's ComfyUI crashed (fault) or was closed. */
  comfyDead: boolean;
  /** Public port per private port (assigned at each boot, like RunPod re-maps on reset). */
  publicPorts: Map<number, number>;
  httpIp: string;
  publicIp: string;
  gpuUuids: string[];
  /** Raw sockets piped by the proxy (websockets), destroyed when the pod stops. */
  sockets: Set<Socket>;
  createdVia: 'rest' | 'graphql';
}

/** Ground-truth view of one pod, including terminated ones. */
export interface PodLedgerEntry {
  id: string;
  name: string;
  gpuTypeId: string;
  gpuCount: number;
  cloud: CloudTier;
  status: PodPhase;
  costPerHour: number;
  createdAt: Date;
  terminatedAt: Date | null;
  createdVia: 'rest' | 'graphql';
  /** Where the pod runs, and the network volume mounted in it. */
  dataCenterId: string;
  networkVolume: { id: string; path: string } | null;
  /** The pod's environment (template env merged under the request's), as RunPod would set it. */
  env: Record<string, string>;
  disk: number;
  /** What the create asked for, as received (field names included). */
  requested: PodCreateRequestRecord;
  /** Seconds billed so far (GPU held: from creation, paused while EXITED, until termination). */
  billedSeconds(now?: number): number;
  /** costPerHour x billedSeconds / 3600. */
  billedUsd(now?: number): number;
}

/** What a create asked for (after the API's parsing), kept so tests can assert what the service sent. */
export interface PodCreateRequestRecord {
  api: 'rest' | 'graphql';
  /** The create body (REST v2) or the mutation's `input` (GraphQL), deep-copied as received. */
  body: unknown;
  env: Record<string, string>;
  disk: number | undefined;
  networkVolume: { id: string; path: string } | null;
  dataCenterIds: string[];
  templateId: string | null;
}

/** A network volume of the fake account (REST v2 `NetworkVolume`; GraphQL `myself.networkVolumes`). */
export interface NetworkVolumeSpec {
  id: string;
  name: string;
  /** GB, 10..4096 (V2OAS). */
  size: number;
  dataCenterId: string;
  type: 'STANDARD' | 'HIGH_PERFORMANCE';
}

/** A pod template the fake knows: container settings a create resolves it into (V2OAS CreatePodRequest.templateId). */
export interface PodTemplateSpec {
  id: string;
  image?: string;
  args?: string;
  disk?: number;
  ports?: string[];
  env?: Record<string, string>;
}

export class PodError extends Error {
  constructor(
    readonly kind: 'capacity' | 'validation' | 'unknown-gpu' | 'not-found' | 'conflict' | 'template-not-found',
    message: string,
  ) {
    super(message);
  }
}

/** Exact RunPod wording (§1.9, REST v2 and GraphQL). */
export const NO_CAPACITY_MESSAGE =
  'There are no longer any instances available with the requested specifications. Please refresh and try again.';

export interface CreatePodInput {
  name: string;
  /** May be absent when a template gives it. */
  image?: string;
  args?: string;
  disk?: number;
  ports?: PortSpec[];
  env?: Record<string, string>;
  gpuTypeId: string;
  gpuCount?: number;
  /** ALL = either tier; the fake picks the cheaper available one. */
  cloud?: CloudTier | 'ALL';
  interruptible?: boolean;
  /** Spot pods: the bid per GPU replaces the list price. */
  bidPerGpu?: number;
  volumeInGb?: number;
  volumeMountPath?: string;
  dataCenterIds?: string[];
  templateId?: string | null;
  /** Network volume to mount; the pod goes to the volume's data center. */
  networkVolume?: { id: string; path: string };
  /** Whether the created pod names its template (GraphQL) or not (REST v2: "template stays null"). */
  keepTemplateId?: boolean;
  /** The create body / input as received, recorded for tests. */
  rawRequest?: unknown;
  minVcpuCount?: number;
  minMemoryInGb?: number;
  createdVia: 'rest' | 'graphql';
}

export interface PodStoreOptions {
  clock: Clock;
  bootMs: number;
  provisioningMs: number;
  gpuTypes: readonly GpuTypeSpec[];
  faults: Faults;
  comfyFactory: ComfyFactory;
  dataCenterId: string;
  networkVolumes?: readonly NetworkVolumeSpec[];
  templates?: readonly PodTemplateSpec[];
}

export function parsePortList(ports: string[]): PortSpec[] {
  return ports.map((p) => {
    const m = /^\s*(\d{1,5})\/(http|tcp)\s*$/.exec(p);
    if (!m) throw new PodError('validation', `invalid port "${p}", expected "<port>/http" or "<port>/tcp"`);
    return { port: Number(m[1]), type: m[2] as 'http' | 'tcp' };
  });
}

function randomIp(prefix: string): string {
  const d = randomDigits(6);
  return `${prefix}.${Number(d.slice(0, 3)) % 254}.${(Number(d.slice(3)) % 253) + 1}`;
}

export class PodStore {
  private readonly pods = new Map<string, PodRecord>();

  constructor(private readonly o: PodStoreOptions) {}

  gpu(id: string): GpuTypeSpec | undefined {
    return this.o.gpuTypes.find((g) => g.id === id);
  }

  get gpuTypes(): readonly GpuTypeSpec[] {
    return this.o.gpuTypes;
  }

  get networkVolumes(): readonly NetworkVolumeSpec[] {
    return this.o.networkVolumes ?? [];
  }

  networkVolume(id: string): NetworkVolumeSpec | undefined {
    return this.networkVolumes.find((v) => v.id === id);
  }

  /**
   * Template and network volume, as V2OAS describes them: a template is "resolved at create time into the same
   * container settings" with "explicit body fields" winning "except env, which is merged per key with body values
   * winning"; an unknown template id is 404. A network volume must be "in the same data center as the pod", so the
   * pod goes there. UNVERIFIED: RunPod's answer for an unknown volume, or for data centers that exclude the
   * volume's: the fake refuses both as rule violations (400 on REST v2, a GraphQL error).
   */
  private resolveCreate(input: CreatePodInput): {
    image: string;
    args: string | undefined;
    disk: number | undefined;
    ports: PortSpec[] | undefined;
    env: Record<string, string>;
    dataCenterId: string | undefined;
  } {
    let template: PodTemplateSpec | undefined;
    if (input.templateId) {
      template = this.o.templates?.find((t) => t.id === input.templateId);
      if (!template) throw new PodError('template-not-found', 'template not found');
    }
    const image = input.image ?? template?.image;
    if (!image) throw new PodError('validation', 'image is required (the template names none)');
    let dataCenterId = input.dataCenterIds?.[0];
    if (input.networkVolume) {
      const volume = this.networkVolume(input.networkVolume.id);
      if (!volume) throw new PodError('validation', `network volume ${input.networkVolume.id} not found`);
      if (input.dataCenterIds?.length && !input.dataCenterIds.includes(volume.dataCenterId)) {
        throw new PodError(
          'validation',
          `network volume ${volume.id} is in data center ${volume.dataCenterId}, which is not among the requested data centers`,
        );
      }
      dataCenterId = volume.dataCenterId;
    }
    let ports = input.ports;
    if (ports === undefined && template?.ports) ports = parsePortList(template.ports);
    return {
      image,
      args: input.args ?? template?.args,
      disk: input.disk ?? template?.disk,
      ports,
      env: { ...(template?.env ?? {}), ...(input.env ?? {}) },
      dataCenterId,
    };
  }

  async create(input: CreatePodInput): Promise<PodRecord> {
    const resolved = this.resolveCreate(input);
    const gpu = this.gpu(input.gpuTypeId);
    if (!gpu) throw new PodError('unknown-gpu', `unknown gpu type id "${input.gpuTypeId}"`);
    const gpuCount = input.gpuCount ?? 1;
    if (!Number.isInteger(gpuCount) || gpuCount < 1) throw new PodError('validation', 'gpu count must be an integer >= 1');
    if (!this.o.faults.hasCapacity(gpu.id) || gpuCount > gpu.maxGpuCount) throw new PodError('capacity', NO_CAPACITY_MESSAGE);
    let cloud: CloudTier;
    if (input.cloud === 'SECURE' || input.cloud === 'COMMUNITY') cloud = input.cloud;
    else cloud = gpu.communityCloud && (!gpu.secureCloud || gpu.communityPrice <= gpu.securePrice) ? 'COMMUNITY' : 'SECURE';
    if ((cloud === 'SECURE' && !gpu.secureCloud) || (cloud === 'COMMUNITY' && !gpu.communityCloud)) {
      throw new PodError('capacity', NO_CAPACITY_MESSAGE);
    }
    const perGpu = input.bidPerGpu ?? (cloud === 'SECURE' ? gpu.securePrice : gpu.communityPrice);
    const now = this.o.clock.now();
    let id = randomId(14);
    while (this.pods.has(id)) id = randomId(14);
    const comfy = this.o.comfyFactory({ kind: 'pod', id });
    // ComfyUI starts with the pod; it is only reachable through the proxy once the pod has booted.
    await comfy.listen(0, '127.0.0.1');
    const pod: PodRecord = {
      id,
      name: input.name,
      image: resolved.image,
      args: resolved.args ?? '',
      disk: resolved.disk ?? 50,
      ports: resolved.ports ?? [],
      env: resolved.env,
      gpuTypeId: gpu.id,
      gpuDisplayName: gpu.displayName,
      gpuCount,
      cloud,
      interruptible: input.interruptible ?? false,
      dataCenterId: resolved.dataCenterId ?? this.o.dataCenterId,
      cudaVersion: '12.8',
      volumeInGb: input.volumeInGb ?? 0,
      volumeMountPath: input.volumeMountPath ?? '/workspace',
      memoryInGb: Math.max(input.minMemoryInGb ?? 0, 31 * gpuCount),
      vcpuCount: Math.max(input.minVcpuCount ?? 0, 8 * gpuCount),
      machineId: randomId(12),
      podHostId: `${id}-${randomDigits(8)}`,
      templateId: input.keepTemplateId ? (input.templateId ?? null) : null,
      networkVolume: input.networkVolume ? { ...input.networkVolume } : null,
      requested: {
        api: input.createdVia,
        body: structuredClone(input.rawRequest ?? null),
        env: { ...(input.env ?? {}) },
        disk: input.disk,
        networkVolume: input.networkVolume ? { ...input.networkVolume } : null,
        dataCenterIds: [...(input.dataCenterIds ?? [])],
        templateId: input.templateId ?? null,
      },
      costPerHour: Math.round(perGpu * gpuCount * 10000) / 10000,
      createdAt: now,
      bootStartedAt: now,
      desired: 'RUNNING',
      lastStatusChange: `Rented by User: ${new Date(now).toString()}`,
      billing: [{ from: now }],
      bootFault: this.o.faults.takeBootFault(),
      comfy,
      comfyDead: false,
      publicPorts: new Map(),
      httpIp: randomIp('100.65'),
      publicIp: randomIp('194.68'),
      gpuUuids: Array.from({ length: gpuCount }, () => `GPU-${randomUUID()}`),
      sockets: new Set(),
      createdVia: input.createdVia,
    };
    this.assignPublicPorts(pod);
    this.pods.set(id, pod);
    return pod;
  }

  private assignPublicPorts(pod: PodRecord): void {
    pod.publicPorts.clear();
    for (const p of pod.ports) pod.publicPorts.set(p.port, p.type === 'http' ? 60000 + (Number(randomDigits(4)) % 5000) : 10000 + Number(randomDigits(4)) % 30000);
  }

  /** A pod the API still knows (terminated pods vanish). */
  get(id: string): PodRecord | undefined {
    const pod = this.pods.get(id);
    return pod && pod.desired !== 'TERMINATED' ? pod : undefined;
  }

  /** Pods the API lists (not terminated), oldest first. */
  list(): PodRecord[] {
    return [...this.pods.values()].filter((p) => p.desired !== 'TERMINATED');
  }

  /** Every pod ever created, terminated ones included. */
  all(): PodRecord[] {
    return [...this.pods.values()];
  }

  phase(pod: PodRecord, now = this.o.clock.now()): PodPhase {
    if (pod.desired === 'TERMINATED') return 'TERMINATED';
    if (pod.desired === 'EXITED') return 'EXITED';
    const elapsed = now - pod.bootStartedAt;
    if (elapsed < this.o.provisioningMs) return 'PROVISIONING';
    if (pod.bootFault === 'stuck' || elapsed < this.o.bootMs) return 'STARTING';
    return 'RUNNING';
  }

  /** When the current boot completed, if it has. */
  bootedAt(pod: PodRecord, now = this.o.clock.now()): number | undefined {
    return this.phase(pod, now) === 'RUNNING' ? pod.bootStartedAt + this.o.bootMs : undefined;
  }

  /** Can the proxy reach the pod's ComfyUI right now? */
  serviceState(pod: PodRecord | undefined): 'up' | 'down' | 'hang' {
    if (!pod || this.phase(pod) !== 'RUNNING' || pod.comfyDead || !pod.comfy) return 'down';
    if (pod.bootFault === 'comfy-down') return 'down';
    if (pod.bootFault === 'comfy-hang') return 'hang';
    return 'up';
  }

  stop(pod: PodRecord): void {
    if (pod.desired === 'EXITED') return;
    const now = this.o.clock.now();
    pod.lastBootedAt = this.bootedAt(pod, now) ?? pod.lastBootedAt;
    pod.desired = 'EXITED';
    pod.lastStatusChange = `Exited by User: ${new Date(now).toString()}`;
    this.closeBilling(pod, now);
    this.dropSockets(pod);
  }

  start(pod: PodRecord): void {
    if (pod.desired === 'RUNNING') return;
    const now = this.o.clock.now();
    if (!this.o.faults.hasCapacity(pod.gpuTypeId)) throw new PodError('capacity', NO_CAPACITY_MESSAGE);
    pod.desired = 'RUNNING';
    pod.bootStartedAt = now;
    pod.lastStatusChange = `Rented by User: ${new Date(now).toString()}`;
    pod.billing.push({ from: now });
    this.assignPublicPorts(pod);
  }

  restart(pod: PodRecord): void {
    pod.bootStartedAt = this.o.clock.now();
    this.assignPublicPorts(pod);
    this.dropSockets(pod);
  }

  async terminate(pod: PodRecord): Promise<void> {
    if (pod.desired === 'TERMINATED') return;
    const now = this.o.clock.now();
    pod.desired = 'TERMINATED';
    pod.terminatedAt = now;
    pod.lastStatusChange = `Terminated by User: ${new Date(now).toString()}`;
    this.closeBilling(pod, now);
    await this.killComfy(pod);
  }

  async killComfy(pod: PodRecord): Promise<void> {
    pod.comfyDead = true;
    this.dropSockets(pod);
    const comfy = pod.comfy;
    pod.comfy = undefined;
    if (comfy) await comfy.close();
  }

  private dropSockets(pod: PodRecord): void {
    for (const s of pod.sockets) s.destroy();
    pod.sockets.clear();
  }

  private closeBilling(pod: PodRecord, now: number): void {
    const open = pod.billing[pod.billing.length - 1];
    if (open && open.to === undefined) open.to = now;
  }

  billedMs(pod: PodRecord, now = this.o.clock.now()): number {
    return pod.billing.reduce((sum, seg) => sum + Math.max(0, (seg.to ?? now) - seg.from), 0);
  }

  ledger(pod: PodRecord): PodLedgerEntry {
    return {
      id: pod.id,
      name: pod.name,
      gpuTypeId: pod.gpuTypeId,
      gpuCount: pod.gpuCount,
      cloud: pod.cloud,
      status: this.phase(pod),
      costPerHour: pod.costPerHour,
      createdAt: new Date(pod.createdAt),
      terminatedAt: pod.terminatedAt === undefined ? null : new Date(pod.terminatedAt),
      createdVia: pod.createdVia,
      dataCenterId: pod.dataCenterId,
      networkVolume: pod.networkVolume ? { ...pod.networkVolume } : null,
      env: { ...pod.env },
      disk: pod.disk,
      requested: structuredClone(pod.requested),
      billedSeconds: (now?: number) => this.billedMs(pod, now) / 1000,
      billedUsd: (now?: number) => (pod.costPerHour * this.billedMs(pod, now)) / 3_600_000,
    };
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.pods.values()].map((p) => this.killComfy(p)));
  }

  clear(): void {
    this.pods.clear();
  }
}
