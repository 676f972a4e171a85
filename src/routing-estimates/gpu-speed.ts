/**
 * Relative diffusion throughput of a worker class, RTX 4090 = 1 (higher = faster), found by GPU name in the
 * class string (`pod:NVIDIA A100 80GB PCIe`, `local:studio-1 (NVIDIA GeForce RTX 3090)`).
 *
 * ASSUMPTIONS, not measurements: reference/autoscaling-theory.md §3.3 has no clean cross-GPU table for one
 * workload ("measure it on the local GPUs and scale by a per-GPU speed factor"); these ratios are rough fp16
 * throughput ratios for SDXL/FLUX-class UNet/DiT sampling. They only shape the DEFAULT for a (workflow, class)
 * pair never timed, and the transfer of one class's timings to another; observed timings replace them.
 * Unknown classes count as 4090-class (§6.3 states its defaults for a 4090-class GPU).
 */
const GPU_SPEEDS: ReadonlyArray<readonly [RegExp, number]> = [
  [/\bh200\b/i, 2.2],
  [/\bh100\b/i, 2.0],
  [/\ba100\b/i, 1.4],
  [/\bl40s\b/i, 1.1],
  [/\bl40\b/i, 0.9],
  [/\b5090\b/i, 1.3],
  [/6000 ada|rtx pro 6000/i, 1.0],
  [/\b4090\b/i, 1.0],
  [/\b4080\b/i, 0.75],
  [/\ba6000\b/i, 0.7],
  [/\b3090\b/i, 0.6],
  [/\ba40\b/i, 0.6],
  [/\ba5000\b/i, 0.5],
  [/\b3080\b/i, 0.5],
  [/\ba10g?\b/i, 0.45],
  [/\bl4\b/i, 0.35],
  [/\bt4\b/i, 0.15],
];

export const DEFAULT_GPU_SPEED = 1;

/** The class's speed relative to an RTX 4090 (1 when the GPU is not recognised). */
export function gpuSpeedFactor(workerClass: string): number {
  const name = workerClass.slice(0, 512);
  for (const [pattern, speed] of GPU_SPEEDS) if (pattern.test(name)) return speed;
  return DEFAULT_GPU_SPEED;
}
