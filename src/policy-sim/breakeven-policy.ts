import type { JobBackend } from '../persistence/entities/job.entity';
import { queuedJobRunS } from '../routing-estimates/cloud-queue';
import { expectedEnd } from '../routing-estimates/running-job';
import { inDispatchOrder } from '../routing/dispatch-order.policy';
import { holdForLocal } from '../routing/local-hold.policy';
import { imagesBehindEach, videoLeavesSlotToImages } from '../routing/video-yield.policy';
import {
  DEFAULT_DEADLINE_MARGIN_S,
  DEFAULT_LOCAL_WAIT_PER_RUN,
  DEFAULT_LOCAL_WAIT_TARGET_S,
  breakEvenParameters,
  decideBreakEvenScale,
  expectedDurationS,
  jobClassOf,
  DEFAULT_ARRIVAL_WINDOW_S,
  GAP_WINDOW_ARRIVAL_WINDOWS,
  DEFAULT_POD_WAIT_PER_RUN,
  DEFAULT_POD_WAIT_TARGET_S,
  holdForLiveOrNewPods,
  idlePodTimeoutsS,
  podsFreeInS,
  serverlessSlots,
  type JobClass,
} from '../cloud/policy/breakeven.policy';
import type { SimModel } from './model';
import type {
  BreakEvenSettings,
  Decision,
  LocalWorkerView,
  PodView,
  QueuedJobView,
  Route,
  SimState,
} from './policy';
import { SEED_DEFAULTS, SeedPolicy } from './seed-policy';

const MS = 1000;
/** Observed boots kept for the mean. */
const BOOT_SAMPLES = 20;

/**
 * B6 as a simulator policy: the shipped `decideBreakEvenScale`, `podsFreeInS`, `holdForLiveOrNewPods`,
 * `serverlessSlots`, `idlePodTimeoutsS` and the ski-rental τ* (src/cloud/policy/breakeven.policy.ts) on top of
 * the seed adapter's routing (`decideRoute`, an idle pod first, most recently busy first, else serverless),
 * budget admission and two-step reaping (`decideReaping`). What the service would measure is measured here
 * from what it sees: job durations from completed jobs, boot times from pods that became ready, cloud arrivals
 * (arrival time and class) from its own routing plus the queue. The serverless per-job overhead (billed cold start + idle timeout) comes from the model's
 * configured cold-start mixture, standing in for the service's measured cold starts.
 */
export class BreakEvenPolicy extends SeedPolicy {
  /** Cloud jobs routed (to a pod or serverless): when, when they arrived, and of which class. */
  private readonly cloudStarts: Array<{ at: number; arrivalAt: number; jobClass: JobClass }> = [];
  /** Pods the last scaling decision found worth keeping (the reaper runs after it on each tick). */
  private podsWorthKeeping = 0;
  /** The last decision's `gapTimeoutsS`: a kept pod waits the longer of its rank's and τ*. */
  private gapTimeoutsS: Array<number | null> = [];
  /** The pods at this tick, for the reaper's ranking. */
  private podsNow: readonly PodView[] = [];
  /** Jobs the last dispatch pass held for a pod not started yet. */
  private heldForNewPod: ReadonlySet<number> = new Set();
  /**
   * Jobs the last dispatch pass held for a busy local worker (the model-aware router's `holdForLocal`): the
   * service does not count them as cloud demand, so neither does the scaling decision here.
   */
  protected heldLocally: ReadonlySet<number> = new Set();
  /** The first tick (the service: when its control loop started leading); -1 before it. */
  private startedAt = -1;
  private readonly boots: number[] = [];
  private readonly bootSeen = new Set<string>();
  private readonly defaultBootS: number;
  private readonly overheadS: number;
  /** CLOUD_POD_WAIT_TARGET_SECONDS and CLOUD_POD_WAIT_PER_RUN. */
  private readonly podWaitTargetS: number;
  private readonly podWaitPerRun: number;

  /** Whether jobs wait for a busy local worker (the service's LocalHolds, LOCAL_WAIT_* at their defaults). */
  private readonly localHolds: boolean;

  constructor(
    name: string,
    model: SimModel,
    options: { localHolds?: boolean; settings?: BreakEvenSettings } = {},
  ) {
    const defaultBootS = (model.podBootMinS + model.podBootMaxS) / 2;
    super(name, { ...SEED_DEFAULTS, idleTimeoutMs: defaultBootS * MS });
    this.localHolds = options.localHolds ?? true;
    this.podWaitTargetS = options.settings?.podWaitTargetS ?? DEFAULT_POD_WAIT_TARGET_S;
    this.podWaitPerRun = options.settings?.podWaitPerRun ?? DEFAULT_POD_WAIT_PER_RUN;
    this.defaultBootS = defaultBootS;
    this.overheadS = serverlessOverheadS(model);
    this.lastTimeoutS = defaultBootS;
  }

  /**
   * The dispatcher serves its queue in `inDispatchOrder` (the job due to start first), and the control loop's
   * forecast reads the queue as the last pass published it, in that order.
   */
  override decide(state: SimState, now: number): Decision {
    const stats = this.stats(state);
    const queue = inDispatchOrder(
      state.queue,
      (job) => ({
        priority: 0,
        arrivalAt: job.arrivalAt,
        expectedRunS: this.durationOf(job, stats),
        deadlineAt: job.deadlineAt,
        plannedLocalStartAt: this.plannedLocalStartAt(job.id),
      }),
      this.podWaitTargetS,
      this.podWaitPerRun,
    );
    return super.decide({ ...state, queue }, now);
  }

  protected override dispatch(state: SimState): Decision {
    const seed = super.dispatch(state);
    const { model, now } = state;
    const stats = this.stats(state);
    const byId = new Map<number, QueuedJobView>(state.queue.map((job) => [job.id, job]));
    const routedTo = new Map<number, Route>(seed.route.map((route) => [route.jobId, route]));

    // When each pod can take its next job: after this pass's routes.
    // A pod this pass gives a job is free when that job should end; the others as podsFreeInS says.
    const routedPods = new Set(seed.route.flatMap((route) => (route.to === 'pod' ? [route.pod] : [])));
    const freeInS = podsFreeInS(
      state.pods
        .filter((pod) => !routedPods.has(pod.name))
        .map((pod) => ({ ...pod, busyUntil: this.podBusyUntil(pod, state) })),
      now,
      stats.bootS,
      stats.meanS,
    );
    for (const route of seed.route) {
      if (route.to === 'pod') freeInS.push(this.durationOf(byId.get(route.jobId), stats));
    }
    // Dispatcher (LocalHolds): a job bound for serverless or waiting for a pod waits instead for a busy local
    // worker that can run it when that worker should start it within its wait allowance. Such a job is neither
    // pod work nor a cloud start.
    this.passStats = stats;
    this.heldLocally =
      this.localHolds && state.local.length > 0 ? this.holdsForLocal(state, seed.route) : new Set<number>();
    // Jobs still waiting after the seed's routes, in queue order, and whether a pod should take them: a live
    // or booting pod, or else one the next tick may still start (up in a boot and a tick; a deadline job, or
    // one long enough to wait a boot). A job held only for such a pod counts as pod work in the spawn decision.
    const candidates = state.queue.filter((job) => {
      const route = routedTo.get(job.id);
      return (route === undefined || route.to === 'serverless') && !this.heldLocally.has(job.id);
    });
    const holdable = candidates.map((job) => ({
      durationS: this.durationOf(job, stats),
      deadlineInS: job.deadlineAt === undefined ? undefined : (job.deadlineAt - now) / MS,
      podOnly: job.podOnly,
      waitedS: (now - job.arrivalAt) / MS,
    }));
    const { hold, forNewPod } = holdForLiveOrNewPods(
      holdable,
      freeInS,
      Math.max(0, model.maxPods - state.pods.length),
      stats.bootS + model.tickS,
      undefined,
      this.podWaitTargetS,
      this.podWaitPerRun,
    );
    const held = new Set(candidates.filter((_, i) => hold[i]).map((job) => job.id));
    this.heldForNewPod = new Set(candidates.filter((_, i) => forNewPod[i]).map((job) => job.id));
    let slots = serverlessSlots(state.serverless.inFlight, model.serverlessMaxWorkers);
    // Dispatcher: a video leaves a free serverless worker to the images queued behind it.
    const imagesBehind = imagesBehindEach(
      state.queue,
      (job) =>
        job.kind === 'image' &&
        !job.podOnly &&
        (this.plannedBackendOf(job.id) ?? 'serverless') === 'serverless',
    );
    const positionOf = new Map(state.queue.map((job, i) => [job.id, i]));
    const route: Route[] = [];
    for (const r of seed.route) {
      if (r.to === 'serverless') {
        // Stays queued for a local worker, a pod or a free serverless worker.
        if (this.heldLocally.has(r.jobId) || held.has(r.jobId) || slots <= 0) continue;
        const job = byId.get(r.jobId);
        if (
          job &&
          videoLeavesSlotToImages({
            kind: job.kind,
            waitedS: (now - job.arrivalAt) / MS,
            runS: this.durationOf(job, stats),
            freeSlots: slots,
            imagesBehind: imagesBehind[positionOf.get(job.id)!],
          })
        )
          continue;
        slots--;
      }
      route.push(r);
      if (r.to === 'pod' || r.to === 'serverless')
        this.cloudStarts.push({
          at: now,
          arrivalAt: byId.get(r.jobId)?.arrivalAt ?? now,
          jobClass: classOf(byId.get(r.jobId)),
        });
    }
    return { ...seed, route };
  }

  /** Seam: when a queued job's deadline plan starts it on a local worker (epoch ms); null: no such plan. */
  protected plannedLocalStartAt(_jobId: number): number | null {
    return null;
  }

  /** Seam: the backend a queued job's plan chose, as already decided this pass; null: the fixed order. */
  protected plannedBackendOf(_jobId: number): JobBackend | null {
    return null;
  }

  /** Seam: whether a job may run on a local worker (the model-aware router checks its models). */
  protected mayUseLocal(job: QueuedJobView, worker: LocalWorkerView): boolean {
    return !job.failedWorkers.includes(worker.id);
  }

  /** Seam: a job's expected run on a local worker with `loaded` its last checkpoint: its class's mean here. */
  protected localRunS(job: QueuedJobView, _loaded: string | undefined, _state: SimState): number {
    return this.kindMeanRunS(job);
  }

  /** A job's expected run as the break-even policy measures it (its kind's mean, `expectedRunOfKind`). */
  private kindMeanRunS(job: QueuedJobView): number {
    return this.passStats ? this.durationOf(job, this.passStats) : 0;
  }

  /** A job's expected run in the cloud queue RoutingEstimatesService reads (`queuedJobRunS`). */
  protected queuedRunS(job: QueuedJobView): number {
    return this.passStats ? queuedJobRunS(classOf(job), this.passStats.byClass, this.passStats.meanS) : 0;
  }

  /** Seam: the run-time estimate of the job a busy local worker runs (RoutingEstimatesService's, at its start). */
  protected localRunningEstimate(
    _worker: LocalWorkerView,
    _state: SimState,
  ): { medianS: number; p90S: number } {
    const meanS = this.passStats?.meanS ?? 0;
    return { medianS: meanS, p90S: meanS };
  }

  /**
   * Seam: the run-time estimate of the job a busy pod runs (RoutingEstimatesService's for its workflow, which
   * tells a video from an image): the median and p90 of its kind's recent runs; undefined before any.
   */
  protected podRunningEstimate(pod: PodView, state: SimState): { medianS: number; p90S: number } | undefined {
    return pod.runningKind === undefined ? undefined : this.kindEstimate(pod.runningKind, state);
  }

  /** The median and p90 of a kind's recent runs (the completions the engine keeps); undefined before any. */
  private kindEstimate(kind: 'image' | 'video', state: SimState): RunEstimate | undefined {
    if (this.kindEstimates?.completed !== state.completed)
      this.kindEstimates = {
        completed: state.completed,
        estimates: runEstimatesBy(state.completed, (job) => job.kind),
      };
    return this.kindEstimates.estimates.get(kind);
  }

  private kindEstimates?: { completed: SimState['completed']; estimates: Map<string, RunEstimate> };

  /**
   * A busy pod's running job's `expectedEnd` (epoch ms), when its estimate is known: RoutingEstimatesService's
   * podBusyUntil (PodHolds, quotes).
   */
  protected podBusyUntil(pod: PodView, state: SimState): number | undefined {
    if (pod.state !== 'busy' || pod.busySince === null) return undefined;
    const estimate = this.podRunningEstimate(pod, state);
    return estimate && expectedEnd({ workerId: pod.name, startedAt: pod.busySince, ...estimate }, state.now);
  }

  /** A busy local worker's running job's `expectedEnd` (epoch ms): RoutingEstimatesService's localBusyUntil. */
  protected localBusyUntil(worker: LocalWorkerView, state: SimState): number {
    const run = {
      workerId: worker.id,
      startedAt: worker.busySince ?? state.now,
      ...this.localRunningEstimate(worker, state),
    };
    return expectedEnd(run, state.now);
  }

  /** This pass's measured durations, for the seams above. */
  private passStats?: { byClass: Record<JobClass, number>; meanS: number };

  /**
   * The jobs held for a busy local worker: the shipped `holdForLocal` over the local slots (free after this
   * pass's local routes, or at the running job's `expectedEnd`) and the jobs the cloud would take, in queue order.
   */
  private holdsForLocal(state: SimState, route: readonly Route[]): Set<number> {
    const { now } = state;
    const queueById = new Map(state.queue.map((job) => [job.id, job]));
    const loaded = new Map(state.local.map((worker) => [worker.id, worker.lastModel]));
    const freeInS = new Map(
      state.local.map((worker) => [
        worker.id,
        worker.busy ? (this.localBusyUntil(worker, state) - now) / MS : 0,
      ]),
    );
    for (const r of route) {
      const job = r.to === 'local' ? queueById.get(r.jobId) : undefined;
      if (!job || r.to !== 'local') continue;
      freeInS.set(r.workerId, this.localRunS(job, loaded.get(r.workerId), state));
      loaded.set(r.workerId, job.checkpoint);
    }
    const routeOf = new Map(route.map((r) => [r.jobId, r]));
    // LocalHolds.cloudBound and .localOnly: a job planned to local (whatever podOnly) waits for a local worker
    // whatever the wait and takes its slot first; one without a plan and not pod-only may be held.
    const candidates = state.queue.filter((job) => {
      const r = routeOf.get(job.id);
      const planned = this.plannedBackendOf(job.id);
      return (
        (r === undefined || r.to === 'serverless') &&
        (planned === 'local' || (planned === null && !job.podOnly))
      );
    });
    const workers = new Map(state.local.map((worker) => [worker.id, worker]));
    const heldFor = holdForLocal(
      candidates.map((job) => ({
        localOnly: this.plannedBackendOf(job.id) === 'local',
        waitedS: (now - job.arrivalAt) / MS,
        deadlineInS: job.deadlineAt === undefined ? undefined : (job.deadlineAt - now) / MS,
        mayUse: (id) => this.mayUseLocal(job, workers.get(id)!),
        runS: (id) => this.localRunS(job, loaded.get(id), state),
      })),
      [...freeInS].map(([workerId, s]) => ({ workerId, freeInS: s })),
      {
        waitTargetS: DEFAULT_LOCAL_WAIT_TARGET_S,
        waitPerRun: DEFAULT_LOCAL_WAIT_PER_RUN,
        deadlineMarginS: DEFAULT_DEADLINE_MARGIN_S,
      },
    );
    return new Set(
      candidates
        .filter((job, i) => heldFor[i] !== null && this.plannedBackendOf(job.id) !== 'local')
        .map((job) => job.id),
    );
  }

  protected override podsToSpawn(state: SimState, live: readonly PodView[], now: number): number {
    const stats = this.stats(state);
    if (this.startedAt < 0) this.startedAt = now;
    const since = now - stats.horizonS * MS;
    // Until a full window has been observed, the window is what has been (never shorter than a horizon).
    const upS = Math.max(stats.horizonS, (now - this.startedAt) / MS);
    const windowS = Math.min(DEFAULT_ARRIVAL_WINDOW_S, upS);
    const gapWindowS = Math.min(GAP_WINDOW_ARRIVAL_WINDOWS * DEFAULT_ARRIVAL_WINDOW_S, upS);
    const arrivedSince = now - gapWindowS * MS;
    while (this.cloudStarts.length > 0 && this.cloudStarts[0].at < Math.min(since, arrivedSince))
      this.cloudStarts.shift();
    // The dispatcher's published demand: not the jobs waiting for a local worker (held for a busy one, planned
    // to one, waiting for its warm model) or refused by the budget.
    const waiting = state.queue.filter(
      (job) => !this.heldLocally.has(job.id) && !this.notCloudDemand.has(job.id),
    );
    const recentArrivals = [
      ...this.cloudStarts.filter((start) => start.arrivalAt >= arrivedSince),
      ...waiting.map((job) => ({ arrivalAt: job.arrivalAt, jobClass: classOf(job) })),
    ].map((a) => ({ agoS: (now - a.arrivalAt) / MS, jobClass: a.jobClass }));
    const decision = decideBreakEvenScale({
      podPricePerS: state.model.podPricePerHour / 3600,
      serverlessPricePerS: state.model.serverlessPricePerSecond,
      serverlessAvailable: true,
      serverlessConcurrency: state.model.serverlessMaxWorkers,
      serverlessOverheadPerJobS: this.overheadS,
      bootS: stats.bootS,
      horizonS: stats.horizonS,
      observedDurationS: stats.byClass,
      defaultDurationS: stats.meanS,
      queue: waiting.map((job) => ({
        jobClass: classOf(job),
        podOnly: job.podOnly,
        heldForNewPod: this.heldForNewPod.has(job.id),
        mayRunLocally: !job.podOnly && state.model.localWorkers > 0,
      })),
      localSlots: state.model.localWorkers,
      pods: live.map((pod) => ({ state: pod.state })),
      maxPods: state.model.maxPods,
      recentArrivals,
      arrivalWindowS: windowS,
      gapWindowS,
      podWaitTargetS: this.podWaitTargetS,
      podWaitPerRun: this.podWaitPerRun,
    });
    this.podsWorthKeeping = decision.podsWorthKeeping;
    this.gapTimeoutsS = decision.gapTimeoutsS;
    return decision.spawn;
  }

  protected override idleTimeoutFor(pod: PodView, _now: number): number {
    const timeouts = idlePodTimeoutsS(
      this.podsNow,
      this.podsWorthKeeping,
      this.lastTimeoutS,
      undefined,
      this.gapTimeoutsS,
    );
    return (timeouts[pod.name] ?? this.lastTimeoutS) * MS;
  }

  /** BudgetService: a pod's own idle timeout once the reaper's pass (a tick) has seen it ready or busy. */
  protected override ownIdleTimeoutMs(pod: PodView): number | undefined {
    const seen = this.podsNow.find((p) => p.name === pod.name);
    if (!seen || (seen.state !== 'ready' && seen.state !== 'busy')) return undefined;
    return this.idleTimeoutFor(pod, 0);
  }

  protected override tick(state: SimState, now: number): Decision {
    this.podsNow = state.pods;
    return super.tick(state, now);
  }

  /** τ* as last computed (the reaper runs after the spawn decision on each tick). */
  private lastTimeoutS: number;

  /** The last `stats` and the snapshot it was measured on (`decide` and the pass or tick it runs read one). */
  private measured?: { pods: SimState['pods']; completed: SimState['completed']; stats: MeasuredStats };

  /** What the service would measure from its own tables, through the shipped `breakEvenParameters`. */
  private stats(state: SimState): MeasuredStats {
    const last = this.measured;
    if (last && last.pods === state.pods && last.completed === state.completed) return last.stats;
    const stats = this.measure(state);
    this.measured = { pods: state.pods, completed: state.completed, stats };
    return stats;
  }

  private measure(state: SimState): MeasuredStats {
    for (const pod of state.pods) {
      if (pod.readyAt !== null && !this.bootSeen.has(pod.name)) {
        this.bootSeen.add(pod.name);
        this.boots.push((pod.readyAt - pod.createdAt) / MS);
        if (this.boots.length > BOOT_SAMPLES) this.boots.shift();
      }
    }
    const parameters = breakEvenParameters({
      podPricePerS: state.model.podPricePerHour / 3600,
      serverlessPricePerS: state.model.serverlessPricePerSecond,
      serverlessOverheadPerJobS: this.overheadS,
      bootSamplesS: this.boots,
      defaultBootS: this.defaultBootS,
      completed: state.completed.map((job) => ({
        jobClass: classOf(job),
        durationS: job.durationS,
      })),
      // Before anything finished: one pod boot's worth, a deliberately pessimistic guess for a new service.
      defaultDurationS: this.defaultBootS,
    });
    this.lastTimeoutS = parameters.idleTimeoutS;
    return {
      byClass: parameters.byClass,
      meanS: parameters.meanJobS,
      bootS: parameters.bootS,
      horizonS: parameters.horizonS,
    };
  }

  private durationOf(
    job: QueuedJobView | undefined,
    stats: { byClass: Record<JobClass, number>; meanS: number },
  ) {
    return expectedDurationS(classOf(job), stats.byClass, stats.meanS);
  }
}

/** The measured inputs the adapter's decisions read. */
interface MeasuredStats {
  byClass: Record<JobClass, number>;
  meanS: number;
  bootS: number;
  horizonS: number;
}

/**
 * The class the service puts a job in (`jobClassOf` of its `workload_kind`): its kind, image or video; not its
 * workflow signature, which the service's break-even inputs do not use.
 */
function classOf(job: Pick<QueuedJobView, 'kind'> | undefined): JobClass {
  return jobClassOf(job?.kind);
}

/** A run-time estimate as RoutingEstimatesService keeps one: the median and p90 of the runs seen. */
export interface RunEstimate {
  medianS: number;
  p90S: number;
}

/** The median and p90 of the completed runs in each group (`keyOf`; a job without a key is left out). */
export function runEstimatesBy(
  completed: SimState['completed'],
  keyOf: (job: SimState['completed'][number]) => string | undefined,
): Map<string, RunEstimate> {
  const byKey = new Map<string, number[]>();
  for (const job of completed) {
    const key = keyOf(job);
    if (key === undefined) continue;
    const list = byKey.get(key) ?? [];
    list.push(job.durationS);
    byKey.set(key, list);
  }
  const estimates = new Map<string, RunEstimate>();
  for (const [key, list] of byKey) {
    list.sort((a, b) => a - b);
    estimates.set(key, {
      medianS: list[Math.floor(list.length / 2)],
      p90S: list[Math.floor(list.length * 0.9)],
    });
  }
  return estimates;
}

/** Billed serverless seconds per job besides its work: the expected cold start plus the idle timeout. */
export function serverlessOverheadS(model: SimModel): number {
  const missS =
    (1 - model.coldTailProb) * ((model.coldMissMinS + model.coldMissMaxS) / 2) +
    model.coldTailProb * ((model.coldTailMinS + model.coldTailMaxS) / 2);
  const hitS = model.flashBootMedianS * Math.exp((model.flashBootSigma * model.flashBootSigma) / 2);
  return model.flashBootHitProb * hitS + (1 - model.flashBootHitProb) * missS + model.serverlessIdleTimeoutS;
}
