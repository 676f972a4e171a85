/**
 * The fake's GPU catalog. Ids and display names/VRAM are the exact table of reference/runpod.md §1.6
 * (RunPod docs `references/gpu-types.mdx`). Prices are PLAUSIBLE, not RunPod's: the docs publish no per-hour
 * table (§5), so they are loosely based on the 3rd-party figures quoted in §5 (UNVERIFIED, indicative only).
 * Serverless pool membership and per-second flex prices are from §1.6 / §5.
 */
export interface GpuTypeSpec {
  id: string;
  displayName: string;
  memoryInGb: number;
  manufacturer: 'NVIDIA' | 'AMD' | 'UNKNOWN';
  /** On-demand USD/h for ONE GPU on secure cloud. */
  securePrice: number;
  /** On-demand USD/h for ONE GPU on community cloud. */
  communityPrice: number;
  secureCloud: boolean;
  communityCloud: boolean;
  /** Largest GPU count on one pod (per cloud; the fake uses one number for both). */
  maxGpuCount: number;
  /** Serverless pool id (§1.6), or null when the GPU is in no pool. */
  pool: string | null;
  cudaCores?: number;
}

/** Serverless flex price per second, per pool (§5 table). */
export const SERVERLESS_POOL_PRICE_PER_SECOND: Record<string, number> = {
  AMPERE_16: 0.00016,
  AMPERE_24: 0.00019,
  ADA_24: 0.00031,
  AMPERE_48: 0.00034,
  ADA_48_PRO: 0.00053,
  AMPERE_80: 0.00076,
  ADA_80_PRO: 0.00116,
  HOPPER_141: 0.00155,
};

type Row = [id: string, displayName: string, memoryInGb: number, secure: number, community: number, pool: string | null];

const ROWS: Row[] = [
  ['AMD Instinct MI300X OAM', 'MI300X', 192, 2.49, 2.19, null],
  ['NVIDIA A100 80GB PCIe', 'A100 PCIe', 80, 1.39, 1.19, 'AMPERE_80'],
  ['NVIDIA A100-SXM4-80GB', 'A100 SXM', 80, 1.59, 1.39, 'AMPERE_80'],
  ['NVIDIA A30', 'A30', 24, 0.44, 0.29, null],
  ['NVIDIA A40', 'A40', 48, 0.44, 0.35, 'AMPERE_48'],
  ['NVIDIA B200', 'B200', 180, 6.79, 5.98, null],
  ['NVIDIA B300 SXM6 AC', 'B300', 288, 8.99, 7.99, null],
  ['NVIDIA GeForce RTX 3070', 'RTX 3070', 8, 0.16, 0.13, null],
  ['NVIDIA GeForce RTX 3080', 'RTX 3080', 10, 0.19, 0.17, null],
  ['NVIDIA GeForce RTX 3080 Ti', 'RTX 3080 Ti', 12, 0.21, 0.18, null],
  ['NVIDIA GeForce RTX 3090', 'RTX 3090', 24, 0.34, 0.22, 'AMPERE_24'],
  ['NVIDIA GeForce RTX 3090 Ti', 'RTX 3090 Ti', 24, 0.37, 0.27, null],
  ['NVIDIA GeForce RTX 4070 Ti', 'RTX 4070 Ti', 12, 0.29, 0.23, null],
  ['NVIDIA GeForce RTX 4080', 'RTX 4080', 16, 0.39, 0.29, null],
  ['NVIDIA GeForce RTX 4080 SUPER', 'RTX 4080 SUPER', 16, 0.42, 0.32, null],
  ['NVIDIA GeForce RTX 4090', 'RTX 4090', 24, 0.69, 0.34, 'ADA_24'],
  ['NVIDIA GeForce RTX 5080', 'RTX 5080', 16, 0.59, 0.45, null],
  ['NVIDIA GeForce RTX 5090', 'RTX 5090', 32, 0.94, 0.69, null],
  ['NVIDIA H100 80GB HBM3', 'H100 SXM', 80, 3.29, 2.69, 'ADA_80_PRO'],
  ['NVIDIA H100 NVL', 'H100 NVL', 94, 3.19, 2.59, null],
  ['NVIDIA H100 PCIe', 'H100 PCIe', 80, 2.89, 1.99, 'ADA_80_PRO'],
  ['NVIDIA H200', 'H200 SXM', 141, 4.59, 3.99, 'HOPPER_141'],
  ['NVIDIA H200 NVL', 'NVIDIA H200 NVL', 143, 4.39, 3.79, null],
  ['NVIDIA L4', 'L4', 24, 0.48, 0.39, 'AMPERE_24'],
  ['NVIDIA L40', 'L40', 48, 0.99, 0.69, 'ADA_48_PRO'],
  ['NVIDIA L40S', 'L40S', 48, 1.03, 0.79, 'ADA_48_PRO'],
  ['NVIDIA RTX 2000 Ada Generation', 'RTX 2000 Ada', 16, 0.28, 0.23, 'AMPERE_16'],
  ['NVIDIA RTX 4000 Ada Generation', 'RTX 4000 Ada', 20, 0.38, 0.26, 'AMPERE_16'],
  ['NVIDIA RTX 4000 SFF Ada Generation', 'RTX 4000 Ada SFF', 20, 0.38, 0.26, null],
  ['NVIDIA RTX 5000 Ada Generation', 'RTX 5000 Ada', 32, 0.77, 0.61, null],
  ['NVIDIA RTX 6000 Ada Generation', 'RTX 6000 Ada', 48, 0.88, 0.74, 'ADA_48_PRO'],
  ['NVIDIA RTX A2000', 'RTX A2000', 6, 0.19, 0.14, null],
  ['NVIDIA RTX A4000', 'RTX A4000', 16, 0.35, 0.24, 'AMPERE_16'],
  ['NVIDIA RTX A4500', 'RTX A4500', 20, 0.37, 0.29, 'AMPERE_16'],
  ['NVIDIA RTX A5000', 'RTX A5000', 24, 0.36, 0.27, 'AMPERE_24'],
  ['NVIDIA RTX A6000', 'RTX A6000', 48, 0.49, 0.39, 'AMPERE_48'],
  ['NVIDIA RTX PRO 4500 Blackwell', 'RTX PRO 4500', 32, 0.72, 0.58, null],
  ['NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition', 'RTX PRO 6000 MaxQ', 96, 1.79, 1.59, null],
  ['NVIDIA RTX PRO 6000 Blackwell Server Edition', 'RTX PRO 6000', 96, 1.99, 1.69, null],
  ['NVIDIA RTX PRO 6000 Blackwell Workstation Edition', 'RTX PRO 6000 WK', 96, 1.89, 1.69, null],
  ['NVIDIA RTX PRO 6000 Blackwell Server Edition MIG 1g.24gb', 'PRO 6000 MIG 24GB', 24, 0.49, 0.42, null],
  ['NVIDIA RTX PRO 6000 Blackwell Server Edition MIG 2g.48gb', 'PRO 6000 MIG 48GB', 48, 0.99, 0.84, null],
  ['Tesla V100-PCIE-16GB', 'Tesla V100', 16, 0.29, 0.19, null],
  ['Tesla V100-SXM2-16GB', 'V100 SXM2', 16, 0.29, 0.19, null],
  ['Tesla V100-SXM2-32GB', 'V100 SXM2 32GB', 32, 0.39, 0.29, null],
];

export const DEFAULT_GPU_TYPES: readonly GpuTypeSpec[] = ROWS.map(([id, displayName, memoryInGb, secure, community, pool]) => ({
  id,
  displayName,
  memoryInGb,
  manufacturer: id.startsWith('AMD') ? 'AMD' : 'NVIDIA',
  securePrice: secure,
  communityPrice: community,
  secureCloud: true,
  communityCloud: true,
  maxGpuCount: id.includes('MIG') ? 1 : 8,
  pool,
}));

/** Serverless per-hour list price for one GPU of this type (V2OAS `GpuType.price.serverless`), or undefined. */
export function serverlessPricePerHour(gpu: GpuTypeSpec): number | undefined {
  const perSecond = gpu.pool ? SERVERLESS_POOL_PRICE_PER_SECOND[gpu.pool] : undefined;
  return perSecond === undefined ? undefined : round(perSecond * 3600, 4);
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
