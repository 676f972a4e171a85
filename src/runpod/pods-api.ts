/**
 * What the rest of the service may know about RunPod on-demand pods. Two adapters implement it: REST v2
 * (default) and the deprecated GraphQL API. Nothing outside `runpod/` sees a RunPod wire format.
 *
 * Error contract (every method): `RunPodAuthError` for 401/403, `RunPodRateLimitError` when 429 persists
 * after retries, `RunPodUnavailableError` for network errors / timeouts / 5xx that persist after retries,
 * `RunPodRequestError` for any other rejected request. Messages never contain the API key.
 */
export const PODS_API = Symbol('PODS_API');

/** REST v2 `PodStatus`. GraphQL's `desiredStatus` is mapped onto it (RUNNING/EXITED/TERMINATED). */
export type RunPodPodStatus = 'PROVISIONING' | 'STARTING' | 'RUNNING' | 'EXITED' | 'ERROR' | 'TERMINATED';

export type RunPodCloudType = 'SECURE' | 'COMMUNITY';

export interface CreatePodSpec {
  /** Unique name carrying CLOUD_POD_NAME_PREFIX, so the sweeper can find what we own. */
  name: string;
  imageName: string;
  /** Exact RunPod GPU type id, e.g. "NVIDIA GeForce RTX 3090". */
  gpuTypeId: string;
  cloudType: RunPodCloudType;
  /** e.g. ["8188/http"] */
  ports: string[];
  containerDiskInGb: number;
  /** Extra environment variables. Values may be secrets: adapters send them and never put them in messages. */
  env: Record<string, string>;
  /** A network volume to mount (it pins the pod to the volume's data center). */
  networkVolume?: { id: string; mountPath: string };
  /** Preferred data centers; empty or absent = RunPod chooses. GraphQL takes at most one. */
  dataCenterIds?: string[];
  /** A RunPod pod template applied at create; explicit fields (image, env per key) win over it. */
  templateId?: string;
}

/** A network volume as RunPod reports it. */
export interface RunPodNetworkVolume {
  id: string;
  name: string;
  /** The data center the volume lives in (REST v2 `dataCenter`, GraphQL `dataCenterId`); null when not said. */
  dataCenterId: string | null;
}

export interface RunPodPod {
  id: string;
  name: string;
  status: RunPodPodStatus;
  /** USD per hour as RunPod reports it (REST v2 `cost`, GraphQL `costPerHr`). */
  costPerHour: number;
  gpuTypeId: string | null;
  /** When RunPod created the pod (REST v2 `createdAt`); null when the API does not say (GraphQL). */
  createdAt: Date | null;
  /** True once RunPod reports a `runtime` (null while the container is starting). Not the same as ComfyUI answering. */
  hasRuntime: boolean;
}

export interface GpuTypeInfo {
  id: string;
  displayName: string;
  memoryInGb: number | null;
  /** Lowest on-demand USD/h RunPod quotes for one GPU, when it says. */
  pricePerHour: number | null;
  /** On-demand USD/h for one GPU in each cloud, when RunPod says (a pod is billed its own cloud's price). */
  pricePerHourByCloud: { SECURE: number | null; COMMUNITY: number | null };
  /**
   * RunPod's stock level for one GPU of this type in the asked cloud; present only when `listGpuTypes` was asked
   * `withStockIn`. null when RunPod did not say. REST v2 `availability` (HIGH/MEDIUM/LOW/NONE) and GraphQL
   * `lowestPrice.stockStatus` (High/Medium/Low/None) both map here. A listing is not a capacity promise: a
   * create can still fail with no capacity (reference/runpod.md §1.9).
   */
  stockStatus?: GpuStockStatus | null;
}

export type GpuStockStatus = 'HIGH' | 'MEDIUM' | 'LOW' | 'NONE';

export interface ListGpuTypesOptions {
  /** Also ask for the stock level of one GPU in this cloud (an extra query parameter / field; slower). */
  withStockIn?: RunPodCloudType;
}

export interface PodsApi {
  /** Which wire API this adapter speaks, for logs and status. */
  readonly kind: 'rest' | 'graphql';

  /**
   * Creates an on-demand pod. Throws `GpuCapacityError` when RunPod has no instance of that GPU type
   * ("There are no longer any instances available..."), so the caller can try the next type.
   */
  create(spec: CreatePodSpec): Promise<RunPodPod>;

  /** Returns the pod, or null when RunPod does not know it (never created, or terminated and gone). */
  get(podId: string): Promise<RunPodPod | null>;

  /** Every pod of this account whose name starts with `prefix`. */
  listByNamePrefix(prefix: string): Promise<RunPodPod[]>;

  /** Terminates the pod. Idempotent: a pod RunPod no longer knows counts as terminated (no error). */
  terminate(podId: string): Promise<void>;

  /** GPU types with their on-demand prices (and stock levels when asked). */
  listGpuTypes(options?: ListGpuTypesOptions): Promise<GpuTypeInfo[]>;

  /** The account's network volume with this id, or null when RunPod does not know it. */
  getNetworkVolume(volumeId: string): Promise<RunPodNetworkVolume | null>;
}
