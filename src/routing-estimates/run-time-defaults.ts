/**
 * Run times assumed for a (workflow, worker class) pair never timed, from published figures
 * (reference/autoscaling-theory.md §3.3 and the workload mix of §6.3), scaled by the workflow's size:
 * - image: median 6 s on a 4090-class GPU (§6.3: "90% images, lognormal, median 6 s on a 4090-class GPU"; FLUX.1-dev
 *   1024², 30 steps, RTX 4090: 6.2 s FP16 [R32]), taken for 1024×1024, 25 steps, batch 1;
 * - video: median 240 s (§6.3; Wan2.1 T2V-1.3B, 480p, 5 s clip, RTX 4090: "about 4 minutes" [R34]), taken for
 *   832×480, 81 frames (5 s at 16 fps), 30 steps;
 * - spread: lognormal σ 0.35 for images, 0.5 for video (§3.3's suggestion), so p90 = median × e^(1.2816 σ).
 * Time scales linearly with pixels × frames × steps × batch (sampling dominates), clamped so an odd workflow
 * cannot produce an absurd default. Model load time (30-70 s on a fresh worker, §3.3) is NOT included:
 * `MODEL_LOAD_SECONDS` is there for the router to add when the worker does not have the model loaded.
 */

export type WorkflowKind = 'image' | 'video';

/** What the defaults scale by (`workflowProfile` in src/workflows gives it). */
export interface WorkloadHint {
  kind: WorkflowKind;
  width?: number;
  height?: number;
  /** Total sampling steps; 0 or absent = the reference's. */
  steps?: number;
  frames?: number;
  batch?: number;
}

interface Reference {
  medianS: number;
  pixels: number;
  frames: number;
  steps: number;
  sigma: number;
  minScale: number;
  maxScale: number;
}

export const RUN_TIME_REFERENCES: Readonly<Record<WorkflowKind, Readonly<Reference>>> = Object.freeze({
  image: {
    medianS: 6,
    pixels: 1024 * 1024,
    frames: 1,
    steps: 25,
    sigma: 0.35,
    minScale: 0.05,
    maxScale: 100,
  },
  video: { medianS: 240, pixels: 832 * 480, frames: 81, steps: 30, sigma: 0.5, minScale: 0.02, maxScale: 50 },
});

/** One-off load of a model on a worker that does not hold it (§3.3: 55-68 s for 14B video, ~35 s for an 18 GB image model). */
export const MODEL_LOAD_SECONDS: Readonly<Record<WorkflowKind, number>> = Object.freeze({
  image: 35,
  video: 60,
});

/** z of the 90th percentile of a normal distribution. */
const Z90 = 1.2816;

/** p90 / median of the kind's lognormal. */
export const p90Ratio = (kind: WorkflowKind): number => Math.exp(Z90 * RUN_TIME_REFERENCES[kind].sigma);

export function defaultRunTime(
  hint: WorkloadHint | undefined,
  speed: number,
): { medianS: number; p90S: number } {
  const kind: WorkflowKind = hint?.kind === 'video' ? 'video' : 'image';
  const ref = RUN_TIME_REFERENCES[kind];
  const positive = (v: number | undefined, fallback: number) =>
    typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : fallback;
  const pixels =
    hint?.width !== undefined && hint.height !== undefined
      ? positive(hint.width, 1) * positive(hint.height, 1)
      : ref.pixels;
  const scale =
    (pixels / ref.pixels) *
    (kind === 'video' ? positive(hint?.frames, ref.frames) / ref.frames : 1) *
    (positive(hint?.steps, ref.steps) / ref.steps) *
    positive(hint?.batch, 1);
  const clamped = Math.min(ref.maxScale, Math.max(ref.minScale, Number.isFinite(scale) ? scale : 1));
  const medianS = (ref.medianS * clamped) / (speed > 0 && Number.isFinite(speed) ? speed : 1);
  return { medianS, p90S: medianS * p90Ratio(kind) };
}
