import { ROUTER_DEFAULTS, type RouterOptions } from './engine';
import type { SimModel } from './model';
import { Rng } from './rng';
import type { SimJob, Workload } from './workloads';

/**
 * The mixed image/video, mixed-model workload of issue 11 §6: jobs name a checkpoint, local workers hold different
 * model sets, some jobs carry a deadline. Pods and serverless have every model (one image and a network volume).
 * Durations (§3.3, a 4090-class GPU): SDXL images lognormal(6 s, 0.35), Flux images lognormal(20 s, 0.35),
 * Wan video lognormal(240 s, 0.5).
 */
export const ROUTER_SHAPES = ['steady', 'steady-light', 'bursty'] as const;
export type RouterShape = (typeof ROUTER_SHAPES)[number];

export interface ModelClass {
  checkpoint: string;
  kind: 'image' | 'video';
  share: number;
  medianS: number;
  sigma: number;
}

export const ROUTER_MIX: readonly ModelClass[] = [
  { checkpoint: 'sdxl', kind: 'image', share: 0.6, medianS: 6, sigma: 0.35 },
  { checkpoint: 'flux', kind: 'image', share: 0.25, medianS: 20, sigma: 0.35 },
  { checkpoint: 'wan-video', kind: 'video', share: 0.15, medianS: 240, sigma: 0.5 },
];

/** 4 local GPUs: two for images (SDXL and Flux), two for video (SDXL and Wan). */
export const ROUTER_LOCAL_MODELS: ReadonlyArray<readonly string[]> = [
  ['sdxl', 'flux'],
  ['sdxl', 'flux'],
  ['sdxl', 'wan-video'],
  ['sdxl', 'wan-video'],
];

export interface RouterWorkloadOptions {
  seed: number;
  minutes: number;
  /** Share of jobs with a deadline (default 0.3). */
  deadlineShare?: number;
}

/**
 * A deadline is feasible when a cold serverless worker that loads the model makes it: arrival + run + the
 * slowest non-tail cold start + the slowest model load. Deadlines are drawn feasible: slack U(150, 600) s beyond
 * the run (a model-aware router must meet all of them, bar the 1% cold-start tail).
 */
export function deadlineFeasible(
  job: SimJob,
  model: SimModel,
  router: RouterOptions = ROUTER_DEFAULTS,
): boolean {
  if (job.deadlineS === undefined) return false;
  return job.deadlineS - job.arrivalS >= job.durationS + model.coldMissMaxS + router.modelLoadMaxS;
}

function arrivals(shape: RouterShape, rng: Rng, horizonS: number): number[] {
  const poisson = (perMin: number) => {
    const times: number[] = [];
    for (let t = rng.exponential(60 / perMin); t < horizonS; t += rng.exponential(60 / perMin)) times.push(t);
    return times;
  };
  switch (shape) {
    case 'steady': // 4 jobs / min: 83% of the 4 local GPUs before model loads, video 135% of its 2 GPUs
      return poisson(4);
    case 'steady-light': // 2 jobs / min: video 68% of its 2 GPUs
      return poisson(2);
    case 'bursty': {
      // 1 job / min, and a burst of 20-60 jobs within 2 min every 30 min on average.
      const times = poisson(1);
      for (let t = rng.exponential(1800); t < horizonS; t += rng.exponential(1800)) {
        const count = 20 + Math.floor(rng.next() * 41);
        for (let i = 0; i < count; i++) times.push(Math.min(horizonS - 1e-3, t + rng.next() * 120));
      }
      return times.sort((a, b) => a - b);
    }
  }
}

/** The same (shape, seed, minutes) always gives the same trace; both routers run on it. */
export function buildRouterWorkload(
  shape: RouterShape,
  opts: RouterWorkloadOptions,
  model: SimModel,
): Workload {
  const horizonS = opts.minutes * 60;
  const rng = Rng.stream(opts.seed, `router-trace:${shape}`);
  const shapes = Rng.stream(opts.seed, `router-shapes:${shape}`);
  const deadlineShare = opts.deadlineShare ?? 0.3;
  const jobs: SimJob[] = arrivals(shape, rng, horizonS).map((arrivalS, id) => {
    let u = shapes.next();
    const cls = ROUTER_MIX.find((c) => (u -= c.share) < 0) ?? ROUTER_MIX[ROUTER_MIX.length - 1];
    const durationS = Math.max(0.5, shapes.lognormal(cls.medianS, cls.sigma));
    const withDeadline = shapes.next() < deadlineShare;
    const slackS = shapes.uniform(150, 600);
    const job: SimJob = {
      id,
      arrivalS,
      durationS,
      kind: cls.kind,
      signature: cls.checkpoint,
      checkpoint: cls.checkpoint,
      ...(withDeadline ? { deadlineS: arrivalS + durationS + slackS } : {}),
    };
    if (withDeadline) job.deadlineFeasible = deadlineFeasible(job, model);
    return job;
  });
  return { name: `router-${shape}`, jobs, horizonS };
}
