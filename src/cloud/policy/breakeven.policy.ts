/**
 * The break-even scaling policy (autoscaling-theory.md §1.2, §1.5, §6.5 B6). Serverless absorbs overflow while
 * pods boot; a pod is bought only when the work forecast for it would cost more on serverless than the pod
 * costs to boot and run; an idle pod is released after the ski-rental break-even timeout. All inputs are plain
 * values (prices, boot time, observed durations, the queue, the pods), so the service and the simulator
 * (src/policy-sim) call the same code. Times are seconds unless a name says otherwise; `now` is epoch ms.
 */

import { replayPods } from './pod-demand.policy';

/** A job class (kind or workflow signature) the caller has observed durations for. */
export type JobClass = string;

/** The class of a job of unknown kind (a row from before `workload_kind`): counted as the mean job. */
export const UNKNOWN_JOB_CLASS: JobClass = 'job';

/**
 * The class the service puts a job in: its workflow's kind, image or video (a 4-minute video is not the mean job
 * when the policy forecasts queued work or holds a job for a pod).
 */
export function jobClassOf(workloadKind: string | null | undefined): JobClass {
  return workloadKind ?? UNKNOWN_JOB_CLASS;
}

export interface BreakEvenQueuedJob {
  jobClass: JobClass;
  /** Only a pod may run it (serverless failed it, or the caller asked for a pod). */
  podOnly: boolean;
  /** Held for a pod not started yet (`holdForLiveOrNewPods`): counted as pod work, like a pod-only job. */
  heldForNewPod?: boolean;
  /** A local worker may take it (a job for `auto` while local workers exist): local slots drain it first. */
  mayRunLocally?: boolean;
}

export interface BreakEvenPod {
  state: 'starting' | 'ready' | 'busy';
}

export interface BreakEvenInputs {
  /** Pod price per second (RunPod's costPerHr / 3600). */
  podPricePerS: number;
  /** Serverless flex price per second. */
  serverlessPricePerS: number;
  /** A serverless endpoint is configured and not blocked. */
  serverlessAvailable: boolean;
  /** Jobs the endpoint runs at once (its max workers); Infinity when unknown. */
  serverlessConcurrency: number;
  /** Serverless seconds billed per job besides its work: the expected billed cold start plus the idle timeout. */
  serverlessOverheadPerJobS: number;
  /** Expected pod boot (billed, not busy). */
  bootS: number;
  /** The window after boot over which a new pod must earn its keep (the forecast horizon). */
  horizonS: number;
  /** Mean observed duration per job class. */
  observedDurationS: Readonly<Record<JobClass, number>>;
  /** Used for a class with no observation yet. */
  defaultDurationS: number;
  /** Jobs waiting in the queue (known future work: the lookahead). */
  queue: readonly BreakEvenQueuedJob[];
  /**
   * Cloud jobs that arrived in the last `horizonS` and have left the queue (started, done or failed): with the
   * queue, the persistence forecast of the next horizon's work. Ignored when `recentArrivals` is given.
   */
  recentCloudArrivals?: readonly JobClass[];
  pods: readonly BreakEvenPod[];
  maxPods: number;
  /**
   * Cloud jobs that arrived in the last `arrivalWindowS` (queued ones included), with how long ago. When given,
   * the persistence forecast is the replay of these on pods (`replayPodBusyFractions`) instead of the volume of
   * `recentCloudArrivals`: a pod is wanted for steady work, not for a burst serverless has already absorbed.
   */
  recentArrivals?: ReadonlyArray<{ agoS: number; jobClass: JobClass }>;
  /** The window the spawn forecast replays; DEFAULT_ARRIVAL_WINDOW_S. */
  arrivalWindowS?: number;
  /**
   * The longer window whose replay gives each pod rank the idle gaps its idle timeout is learned from
   * (`recentArrivals` must reach back this far): GAP_WINDOW_ARRIVAL_WINDOWS × arrivalWindowS, or less while the
   * service has been up less. arrivalWindowS when absent.
   */
  gapWindowS?: number;
  /** How long a job may wait for a pod (`holdForPods`); DEFAULT_POD_WAIT_TARGET_S. */
  podWaitTargetS?: number;
  /** A long job's wait for a pod as a fraction of its run (`podWaitAllowanceS`); DEFAULT_POD_WAIT_PER_RUN. */
  podWaitPerRun?: number;
  /** Standard errors of evidence a replayed busy fraction needs to start a pod; DEFAULT_SPAWN_EVIDENCE_Z. */
  spawnEvidenceZ?: number;
  /**
   * Local slots (free GPUs that cost nothing) the queue's `mayRunLocally` jobs drain before a pod could boot;
   * 0 when absent. Without this, jobs waiting only because every local worker is busy looked like pod work.
   */
  localSlots?: number;
}

export const DEFAULT_SPAWN_EVIDENCE_Z = 1;

/**
 * The persistence forecast's window: long enough that Poisson noise does not buy or drop pods (measured: 600 s
 * thrashed pods on the 7-day workloads), short enough to follow a day's curve.
 */
export const DEFAULT_ARRIVAL_WINDOW_S = 1800;

/**
 * A pod rank's idle timeout is learned from the idle gaps it had in a replay of this many arrival windows (2 h at
 * the default): 30 minutes hold 15 gaps of a job every 2 minutes, too few for a tail. A rank that replay values
 * above its price is kept through an arrival window without a job (`decideBreakEvenScale`).
 */
export const GAP_WINDOW_ARRIVAL_WINDOWS = 4;

/** The fewest idle gaps a rank's learned idle timeout is drawn from; with fewer, its pod waits τ*. */
export const GAP_TIMEOUT_MIN_SAMPLES = 30;

export type BreakEvenReason = 'break-even' | 'pod-only-job' | 'held-for-new-pod' | 'none';

export interface BreakEvenDecision {
  spawn: number;
  reason: BreakEvenReason;
  /** u* = pod $/s ÷ serverless $/s, corrected for serverless's per-job overhead. */
  breakEvenUtilisation: number;
  /** Forecast work (s) for pods in the window [boot, boot + horizon], beyond what live pods cover. */
  excessWorkS: number;
  /** Busy fraction the first new pod would see over boot + horizon (0 when none is wanted). */
  firstPodBusyFraction: number;
  /** Spawns CLOUD_MAX_PODS kept from happening. */
  cappedByMaxPods: boolean;
  /**
   * Pods (most recently busy first) worth keeping up: the queue's work, or the replayed recent work, keeps them
   * busier than u* (boot already paid). An idle pod ranked beyond this is released (`idlePodTimeoutS`).
   */
  podsWorthKeeping: number;
  /**
   * Per pod rank (most recently busy first), the idle timeout its idle gaps in the gap window's replay call for
   * (`learnedIdleTimeoutS`, a release costing τ*'s β: a boot and a job's serverless premium), at least the arrival
   * window for a rank that replay values above its price; null with too few gaps. Empty without serverless or a
   * replay. Kept pods wait the longer of their rank's and τ* (`idlePodTimeoutsS`).
   */
  gapTimeoutsS: Array<number | null>;
}

/** u* = p_p / p_s (§1.5): above this busy fraction a pod is cheaper than per-second serverless. */
export function breakEvenUtilisation(podPricePerS: number, serverlessPricePerS: number): number {
  return serverlessPricePerS > 0 ? podPricePerS / serverlessPricePerS : Infinity;
}

/**
 * Ski-rental break-even idle timeout (§1.2): τ* = β / p_p with β = p_p·B + wait penalty, so τ* = B + penalty/p_p.
 * Keeping an idle pod longer than τ* costs more than re-buying it would; releasing it sooner risks paying β.
 */
export function breakEvenIdleTimeoutS(bootS: number, waitPenaltyUsd: number, podPricePerS: number): number {
  if (podPricePerS <= 0) return bootS;
  return bootS + Math.max(0, waitPenaltyUsd) / podPricePerS;
}

/**
 * The wait penalty of releasing a pod too early: the next job then runs on serverless instead, paying the
 * premium p_s·(d + overhead) − p_p·d (never below zero).
 */
export function serverlessPremiumUsd(inputs: {
  podPricePerS: number;
  serverlessPricePerS: number;
  jobDurationS: number;
  serverlessOverheadPerJobS: number;
}): number {
  const serverless = inputs.serverlessPricePerS * (inputs.jobDurationS + inputs.serverlessOverheadPerJobS);
  return Math.max(0, serverless - inputs.podPricePerS * inputs.jobDurationS);
}

/**
 * The idle timeout observed gaps call for (§1.3, TTL theory): the τ that minimises the cost of the idle spells
 * those gaps would have been, where an idle second costs p_p and a gap longer than τ costs τ of idling and then
 * `rebuyUsd` (the pod is gone when the next job comes). For memoryless gaps that is 0 or "all of them", for
 * bursty ones the end of the short gaps. When idling through every gap seen is cheapest, the longest one is only
 * the sample's edge, not a reason to stop: the answer is then at least `keepThroughS`. null with fewer than
 * `minSamples` gaps. O(n log n).
 */
export function learnedIdleTimeoutS(
  gapsS: readonly number[],
  rebuyUsd: number,
  podPricePerS: number,
  options: { minSamples: number; keepThroughS: number },
): number | null {
  const gaps = gapsS.filter((g) => Number.isFinite(g) && g >= 0).sort((a, b) => a - b);
  if (gaps.length < Math.max(1, options.minSamples) || !(podPricePerS > 0) || !(rebuyUsd >= 0)) return null;
  let bestS = 0;
  let bestUsd = gaps.length * rebuyUsd; // τ = 0: every gap is a re-buy
  let idleUsd = 0; // the gaps up to gaps[i], idled through
  for (let i = 0; i < gaps.length; i++) {
    idleUsd += gaps[i] * podPricePerS;
    const longer = gaps.length - 1 - i;
    const usd = idleUsd + longer * (gaps[i] * podPricePerS + rebuyUsd);
    if (usd < bestUsd) {
      bestUsd = usd;
      bestS = gaps[i];
    }
  }
  const longestS = gaps[gaps.length - 1];
  return bestS === longestS && longestS > 0 ? Math.max(longestS, options.keepThroughS) : bestS;
}

/** What the caller has measured (the service from its database, the simulator from its state). */
export interface BreakEvenObservations {
  /** Pod price per second (RunPod's costPerHr / 3600). */
  podPricePerS: number;
  /** Serverless flex price per second. */
  serverlessPricePerS: number;
  /** Serverless seconds billed per job besides its work (cold start + idle timeout, as far as they are billed). */
  serverlessOverheadPerJobS: number;
  /** Observed pod boots (creation to ready), seconds; empty before the first one. */
  bootSamplesS: readonly number[];
  /** Used while no boot has been observed. */
  defaultBootS: number;
  /** Recently completed cloud jobs: class and run time. */
  completed: ReadonlyArray<{ jobClass: JobClass; durationS: number }>;
  /** Used while nothing has completed. */
  defaultDurationS: number;
}

/** The parameters in force: what the scaling and reaping decisions use, and what the status shows. */
export interface BreakEvenParameters {
  podPricePerS: number;
  serverlessPricePerS: number;
  serverlessOverheadPerJobS: number;
  /** Mean observed boot, or the default. */
  bootS: number;
  bootSamples: number;
  /** Mean observed job run time, or the default; and per class. */
  meanJobS: number;
  jobSamples: number;
  byClass: Record<JobClass, number>;
  /** p_p / p_s (§1.5), before serverless's per-job overhead. */
  breakEvenUtilisation: number;
  /** Ski-rental τ*: an idle pod is released after this long. */
  idleTimeoutS: number;
  /** The window a new pod must earn its keep in (its break-even idle tail). */
  horizonS: number;
}

const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

/**
 * The parameters from what was measured: mean boot and job durations (per class), and the ski-rental idle
 * timeout τ* = boot + the serverless premium of one mean job / p_p (releasing a pod too early sends the next
 * job to serverless; keeping it longer than τ* costs more than buying it again).
 */
export function breakEvenParameters(observed: BreakEvenObservations): BreakEvenParameters {
  const boots = observed.bootSamplesS.filter((s) => Number.isFinite(s) && s >= 0);
  const bootS = boots.length > 0 ? mean(boots) : observed.defaultBootS;
  const sums: Record<JobClass, { s: number; n: number }> = {};
  const durations: number[] = [];
  for (const { jobClass, durationS } of observed.completed) {
    if (!Number.isFinite(durationS) || durationS < 0) continue;
    sums[jobClass] ??= { s: 0, n: 0 };
    sums[jobClass].s += durationS;
    sums[jobClass].n++;
    durations.push(durationS);
  }
  const byClass: Record<JobClass, number> = {};
  for (const [jobClass, { s, n }] of Object.entries(sums)) byClass[jobClass] = s / n;
  const meanJobS = durations.length > 0 ? mean(durations) : observed.defaultDurationS;
  const idleTimeoutS = breakEvenIdleTimeoutS(
    bootS,
    serverlessPremiumUsd({
      podPricePerS: observed.podPricePerS,
      serverlessPricePerS: observed.serverlessPricePerS,
      jobDurationS: meanJobS,
      serverlessOverheadPerJobS: observed.serverlessOverheadPerJobS,
    }),
    observed.podPricePerS,
  );
  return {
    podPricePerS: observed.podPricePerS,
    serverlessPricePerS: observed.serverlessPricePerS,
    serverlessOverheadPerJobS: observed.serverlessOverheadPerJobS,
    bootS,
    bootSamples: boots.length,
    meanJobS,
    jobSamples: durations.length,
    byClass,
    breakEvenUtilisation: breakEvenUtilisation(observed.podPricePerS, observed.serverlessPricePerS),
    idleTimeoutS,
    horizonS: idleTimeoutS,
  };
}

/** A class's observed mean duration, or the default. */
export function expectedDurationS(
  jobClass: JobClass,
  observed: Readonly<Record<JobClass, number>>,
  defaultDurationS: number,
): number {
  const seen = observed[jobClass];
  return seen !== undefined && Number.isFinite(seen) && seen > 0 ? seen : defaultDurationS;
}

/** A job's expected run from its `workload_kind`: its kind's measured mean, else the mean job. */
export function expectedRunOfKind(
  workloadKind: string | null | undefined,
  measured: Pick<BreakEvenParameters, 'byClass' | 'meanJobS'>,
): number {
  return expectedDurationS(jobClassOf(workloadKind), measured.byClass, measured.meanJobS);
}

/**
 * How many pods to start now. The forecast work for the next horizon is the queue (known work) plus the cloud
 * work that arrived in the last horizon (persistence). Work the live pods can take (each covers `horizonS`) is
 * subtracted, and so is the queued work serverless finishes before a new pod could boot (no spawn for a backlog
 * that drains first). The k-th new pod is started when the serverless cost of the work it would take, counted with
 * serverless's per-job overhead, exceeds its own cost over boot + horizon: busy fraction > u*. A job only a pod
 * can run, with no pod starting or ready, always gets one (nothing else would ever run it). Capped by maxPods.
 */
export function decideBreakEvenScale(inputs: BreakEvenInputs): BreakEvenDecision {
  const live = inputs.pods.length;
  const room = Math.max(0, inputs.maxPods - live);
  const duration = (jobClass: JobClass) =>
    expectedDurationS(jobClass, inputs.observedDurationS, inputs.defaultDurationS);
  const horizonS = Math.max(1, inputs.horizonS);

  // Known work. Serverless starts what it may take as fast as its workers allow; only what it cannot finish
  // before a new pod would boot (and pod-only work) is left for pods.
  let podOnlyJobs = 0;
  let podOnlyWorkS = 0;
  let serverlessableJobs = 0;
  let serverlessableWorkS = 0;
  // Local workers are free and come first: what they finish before a pod could boot is nobody else's work.
  let localDrainS = Math.max(0, inputs.localSlots ?? 0) * inputs.bootS;
  for (const job of inputs.queue) {
    if (job.mayRunLocally && localDrainS > 0) {
      localDrainS -= duration(job.jobClass);
      continue;
    }
    const podOnly = job.podOnly || job.heldForNewPod === true || !inputs.serverlessAvailable;
    if (podOnly) {
      podOnlyJobs++;
      podOnlyWorkS += duration(job.jobClass);
    } else {
      serverlessableJobs++;
      serverlessableWorkS += duration(job.jobClass);
    }
  }
  let forecastJobs = podOnlyJobs;
  let forecastWorkS = podOnlyWorkS;
  const drainedBeforeBootS = inputs.serverlessAvailable
    ? Math.max(0, inputs.serverlessConcurrency) * inputs.bootS
    : 0;
  const leftAfterBootS = Math.max(0, serverlessableWorkS - drainedBeforeBootS);
  if (leftAfterBootS > 0) {
    forecastJobs += serverlessableJobs * (leftAfterBootS / serverlessableWorkS);
    forecastWorkS += leftAfterBootS;
  }
  if (inputs.recentArrivals === undefined) {
    for (const jobClass of inputs.recentCloudArrivals ?? []) {
      forecastJobs++;
      forecastWorkS += duration(jobClass);
    }
  }

  const livePodsCoverS = live * horizonS;
  const excessWorkS = Math.max(0, forecastWorkS - livePodsCoverS);
  const meanJobS = forecastJobs > 0 ? forecastWorkS / forecastJobs : inputs.defaultDurationS;
  // A serverless job bills its overhead too, so per second of work serverless costs p_s·(1 + o/d).
  const serverlessPerWorkS =
    inputs.serverlessPricePerS *
    (1 + Math.max(0, inputs.serverlessOverheadPerJobS) / Math.max(meanJobS, 1e-9));
  const uStar = breakEvenUtilisation(inputs.podPricePerS, serverlessPerWorkS);
  const podLifeS = inputs.bootS + horizonS;

  let wanted = 0;
  if (inputs.serverlessAvailable) {
    for (let k = 0; ; k++) {
      const workForPodS = Math.min(horizonS, Math.max(0, excessWorkS - k * horizonS));
      if (workForPodS <= 0 || workForPodS / podLifeS <= uStar) break;
      wanted++;
    }
  } else if (excessWorkS > 0) {
    // No serverless: waiting is the only alternative, so bring enough pods to drain the excess within a horizon.
    wanted = Math.ceil(excessWorkS / horizonS);
  }
  let firstPodBusyFraction = wanted > 0 ? Math.min(horizonS, excessWorkS) / podLifeS : 0;

  // Pods the queue keeps busy beyond u* once up (no boot to pay): the reaper keeps these.
  let podsWorthKeeping = 0;
  let gapTimeoutsS: Array<number | null> = [];
  for (let k = 0; ; k++) {
    const workForPodS = Math.min(horizonS, Math.max(0, forecastWorkS - k * horizonS));
    if (workForPodS <= 0 || (inputs.serverlessAvailable && workForPodS / horizonS <= uStar)) break;
    podsWorthKeeping++;
  }

  if (inputs.recentArrivals !== undefined && inputs.serverlessAvailable) {
    // Steady work, replayed. A pod rank is worth its price when the serverless bill of the jobs it would have
    // taken (their run plus serverless's per-job overhead) beats what the pod costs over the window: to keep a
    // pod that is up; to start one, spread over its boot too and with evidence to spare.
    const windowS = Math.max(1, inputs.arrivalWindowS ?? DEFAULT_ARRIVAL_WINDOW_S);
    const waitTargetS = inputs.podWaitTargetS ?? DEFAULT_POD_WAIT_TARGET_S;
    const arrivals = inputs.recentArrivals.map(({ agoS, jobClass }) => {
      const durationS = duration(jobClass);
      return { agoS, durationS, maxWaitS: podWaitAllowanceS(durationS, waitTargetS, inputs.podWaitPerRun) };
    });
    const ranks = Math.max(0, inputs.maxPods);
    // The whole window, and its most recent third: work that has stopped (a burst that is over) does not
    // keep or buy pods, however much of it the window still holds.
    const recentS = windowS / 3;
    const replays = [
      { windowS, replay: replayPods(arrivals, windowS, ranks, waitTargetS) },
      {
        windowS: recentS,
        replay: replayPods(
          arrivals.filter((a) => a.agoS <= recentS),
          recentS,
          ranks,
          waitTargetS,
        ),
      },
    ];
    const overheadS = Math.max(0, inputs.serverlessOverheadPerJobS);
    const priceRatio = inputs.podPricePerS > 0 ? inputs.serverlessPricePerS / inputs.podPricePerS : Infinity;
    // Serverless dollars the k-th pod would have displaced per pod dollar over a window.
    const value = (k: number, r: (typeof replays)[number]) =>
      (priceRatio * (r.replay[k].busyFraction * r.windowS + r.replay[k].jobs * overheadS)) / r.windowS;
    // Keeping a pod that is up looks at the whole window (a quiet spell of a third of it is not enough to let go).
    const keepValue = (k: number) => value(k, replays[0]);
    // A pod started for steady work is expected to stay about a full window (however little has been seen yet).
    const lifeS = Math.max(windowS, DEFAULT_ARRIVAL_WINDOW_S);
    const amortised = lifeS / (inputs.bootS + lifeS);
    // Starting needs evidence: less one standard error of the job count (Poisson), so a lucky cluster of
    // arrivals does not buy a boot.
    const z = inputs.spawnEvidenceZ ?? DEFAULT_SPAWN_EVIDENCE_Z;
    const startValue = (k: number) =>
      amortised *
      Math.min(
        ...replays.map((r) => value(k, r) * Math.max(0, 1 - z / Math.sqrt(Math.max(1, r.replay[k].jobs)))),
      );
    const replay = replays[0].replay;
    const startRanks = leadingRanks(replay.length, (k) => startValue(k) > 1);
    const keepRanks = leadingRanks(replay.length, (k) => keepValue(k) > 1);
    if (startRanks - live > wanted) {
      wanted = startRanks - live;
      firstPodBusyFraction = replay[live].busyFraction;
    }
    podsWorthKeeping = Math.max(podsWorthKeeping, keepRanks);
    // A pod released in a gap costs what τ* prices (ski rental's β): a boot to buy it again, and the next job's
    // serverless premium meanwhile. The gaps each rank had in the gap window set how long its idle pod is worth
    // keeping against that.
    const rebuyUsd =
      inputs.podPricePerS * inputs.bootS +
      serverlessPremiumUsd({
        podPricePerS: inputs.podPricePerS,
        serverlessPricePerS: inputs.serverlessPricePerS,
        jobDurationS: inputs.defaultDurationS,
        serverlessOverheadPerJobS: overheadS,
      });
    // Each rank from its own idle spells in the replay (rank 1 idles while rank 0 takes the jobs). A rank whose
    // every gap was worth idling through (§1.3: memoryless gaps shorter than a premium's worth of idling) keeps its
    // pod, and through an arrival window without a job, even when the arrival window alone values it below its
    // price (a window without one of the rare long jobs). A burst's short gaps do not make the long quiet ones
    // between bursts worth idling through, so a pod is not kept up from one burst to the next.
    const gapWindowS = Math.max(windowS, inputs.gapWindowS ?? windowS);
    const gapReplay =
      gapWindowS > windowS ? replayPods(arrivals, gapWindowS, ranks, waitTargetS) : replays[0].replay;
    gapTimeoutsS = gapReplay.map((rank) =>
      learnedIdleTimeoutS(rank.idleGapsS, rebuyUsd, inputs.podPricePerS, {
        minSamples: GAP_TIMEOUT_MIN_SAMPLES,
        keepThroughS: windowS,
      }),
    );
    // A rank the whole gap window values above its price is kept too, through an arrival window without a job:
    // work that keeps coming over hours, in clusters minutes apart (bursty-gamma) or with its long jobs rare
    // (a video in ten), is not over when 30 minutes are quiet, and each re-buy pays a boot and sends the next
    // cluster to serverless's cold starts. Bursts hours apart rarely pay for a pod over two hours.
    if (gapWindowS > windowS) {
      const gapWindow = { windowS: gapWindowS, replay: gapReplay };
      const keptOverGapWindow = leadingRanks(gapReplay.length, (k) => value(k, gapWindow) > 1);
      gapTimeoutsS = gapTimeoutsS.map((timeoutS, k) =>
        k < keptOverGapWindow ? Math.max(timeoutS ?? 0, windowS) : timeoutS,
      );
    }
    const keptForGaps = leadingRanks(gapTimeoutsS.length, (k) => (gapTimeoutsS[k] ?? 0) >= windowS);
    podsWorthKeeping = Math.max(podsWorthKeeping, keptForGaps);
  }

  let reason: BreakEvenReason = wanted > 0 ? 'break-even' : 'none';
  const startingOrReady = inputs.pods.filter((pod) => pod.state !== 'busy').length;
  if (wanted === 0 && podOnlyJobs > 0 && startingOrReady === 0) {
    wanted = 1;
    reason = 'pod-only-job';
  }
  // Jobs the dispatcher holds for a pod the next pass would start (holdForLiveOrNewPods) wait for it: start one,
  // else they wait out their allowance for nothing. The next pass counts it as booting and holds no more for it.
  if (wanted === 0 && inputs.queue.some((job) => job.heldForNewPod === true)) {
    wanted = 1;
    reason = 'held-for-new-pod';
  }
  const spawn = Math.min(wanted, room);
  return {
    spawn,
    reason: spawn > 0 ? reason : 'none',
    breakEvenUtilisation: uStar,
    excessWorkS,
    firstPodBusyFraction,
    cappedByMaxPods: spawn < wanted,
    podsWorthKeeping,
    gapTimeoutsS,
  };
}

/** How many pod ranks from the first (0, 1, ...) satisfy `holds` before the first that does not. */
function leadingRanks(ranks: number, holds: (rank: number) => boolean): number {
  let k = 0;
  while (k < ranks && holds(k)) k++;
  return k;
}

/**
 * How many queued jobs may go to serverless in this pass: the endpoint runs at most `concurrency` at once, and
 * a job sent beyond that only queues at RunPod, where a pod that becomes ready can no longer take it.
 */
export function serverlessSlots(inFlight: number, concurrency: number): number {
  if (!Number.isFinite(concurrency)) return Number.MAX_SAFE_INTEGER;
  return Math.max(0, Math.floor(concurrency) - inFlight);
}

/** An idle pod beyond those worth keeping is released after this long (seconds): 0 = at the reaper's next pass. */
export const DEFAULT_RELEASE_AFTER_S = 0;

/**
 * Each pod's idle timeout (seconds), by name. Pods are ranked busy first, then ready ones most recently busy
 * first (the order routing fills them), then booting ones; the first `podsWorthKeeping` keep the ski-rental
 * τ* (`idleTimeoutS`, 2-competitive on any gap sequence), or their rank's gap timeout when its replayed idle
 * gaps show longer ones are worth idling through (`gapTimeoutsS`: a steady stream whose next job comes within a
 * premium's worth of idling, usually); the others go after min(τ*, `releaseAfterS`): the forecast says they
 * would idle below u*, and for memoryless gaps waiting longer only adds idle cost.
 */
/** A kept pod's idle timeout: τ*, or its rank's gap timeout when that is longer (never shorter than τ*). */
export function keptPodIdleTimeoutS(idleTimeoutS: number, gapTimeoutS: number | null | undefined): number {
  return Math.max(idleTimeoutS, gapTimeoutS ?? 0);
}

export function idlePodTimeoutsS<
  T extends { name: string; state: 'starting' | 'ready' | 'busy'; lastBusyAt: number | null },
>(
  pods: readonly T[],
  podsWorthKeeping: number,
  idleTimeoutS: number,
  releaseAfterS: number = DEFAULT_RELEASE_AFTER_S,
  gapTimeoutsS: ReadonlyArray<number | null> = [],
): Record<string, number> {
  const ranked = [
    ...pods.filter((pod) => pod.state === 'busy'),
    ...mostRecentlyBusyFirst(pods.filter((pod) => pod.state === 'ready')),
    ...pods.filter((pod) => pod.state === 'starting'),
  ];
  const release = Math.max(0, Math.min(idleTimeoutS, releaseAfterS));
  const timeouts: Record<string, number> = {};
  ranked.forEach((pod, rank) => {
    timeouts[pod.name] =
      rank < podsWorthKeeping ? keptPodIdleTimeoutS(idleTimeoutS, gapTimeoutsS[rank]) : release;
  });
  return timeouts;
}

/** Ready pods, most recently busy first (§1.4): packing work onto the warmest pod lets the others idle out. */
export function mostRecentlyBusyFirst<T extends { lastBusyAt: number | null }>(pods: readonly T[]): T[] {
  return [...pods].sort((a, b) => (b.lastBusyAt ?? 0) - (a.lastBusyAt ?? 0));
}

/**
 * When each pod can take its next job, in seconds from now: a ready pod now, a booting pod when it should be up
 * (created + the expected boot), a busy pod when its job should end: at `busyUntil` (epoch ms) when the caller
 * knows the running job's expected end (the run-time estimates: a pod running a 4-minute video is not free a mean
 * job after its start), else busy since + the mean job (a job already past the mean counts as ending now). The
 * pods' times in the input order; the input to `holdForPods`.
 */
export function podsFreeInS(
  pods: ReadonlyArray<{
    state: 'starting' | 'ready' | 'busy';
    createdAt: number;
    busySince: number | null;
    busyUntil?: number;
  }>,
  nowMs: number,
  bootS: number,
  meanJobS: number,
): number[] {
  return pods.map((pod) => {
    if (pod.state === 'starting') return Math.max(0, (pod.createdAt - nowMs) / 1000 + bootS);
    if (pod.state !== 'busy') return 0;
    if (pod.busyUntil !== undefined && Number.isFinite(pod.busyUntil))
      return Math.max(0, (pod.busyUntil - nowMs) / 1000);
    return Math.max(0, meanJobS - (nowMs - (pod.busySince ?? nowMs)) / 1000);
  });
}

/**
 * A job without a deadline waits for a pod (instead of going to serverless) when a pod is expected to start it
 * within this many seconds of its arrival: a pod-second costs p_p / p_s ≈ 1/3.6 of a serverless second, so a
 * short wait on a warm or nearly booted pod is the cheapest start. 0 turns holding off for such jobs.
 */
export const DEFAULT_POD_WAIT_TARGET_S = 30;

/**
 * A long job may wait longer for a pod: up to this fraction of its expected run time when that is more than the
 * wait target (a 4-minute video waits up to 2 minutes: its serverless premium is 3.6x its run on a pod).
 */
export const DEFAULT_POD_WAIT_PER_RUN = 0.5;

/**
 * A job waits for its own busy local worker (free: no cloud price, and often no model load) instead of going to
 * the cloud when that worker should start it within max(target, per-run × its run) of its arrival
 * (src/routing/local-hold.policy.ts; LOCAL_WAIT_TARGET_SECONDS, LOCAL_WAIT_PER_RUN). The target is the pods'
 * (images); a long job may wait its whole run, twice a pod's share: waiting for a local GPU costs nothing, where
 * a pod still bills. A video then completes within about twice its run. bench:router (4 local GPUs, 15% Wan
 * video, 5 seeds × 8 h): at half a run the model-aware router cost 23% more than the fixed order on steady-light
 * and 2% more on bursty; at a whole run 11% and 3% less (steady −16%), for a p95 completion 2.6-6.5% longer.
 */
export const DEFAULT_LOCAL_WAIT_TARGET_S = DEFAULT_POD_WAIT_TARGET_S;
export const DEFAULT_LOCAL_WAIT_PER_RUN = 1;

/** A deadline job is held for a pod only if the pod should finish it this long before its deadline. */
export const DEFAULT_DEADLINE_MARGIN_S = 120;

/** How long a job of this run time may wait for a pod. */
export function podWaitAllowanceS(
  durationS: number,
  waitTargetS: number = DEFAULT_POD_WAIT_TARGET_S,
  waitPerRun: number = DEFAULT_POD_WAIT_PER_RUN,
): number {
  return Math.max(0, waitTargetS, waitPerRun * durationS);
}

export interface HoldableJob {
  /** Expected run time (observed mean of its class). */
  durationS: number;
  /** Seconds from now by which it must be done; undefined: no deadline (held only within the wait target). */
  deadlineInS?: number;
  podOnly: boolean;
  /** Seconds it has waited already (now − arrival); 0 when unknown. */
  waitedS?: number;
}

/**
 * Which queued jobs should wait for a pod instead of going to serverless: list-schedule the queue, in order,
 * on the pods' expected free times (`podsFreeInS`); a job is held when a pod starts it within `waitTargetS` of
 * its arrival (counting what it waited already, so no job waits much longer than the target for a pod), or,
 * with a deadline, when a pod finishes it `marginS` before the deadline. With no pod live nothing is held.
 * Pod-only jobs take their place on the pods first-come, as the dispatcher will give them one.
 */
export function holdForPods(
  jobs: readonly HoldableJob[],
  podsFreeInS: readonly number[],
  marginS: number,
  waitTargetS: number = DEFAULT_POD_WAIT_TARGET_S,
  waitPerRun: number = DEFAULT_POD_WAIT_PER_RUN,
): boolean[] {
  const free = podsFreeInS.map((s) => Math.max(0, s));
  return jobs.map((job) => {
    if (free.length === 0) return false;
    let best = 0;
    for (let i = 1; i < free.length; i++) if (free[i] < free[best]) best = i;
    const startS = free[best];
    const finishS = startS + job.durationS;
    if (job.podOnly) {
      free[best] = finishS;
      return false;
    }
    const allowanceS = podWaitAllowanceS(job.durationS, waitTargetS, waitPerRun);
    const withinWaitTarget = allowanceS > 0 && Math.max(0, job.waitedS ?? 0) + startS <= allowanceS;
    const beforeDeadline = job.deadlineInS !== undefined && finishS <= job.deadlineInS - marginS;
    if (!withinWaitTarget && !beforeDeadline) return false;
    free[best] = finishS;
    return true;
  });
}

/**
 * `holdForPods` over the live and booting pods plus the `spawnablePods` the next scaling pass may still start
 * (each free in `newPodFreeInS`: a boot and a tick). A deadline job, or one long enough to wait a boot
 * (`podWaitAllowanceS`), may be held for such a pod; `forNewPod` marks the jobs held only thanks to one, which
 * the caller passes to `decideBreakEvenScale` as `heldForNewPod` so that the pod is started.
 */
export function holdForLiveOrNewPods(
  jobs: readonly HoldableJob[],
  podsFreeInS: readonly number[],
  spawnablePods: number,
  newPodFreeInS: number,
  marginS: number = DEFAULT_DEADLINE_MARGIN_S,
  waitTargetS: number = DEFAULT_POD_WAIT_TARGET_S,
  waitPerRun: number = DEFAULT_POD_WAIT_PER_RUN,
): { hold: boolean[]; forNewPod: boolean[] } {
  const live = holdForPods(jobs, podsFreeInS, marginS, waitTargetS, waitPerRun);
  const room = Math.max(0, Math.floor(spawnablePods));
  if (room === 0) return { hold: live, forNewPod: live.map(() => false) };
  const hold = holdForPods(
    jobs,
    [...podsFreeInS, ...new Array<number>(room).fill(Math.max(0, newPodFreeInS))],
    marginS,
    waitTargetS,
    waitPerRun,
  );
  return { hold, forNewPod: hold.map((held, i) => held && !live[i]) };
}
