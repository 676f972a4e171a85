import { Rng } from './rng';

/** One job of a trace. Times in seconds from the start of the simulation. */
export interface SimJob {
  id: number;
  arrivalS: number;
  /** GPU seconds the job runs (the same on every backend: one GPU class). */
  durationS: number;
  kind: 'image' | 'video';
  gpuClass?: string;
  /** Workflow signature (for per-workflow statistics in replays). */
  signature?: string;
  /** Absolute time (s) by which it should be done; reported as missed deadlines. */
  deadlineS?: number;
  /** The checkpoint the workflow loads (router workloads, router-workload.ts): a worker without it fails the job. */
  checkpoint?: string;
  /** The deadline can be met by some backend (router workloads: the share of feasible deadlines met). */
  deadlineFeasible?: boolean;
}

export interface Workload {
  name: string;
  jobs: SimJob[];
  horizonS: number;
}

export type JobMix = 'mixed' | 'image' | 'video' | 'heavy-video' | `const:${number}`;

export const DAY_S = 86_400;

export const WORKLOAD_NAMES = [
  'steady-low',
  'steady-high',
  'diurnal',
  'bursty-mmpp',
  'bursty-gamma',
  'batch',
  'adversarial',
] as const;
/**
 * The shapes of the issue's black-box measurement (issue 10's table: 30 simulated minutes against the in-repo
 * simulated RunPod, 30 s jobs): run them with `--model fake-runpod --minutes 30 --mix const:30`. Not in the
 * default set (they are minutes long, the §6.3 set is days long).
 */
export const ISSUE_WORKLOAD_NAMES = [
  'issue-steady-low',
  'issue-steady-high',
  'issue-bursty',
  'issue-batch',
] as const;
export const ALL_WORKLOAD_NAMES = [...WORKLOAD_NAMES, ...ISSUE_WORKLOAD_NAMES] as const;
export type WorkloadName = (typeof ALL_WORKLOAD_NAMES)[number];

/**
 * §3.3 durations: images lognormal(median 6 s, sigma 0.35) on a 4090-class GPU, videos lognormal(240 s, 0.5)
 * (Wan-1.3B class), heavy video lognormal(1900 s, 0.5) (HunyuanVideo 720p); `mixed` is 90% images, 10% video.
 */
export function drawJobShape(rng: Rng, mix: JobMix): Pick<SimJob, 'durationS' | 'kind'> {
  if (mix.startsWith('const:')) return { durationS: Number(mix.slice(6)), kind: 'image' };
  const image = () => ({ durationS: Math.max(0.5, rng.lognormal(6, 0.35)), kind: 'image' as const });
  const video = (median: number) => ({
    durationS: Math.max(5, rng.lognormal(median, 0.5)),
    kind: 'video' as const,
  });
  switch (mix) {
    case 'image':
      return image();
    case 'video':
      return video(240);
    case 'heavy-video':
      return rng.next() < 0.9 ? image() : video(1900);
    case 'mixed':
    default:
      return rng.next() < 0.9 ? image() : video(240);
  }
}

export interface WorkloadOptions {
  days: number;
  /** Run length in simulated minutes instead of `days` (`--minutes`). */
  minutes?: number;
  seed: number;
  mix: JobMix;
  /** The reaper timeout the adversarial trace targets (s); gaps are a few ticks longer. */
  adversarialTimeoutS?: number;
  tickS?: number;
}

/** Poisson arrivals with a time-varying rate (per second), by thinning against `maxRate`. */
function nhpp(rng: Rng, horizonS: number, rate: (t: number) => number, maxRate: number): number[] {
  const times: number[] = [];
  for (let t = rng.exponential(1 / maxRate); t < horizonS; t += rng.exponential(1 / maxRate)) {
    if (rng.next() * maxRate < rate(t)) times.push(t);
  }
  return times;
}

function arrivalTimes(name: WorkloadName, rng: Rng, horizonS: number, opts: WorkloadOptions): number[] {
  switch (name) {
    case 'steady-low': // 1 job / 2 min: gaps comparable to a pod boot, where keep-alive decides
      return nhpp(rng, horizonS, () => 1 / 120, 1 / 120);
    case 'steady-high': // 4 jobs / min
      return nhpp(rng, horizonS, () => 4 / 60, 4 / 60);
    case 'diurnal': {
      // NHPP, mean 2 / min, A = 0.5 (peak/trough 3x), 0.7x on days 6-7 (the simulation starts on a Monday).
      const mean = 2 / 60;
      const rate = (t: number) => {
        const day = Math.floor(t / DAY_S) % 7;
        const weekend = day >= 5 ? 0.7 : 1;
        // Peak at 12:00, trough at 00:00.
        return mean * weekend * (1 + 0.5 * Math.sin((2 * Math.PI * (t - 6 * 3600)) / DAY_S));
      };
      return nhpp(rng, horizonS, rate, mean * 1.5);
    }
    case 'bursty-mmpp': {
      // MMPP-2: quiet at 0.2 / min; bursts of 50-200 jobs within 1-5 min at exponential intervals, mean 2 h.
      const times = nhpp(rng, horizonS, () => 0.2 / 60, 0.2 / 60);
      for (let t = rng.exponential(7200); t < horizonS; t += rng.exponential(7200)) {
        const count = 50 + Math.floor(rng.next() * 151);
        const spread = rng.uniform(60, 300);
        for (let i = 0; i < count; i++) times.push(Math.min(horizonS - 1e-3, t + rng.next() * spread));
      }
      return times.sort((a, b) => a - b);
    }
    case 'bursty-gamma': {
      // Gamma inter-arrivals, mean 60 s, CV 3 (BurstGPT-style burstiness).
      const cv = 3;
      const shape = 1 / (cv * cv);
      const times: number[] = [];
      for (let t = rng.gamma(shape, 60 / shape); t < horizonS; t += rng.gamma(shape, 60 / shape))
        times.push(t);
      return times;
    }
    case 'batch':
      return []; // built in buildWorkload (fixed counts per night)
    case 'issue-steady-low': // the issue's table: Poisson, 1 job / 2 min
      return nhpp(rng, horizonS, () => 1 / 120, 1 / 120);
    case 'issue-steady-high': // Poisson, 4 jobs / min
      return nhpp(rng, horizonS, () => 4 / 60, 4 / 60);
    case 'issue-bursty': {
      // 20 jobs at once every 10 min, the first burst at t = 0.
      const times: number[] = [];
      for (let t = 0; t < horizonS; t += 600) for (let i = 0; i < 20; i++) times.push(t);
      return times;
    }
    case 'issue-batch': // 100 jobs at once at t = 0
      return new Array<number>(100).fill(0);
    case 'adversarial': {
      // Every gap a little longer than the reaper timeout: the ski-rental worst case for a timeout policy.
      const gap = (opts.adversarialTimeoutS ?? 300) + 3 * (opts.tickS ?? 5);
      const times: number[] = [];
      for (let t = 10; t < horizonS; t += gap) times.push(t);
      return times;
    }
  }
}

/** The simulated run length in seconds: `minutes` when given, else `days`. */
export function workloadHorizonS(opts: Pick<WorkloadOptions, 'days' | 'minutes'>): number {
  return opts.minutes !== undefined ? opts.minutes * 60 : opts.days * DAY_S;
}

/** A seeded synthetic workload (§6.3). The same (name, days, seed, mix) always gives the same trace. */
export function buildWorkload(name: WorkloadName, opts: WorkloadOptions): Workload {
  const horizonS = workloadHorizonS(opts);
  const rng = Rng.stream(opts.seed, `trace:${name}`);
  const shapes = Rng.stream(opts.seed, `shapes:${name}`);
  const jobs: SimJob[] = [];
  if (name === 'batch') {
    // Nightly at 02:00: 500 images and 50 videos, due within the hour.
    for (let day = 0; day < horizonS / DAY_S; day++) {
      const t0 = day * DAY_S + 2 * 3600;
      for (let i = 0; i < 550; i++) {
        const shape =
          opts.mix.startsWith('const:') || i < 500
            ? drawJobShape(shapes, opts.mix === 'mixed' ? 'image' : opts.mix)
            : drawJobShape(shapes, 'video');
        jobs.push({ id: jobs.length, arrivalS: t0 + i * 1e-3, ...shape, deadlineS: t0 + 3600 });
      }
    }
  } else if (name === 'adversarial') {
    for (const arrivalS of arrivalTimes(name, rng, horizonS, opts)) {
      jobs.push({ id: jobs.length, arrivalS, durationS: 1, kind: 'image' });
    }
  } else {
    for (const arrivalS of arrivalTimes(name, rng, horizonS, opts)) {
      jobs.push({ id: jobs.length, arrivalS, ...drawJobShape(shapes, opts.mix) });
    }
  }
  return { name, jobs, horizonS };
}
