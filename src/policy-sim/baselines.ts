import { podsPastBootDeadline } from '../cloud/policy/boot.policy';
import { BreakEvenPolicy } from './breakeven-policy';
import type { Decision, PodView, PolicyContext, SimPolicy, SimState } from './policy';
import { Rng } from './rng';
import { SEED_DEFAULTS, SeedPolicy, type SeedSettings } from './seed-policy';
import { ModelAwareRouter } from './router-policy';
import type { Workload } from './workloads';

/**
 * The §6.5 baselines. All of them route with the shipped `decideRoute` and enforce the boot deadline with the
 * shipped `podsPastBootDeadline`; they differ in the settings they give the seed rule or in when they spawn
 * and reap. `seed` is today's default service; the others answer "what would a simple alternative cost".
 */
export const POLICY_NAMES = [
  'seed',
  'seed-no-overflow',
  'always-serverless',
  'always-pods',
  'static-pods',
  'serverless-active',
  'ski-rental',
  'ski-rental-random',
  'breakeven',
] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

export const POLICY_DESCRIPTIONS: Record<PolicyName, string> = {
  seed: 'B0 + overflow: the shipped rule as configured by default (CLOUD_PREFER_SERVERLESS=true)',
  'seed-no-overflow':
    'B0: the shipped rule with CLOUD_PREFER_SERVERLESS=false (serverless configured, not preferred)',
  'always-serverless': 'B1: no pods; every cloud job on serverless flex workers',
  'always-pods': 'B2a: the shipped rule with serverless disabled (threshold 5, 5 min reaper)',
  'static-pods': 'B2b: a fixed fleet sized at the p95 of concurrent demand, never reaped',
  'serverless-active': 'B3: serverless with ceil(rpm x d / 60) active workers (RunPod heuristic)',
  'ski-rental':
    'B4: serverless overflow; buy a pod when the serverless premium paid reaches boot + break-even idle; reaper at break-even',
  'ski-rental-random': 'B5: B4 with the reaper timeout drawn from e^(t/B)/(B(e-1)) on [0, B] per idle period',
  breakeven:
    'B6: serverless overflow; spawn when the forecast busy fraction beats u* (src/cloud/policy/breakeven.policy.ts); reaper at ski-rental tau*; deadline jobs held for pods',
};

export function createPolicy(name: PolicyName, ctx: PolicyContext): SimPolicy {
  switch (name) {
    case 'seed':
      return new SeedPolicy(name, SEED_DEFAULTS);
    case 'seed-no-overflow':
      return new SeedPolicy(name, { ...SEED_DEFAULTS, preferServerless: false });
    case 'always-serverless':
      return new SeedPolicy(name, { ...SEED_DEFAULTS, podsConfigured: false });
    case 'always-pods':
      return new SeedPolicy(name, { ...SEED_DEFAULTS, serverlessConfigured: false });
    case 'static-pods':
      return new StaticPodsPolicy(
        name,
        Math.min(ctx.model.maxPods, Math.max(1, Math.ceil(p95Concurrency(ctx.workload)))),
      );
    case 'serverless-active':
      return new ActiveWorkersPolicy(name, activeWorkersHeuristic(ctx.workload));
    case 'ski-rental':
      return new SkiRentalPolicy(name, breakEvenTimeoutMs(ctx), null);
    case 'ski-rental-random':
      return new SkiRentalPolicy(name, breakEvenTimeoutMs(ctx), ctx.seed);
    case 'breakeven':
      // The service plans a job with a deadline (`plan`, `replan`: DeadlineReplanner) instead of holding it by the
      // break-even rules alone: a workload with deadlines runs through the adapter that plans them too.
      return ctx.workload.jobs.some((job) => job.deadlineS !== undefined)
        ? new ModelAwareRouter(name, ctx.model, ctx.breakEven)
        : new BreakEvenPolicy(name, ctx.model, { settings: ctx.breakEven });
  }
}

/** τ* = β / p_p with β = p_p · B_p (no wait penalty): the mean boot time (§1.2). */
export function breakEvenTimeoutMs(ctx: Pick<PolicyContext, 'model'>): number {
  return ((ctx.model.podBootMinS + ctx.model.podBootMaxS) / 2) * 1000;
}

/** Karlin's continuous randomized timeout: density e^(t/B)/(B(e-1)) on [0, B], drawn by inverse CDF. */
export function randomizedTimeout(breakEven: number, u: number): number {
  return breakEven * Math.log(1 + u * (Math.E - 1));
}

/** The 95th percentile over time (1-minute samples) of jobs in the system if every job started at once. */
export function p95Concurrency(workload: Workload): number {
  const stepS = 60;
  const samples = new Array<number>(Math.max(1, Math.ceil(workload.horizonS / stepS))).fill(0);
  for (const job of workload.jobs) {
    const from = Math.ceil(job.arrivalS / stepS);
    const to = Math.min(samples.length - 1, Math.floor((job.arrivalS + job.durationS) / stepS));
    for (let i = from; i <= to; i++) samples[i]++;
  }
  samples.sort((a, b) => a - b);
  return samples[Math.min(samples.length - 1, Math.floor(0.95 * samples.length))];
}

/** RunPod's sizing heuristic: active workers = requests per minute × request duration (s) / 60. */
export function activeWorkersHeuristic(workload: Workload): number {
  if (workload.jobs.length === 0) return 0;
  const rpm = workload.jobs.length / (workload.horizonS / 60);
  const meanS = workload.jobs.reduce((sum, job) => sum + job.durationS, 0) / workload.jobs.length;
  return Math.ceil((rpm * meanS) / 60);
}

function bootDeadlineReaps(state: SimState, now: number): Decision['reap'] {
  return podsPastBootDeadline([...state.pods], now, state.model.bootTimeoutS * 1000).map((pod) => ({
    pod,
    reason: 'boot deadline',
  }));
}

/** B2b: keeps `size` pods up from the start (replacing failed ones), routes with the shipped rule, never reaps. */
class StaticPodsPolicy extends SeedPolicy {
  constructor(
    name: string,
    private readonly size: number,
  ) {
    super(name, { ...SEED_DEFAULTS, serverlessConfigured: false });
  }

  protected override tick(state: SimState, now: number): Decision {
    const reap = bootDeadlineReaps(state, now);
    return { spawn: Math.max(0, this.size - (state.pods.length - reap.length)), reap, route: [] };
  }
}

/** B3: serverless only, with always-on active workers. */
class ActiveWorkersPolicy extends SeedPolicy {
  constructor(
    name: string,
    readonly serverlessActiveWorkers: number,
  ) {
    super(name, { ...SEED_DEFAULTS, podsConfigured: false });
  }
}

/**
 * B4/B5: the shipped routing with serverless overflow (an idle pod first, else serverless). Spawning is ski
 * rental on the serverless premium: the premium (p_s - p_p) paid for serverless work since demand started is
 * the rent; a pod is bought when it reaches the pod's boot plus one break-even idle tail, p_p·(B + τ*). The
 * reaper is the shipped two-step `decideReaping` with τ* (B4) or a Karlin-randomized timeout per idle period (B5).
 */
class SkiRentalPolicy extends SeedPolicy {
  private premiumUsd = 0;
  private lastTick: number | null = null;
  private lastServerlessWork: number | null = null;

  constructor(
    name: string,
    private readonly breakEvenMs: number,
    private readonly randomSeed: number | null,
    settings: SeedSettings = { ...SEED_DEFAULTS, idleTimeoutMs: breakEvenMs },
  ) {
    super(name, settings);
  }

  protected override idleTimeoutFor(pod: PodView, _now: number): number {
    if (this.randomSeed === null) return this.breakEvenMs;
    const period = Math.floor((pod.lastBusyAt ?? 0) / 1000);
    return randomizedTimeout(
      this.breakEvenMs,
      Rng.stream(this.randomSeed, `reaper:${pod.name}`, period).next(),
    );
  }

  protected override tick(state: SimState, now: number): Decision {
    const { model } = state;
    const dtS = this.lastTick === null ? 0 : (now - this.lastTick) / 1000;
    this.lastTick = now;
    const podPerS = model.podPricePerHour / 3600;
    const inFlight = state.serverless.inFlight;
    if (inFlight > 0) this.lastServerlessWork = now;
    else if (this.lastServerlessWork === null || now - this.lastServerlessWork > this.breakEvenMs)
      this.premiumUsd = 0;
    this.premiumUsd += inFlight * dtS * (model.serverlessPricePerSecond - podPerS);

    const seed = super.tick(state, now); // boot deadline and reaping (decideScale sees no pod demand: all overflow goes to serverless)
    const buyUsd = podPerS * ((model.podBootMinS + model.podBootMaxS) / 2 + this.breakEvenMs / 1000);
    let spawn = seed.spawn;
    const live = state.pods.length - seed.reap.length;
    while (this.premiumUsd >= buyUsd && live + spawn < model.maxPods) {
      spawn++;
      this.premiumUsd -= buyUsd;
    }
    // At maxPods the rent keeps being paid, but a later season must not inherit a pile of credit.
    this.premiumUsd = Math.min(this.premiumUsd, buyUsd);
    return { ...seed, spawn };
  }
}
