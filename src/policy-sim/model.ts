import { quantile, Rng } from './rng';

/**
 * The fleet the simulator models (autoscaling-theory.md §6.2). All times in seconds, prices in USD. Defaults:
 * the service's own defaults (RTX 3090 secure pod $0.34/h as the in-repo simulated RunPod lists it,
 * RUNPOD_SERVERLESS_PRICE_PER_SECOND 0.00034, CLOUD_MAX_PODS 5, 5 s control tick, 3 attempts) and §6.2
 * for what the service does not configure (boot U(120,180) s, the cold-start mixture, failure rates).
 */
export interface SimModel {
  /** Local GPUs (one job each); they cost nothing. */
  localWorkers: number;
  maxPods: number;
  podPricePerHour: number;
  /** Pod boot: uniform in [min, max] seconds, billed (RunPod bills from creation). */
  podBootMinS: number;
  podBootMaxS: number;
  /** Probability a launched pod never becomes ready (it bills until the boot deadline reaps it). */
  podBootFailureProb: number;
  serverlessPricePerSecond: number;
  /** Active (always-on) serverless worker price per second (RunPod's discounted rate). */
  serverlessActivePricePerSecond: number;
  /** Serverless endpoint max workers (RunPod scales workers up to this; more jobs queue at RunPod). */
  serverlessMaxWorkers: number;
  /** A worker stays up this long after its last job (billed), then stops; a job in that window starts warm. */
  serverlessIdleTimeoutS: number;
  /** Cold start of a new worker: FlashBoot hit with this probability ~ lognormal(median, sigma)... */
  flashBootHitProb: number;
  flashBootMedianS: number;
  flashBootSigma: number;
  /** ...otherwise a miss ~ U(min, max), and with tailProb a long tail ~ U(tailMin, tailMax). */
  coldMissMinS: number;
  coldMissMaxS: number;
  coldTailProb: number;
  coldTailMinS: number;
  coldTailMaxS: number;
  /** Probability a serverless worker crashes during a job (infrastructure failure, retried). */
  serverlessCrashProb: number;
  /** Probability a pod's worker dies during a job (the pod stops answering and is terminated; job retried). */
  podCrashProb: number;
  /** Probability a job attempt fails with a transient error on any backend (retried; the worker stays up). */
  jobErrorProb: number;
  /** JOBS_MAX_ATTEMPTS. */
  maxAttempts: number;
  /** CLOUD_TICK_INTERVAL: the control loop (autoscale, reap, boot deadline). */
  tickS: number;
  /** CLOUD_BOOT_TIMEOUT. */
  bootTimeoutS: number;
  /** Billing granularity in seconds (RunPod: per second, rounded up). */
  billingGranularityS: number;
  /** CLOUD_DAILY_BUDGET_USD (0 = none; the benchmark's default, so cost is measured, not capped). */
  dailyBudgetUsd: number;
  /**
   * SERVERLESS_POLL_INTERVAL and SERVERLESS_POLL_MAX_INTERVAL: the service sees a serverless job's end at its
   * next `/status` poll (`serverlessNoticeS`), and until then the job holds one of its serverless slots
   * (RUNPOD_SERVERLESS_MAX_WORKERS) while RunPod's worker already idles. 0: seen at once.
   */
  serverlessPollS: number;
  serverlessPollMaxS: number;
}

export const DEFAULT_MODEL: SimModel = {
  localWorkers: 0,
  maxPods: 5,
  podPricePerHour: 0.34,
  podBootMinS: 120,
  podBootMaxS: 180,
  podBootFailureProb: 0.03,
  serverlessPricePerSecond: 0.00034,
  serverlessActivePricePerSecond: 0.00024,
  serverlessMaxWorkers: 10,
  serverlessIdleTimeoutS: 5,
  flashBootHitProb: 0.5,
  flashBootMedianS: 2,
  flashBootSigma: 0.5,
  coldMissMinS: 30,
  coldMissMaxS: 60,
  coldTailProb: 0.01,
  coldTailMinS: 80,
  coldTailMaxS: 420,
  serverlessCrashProb: 0.01,
  podCrashProb: 0.002,
  jobErrorProb: 0.005,
  maxAttempts: 3,
  tickS: 5,
  bootTimeoutS: 600,
  billingGranularityS: 1,
  dailyBudgetUsd: 0,
  serverlessPollS: 1,
  serverlessPollMaxS: 2,
};

/**
 * `--model fake-runpod`: the in-repo simulated RunPod (test/sim/runpod) the black-box numbers were measured
 * against. A pod boots in a fixed 150 s and bills $0.34/h from creation; a serverless endpoint has a fixed number of
 * workers (the fake's EndpointConfig.workers) that are always up and bill only execution time (its ledger: per
 * attempt, rounded up to the second), so no cold start, no idle timeout and delayTime 0 while a worker is free;
 * nothing fails. Cold start 0 is a FlashBoot "hit" with median 0; idle timeout 0 stops a worker the moment it has
 * no job, so only execution time is billed.
 */
export function fakeRunpodModel(serverlessWorkers = 1): SimModel {
  return {
    ...withoutFailures(DEFAULT_MODEL),
    podBootMinS: 150,
    podBootMaxS: 150,
    podPricePerHour: 0.34,
    serverlessPricePerSecond: 0.00034,
    serverlessMaxWorkers: serverlessWorkers,
    serverlessIdleTimeoutS: 0,
    flashBootHitProb: 1,
    flashBootMedianS: 0,
    flashBootSigma: 0,
    coldTailProb: 0,
  };
}

/**
 * When the service sees a serverless job end `endS` seconds after it sent it: ServerlessExecutor asks `/status`
 * at once, then after SERVERLESS_POLL_INTERVAL, doubling up to SERVERLESS_POLL_MAX_INTERVAL; the first poll at
 * or after the end sees it.
 */
export function serverlessNoticeS(
  model: Pick<SimModel, 'serverlessPollS' | 'serverlessPollMaxS'>,
  endS: number,
): number {
  const first = model.serverlessPollS;
  if (!(first > 0) || !(endS > 0)) return Math.max(0, endS);
  const max = Math.max(first, model.serverlessPollMaxS);
  let t = 0;
  let delay = first;
  while (t < endS && delay < max) {
    t += delay;
    delay = Math.min(2 * delay, max);
  }
  return t >= endS ? t : t + Math.ceil((endS - t) / max) * max;
}

export const MODEL_NAMES = ['default', 'fake-runpod'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** The same model with every failure switched off (bounds, closed-form checks). */
export function withoutFailures(model: SimModel): SimModel {
  return { ...model, podBootFailureProb: 0, serverlessCrashProb: 0, podCrashProb: 0, jobErrorProb: 0 };
}

export const podPricePerSecond = (model: SimModel): number => model.podPricePerHour / 3600;

/** Billed seconds of an instance that ran `seconds`: rounded up to the billing granularity. */
export function billedSeconds(model: SimModel, seconds: number): number {
  if (seconds <= 0) return 0;
  const g = model.billingGranularityS;
  // A hair of tolerance so float noise (149.99999999) does not bill an extra second.
  return Math.ceil(seconds / g - 1e-9) * g;
}

/** A cold start drawn from the §6.2 mixture with a given uniform source. */
export function drawColdStart(model: SimModel, rng: Rng): number {
  const u = rng.next();
  if (u < model.flashBootHitProb) return rng.lognormal(model.flashBootMedianS, model.flashBootSigma);
  if (rng.next() < model.coldTailProb) return rng.uniform(model.coldTailMinS, model.coldTailMaxS);
  return rng.uniform(model.coldMissMinS, model.coldMissMaxS);
}

/**
 * The q-quantile of the §6.2 cold-start mixture, from a fixed sample of its draws: what RoutingEstimatesService
 * learns as the p90 of its cold starts (`serverlessStartDelays`), for the router the simulator runs.
 */
export function coldStartQuantileS(model: SimModel, q: number, samples = 4001): number {
  const rng = Rng.stream(0, 'cold-start-quantile');
  return quantile(
    Array.from({ length: samples }, () => drawColdStart(model, rng)),
    q,
  );
}

/** The shortest cold start the model allows (a valid floor for the lower bound). */
export function coldStartFloorS(model: SimModel): number {
  return model.flashBootHitProb > 0 ? 0 : model.coldMissMinS;
}

/** What the k-th pod launch of a run draws (the same k-th launch under every policy). */
export interface PodLaunchDraw {
  bootS: number;
  fails: boolean;
}

export function drawPodLaunch(model: SimModel, seed: number, ordinal: number): PodLaunchDraw {
  const rng = Rng.stream(seed, 'pod-launch', ordinal);
  return {
    bootS: rng.uniform(model.podBootMinS, model.podBootMaxS),
    fails: rng.next() < model.podBootFailureProb,
  };
}
