import type { JobBackend } from '../persistence/entities/job.entity';
import { candidates, type Candidate, type CandidateInputs } from '../routing-estimates/candidates';
import { CloudQueue } from '../routing-estimates/cloud-queue';
import { serverlessWorkerFreeAt } from '../routing-estimates/serverless-queue';
import {
  needsReplan,
  plan,
  plannedBackendOf,
  replan,
  replanAfterServerlessFailure,
  replanReactionMs,
  REPLAN_START_GRACE_MS,
  REPLANS_PER_TICK,
  type Plan,
} from '../routing-estimates/plan';
import { defaultRunTime, MODEL_LOAD_SECONDS } from '../routing-estimates/run-time-defaults';
import { localWorkerOrder } from '../routing/local-worker-order';
import { replanScope } from '../routing/retry.policy';
import { waitForWarmWorker, type WarmWorker } from '../routing/warm-worker-wait.policy';
import { DEFAULT_DEADLINE_MARGIN_S } from '../cloud/policy/breakeven.policy';
import { canRun, type WorkerCapabilities, type WorkflowRequirements } from '../workflows';
import { BreakEvenPolicy, runEstimatesBy, serverlessOverheadS, type RunEstimate } from './breakeven-policy';
import { coldStartQuantileS, type SimModel } from './model';
import type {
  BreakEvenSettings,
  Decision,
  LocalWorkerView,
  PodView,
  QueuedJobView,
  SimState,
} from './policy';
import { ROUTER_MIX } from './router-workload';
import { PASS_SIZE } from './seed-policy';

/** The serverless start the router's estimates take for a warm endpoint (s). */
const SIM_WARM_START_S = 1;
/** DeadlineReplanner: a planned start may slip this much, and a job is re-planned at most this often. */
const START_GRACE_MS = REPLAN_START_GRACE_MS;
const MIN_REPLAN_GAP_MS = 10_000;
/** DeadlineReplanner: a job told its deadline will be missed is re-planned at most this often. */
const HOPELESS_REPLAN_GAP_MS = 60_000;
/** The load a run-time estimate allows when the worker's last checkpoint differs (30-70 s, §3.3). */
const MODEL_LOAD_ALLOWANCE_S = 50;
const CHECKPOINT_LOADER = 'CheckpointLoaderSimple';
export const ROUTER_NAMES = ['fixed-order', 'model-aware'] as const;
export type RouterName = (typeof ROUTER_NAMES)[number];

/**
 * The two routers of issue 11 §6, both the shipped break-even adapter (BreakEvenPolicy: decideRoute, pod holds,
 * break-even scaling, reaping) for the cloud:
 * - `fixed-order`: the router before issue 11: the first free local worker, whatever its models.
 * - `model-aware`: the shipped local order (`localWorkerOrder`, what BackendCapabilities.capableFirst calls:
 *   capable workers only, the warm checkpoint first), and for a job with a deadline the shipped planner
 *   (`candidates` + `plan`, re-planned with `needsReplan`/`replan` like DeadlineReplanner) whose backend is handed
 *   to `decideRoute` as `plannedBackend`; a job planned to serverless is not held for a pod (as the dispatcher).
 */
export function createRouter(name: RouterName, model: SimModel): BreakEvenPolicy {
  // The router before issue 11 did not wait for a busy local worker either.
  return name === 'fixed-order'
    ? new BreakEvenPolicy(name, model, { localHolds: false })
    : new ModelAwareRouter(name, model);
}

/** One plan or re-plan of a job (ModelAwareRouter.planLog); times in ms since the simulated epoch start. */
export interface PlanRecord {
  at: number;
  how: 'plan' | 'replan' | 'retry';
  podOnly: boolean;
  result: Plan['kind'];
  backend: JobBackend | null;
  candidate?: { kind: string; startAt: number; completeAt: number; runSeconds: number; costUsd: number };
  /** The earliest completion per candidate kind. */
  offered: Array<{ kind: string; startAt: number; completeAt: number }>;
}

interface PlannedJob {
  backend: JobBackend | null;
  deadline: number;
  plannedStartAt: number;
  runSeconds: number;
  checkedAt: number;
  /** Its last re-plan found nothing that makes the deadline (the service's DEADLINE_MISS_PREFIX reason). */
  hopeless: boolean;
}

/**
 * What a job's run-time estimate is learned under: its workflow signature (RoutingEstimatesService), here the
 * checkpoint of the router workloads; for a trace without signatures, its kind (image or video).
 */
function estimateKeyOf(job: Pick<QueuedJobView, 'checkpoint' | 'signature' | 'kind'>): string {
  return job.checkpoint ?? job.signature ?? job.kind;
}

export class ModelAwareRouter extends BreakEvenPolicy {
  private readonly capabilities = new Map<string, WorkerCapabilities>();
  private readonly requirements = new Map<string, WorkflowRequirements>();
  private readonly plans = new Map<number, PlannedJob>();
  /** Set to a map to keep every job's plans (bench:router --misses). */
  planLog?: Map<number, PlanRecord[]>;
  /** Per pass: busy workers with a model loaded that jobs wait for, each until its last such job should end. */
  private warmClaims = new Map<string, number>();
  /** Per pass: run-time medians per checkpoint, and each queued job's position. */
  private pass: {
    now: number;
    /** Per checkpoint (the workload's signature). */
    estimates: Map<string, RunEstimate>;
    meanS: number;
    position: Map<number, number>;
  } | null = null;

  constructor(name: string, simModel: SimModel, settings?: BreakEvenSettings) {
    super(name, simModel, { settings });
  }

  protected override dispatch(state: SimState): Decision {
    this.pass = null;
    this.warmClaims = new Map();
    const decision = super.dispatch(state);
    this.publishCloudQueue(state, decision);
    // DispatchPass: a job planned to serverless skips the break-even holds and slots.
    const routed = new Set(decision.route.map((route) => route.jobId));
    const extra = state.queue
      .slice(0, 500)
      .filter((job) => !routed.has(job.id) && this.plans.get(job.id)?.backend === 'serverless')
      .map((job) => ({ jobId: job.id, to: 'serverless' as const }));
    const queued = new Set(state.queue.map((job) => job.id));
    for (const id of this.plans.keys()) if (!queued.has(id)) this.plans.delete(id);
    return extra.length === 0 ? decision : { ...decision, route: [...decision.route, ...extra] };
  }

  protected override plannedLocalStartAt(jobId: number): number | null {
    const known = this.plans.get(jobId);
    return known?.backend === 'local' ? known.plannedStartAt : null;
  }

  protected override plannedBackendOf(jobId: number): JobBackend | null {
    return this.plans.get(jobId)?.backend ?? null;
  }

  protected override mayUseLocal(job: QueuedJobView, worker: LocalWorkerView): boolean {
    if (job.failedWorkers.includes(worker.id)) return false;
    const capabilities = this.capabilitiesOf(worker);
    return (
      !capabilities ||
      job.checkpoint === undefined ||
      canRun(this.requirementsOf(job.checkpoint), capabilities)
    );
  }

  /** The checkpoint's median (as RoutingEstimatesService learns per signature), plus a load if another is loaded. */
  protected override localRunS(job: QueuedJobView, loaded: string | undefined, state: SimState): number {
    const warm = job.checkpoint === undefined || loaded === job.checkpoint;
    // LocalHolds: RoutingEstimatesService.localRunSeconds adds its kind's MODEL_LOAD_SECONDS.
    return this.medianOf(estimateKeyOf(job), state) + (warm ? 0 : MODEL_LOAD_SECONDS[job.kind]);
  }

  protected override localRunningEstimate(
    worker: LocalWorkerView,
    state: SimState,
  ): { medianS: number; p90S: number } {
    return this.estimateOf(worker.lastModel, state);
  }

  /** The estimator's for the checkpoint of the pod's running job. */
  protected override podRunningEstimate(pod: PodView, state: SimState): { medianS: number; p90S: number } {
    return this.estimateOf(pod.runningCheckpoint ?? pod.runningKind, state);
  }

  /**
   * The median and p90 run of a checkpoint's (or a kind's: `estimateKeyOf`) jobs, as completed so far. Before any
   * has: the router workload's checkpoint median; for a job known only by its kind, the service's published
   * default for that kind (`defaultRunTime`: an image 6 s, a video 240 s at the reference size, which the
   * simulator's job shapes are drawn around); else the mean job.
   */
  private estimateOf(key: string | undefined, state: SimState): { medianS: number; p90S: number } {
    const learned = key !== undefined ? this.passFacts(state).estimates.get(key) : undefined;
    if (learned) return { medianS: learned.medianS, p90S: learned.p90S };
    const checkpointS = ROUTER_MIX.find((c) => c.checkpoint === key)?.medianS;
    if (checkpointS !== undefined) return { medianS: checkpointS, p90S: checkpointS };
    if (key === 'image' || key === 'video') return defaultRunTime({ kind: key }, 1);
    const meanS = this.passFacts(state).meanS;
    return { medianS: meanS, p90S: meanS };
  }

  private medianOf(key: string | undefined, state: SimState): number {
    return this.estimateOf(key, state).medianS;
  }

  /** LocalHolds.warmWorkerFor: the same facts, from the simulator's state. */
  protected override waitsForWarmWorker(job: QueuedJobView, workerId: string, state: SimState): boolean {
    const checkpoint = job.checkpoint;
    if (checkpoint === undefined) return false;
    if (state.local.find((worker) => worker.id === workerId)?.lastModel === checkpoint) return false;
    const warm: WarmWorker[] = [];
    for (const worker of state.local) {
      if (worker.id === workerId || !worker.busy || worker.lastModel !== checkpoint) continue;
      if (!this.mayUseLocal(job, worker)) continue;
      const freeAt = Math.max(
        this.localBusyUntil(worker, state),
        this.warmClaims.get(worker.id) ?? -Infinity,
      );
      warm.push({ workerId: worker.id, freeInS: (freeAt - state.now) / 1000 });
    }
    const runS = this.medianOf(checkpoint, state);
    const waitFor = waitForWarmWorker({
      warm,
      loadS: MODEL_LOAD_SECONDS[job.kind],
      runS,
      deadlineInS: job.deadlineAt === undefined ? undefined : (job.deadlineAt - state.now) / 1000,
      deadlineMarginS: DEFAULT_DEADLINE_MARGIN_S,
    });
    if (waitFor === null) return false;
    const freeInS = warm.find((worker) => worker.workerId === waitFor)!.freeInS;
    this.warmClaims.set(waitFor, state.now + (Math.max(0, freeInS) + runS) * 1000);
    return true;
  }

  protected override localWorkersFor(job: QueuedJobView, idle: string[], state: SimState): string[] {
    const byId = new Map(state.local.map((worker) => [worker.id, worker]));
    return localWorkerOrder({
      requirements: job.checkpoint === undefined ? null : this.requirementsOf(job.checkpoint),
      idle,
      allWorkers: state.local.map((worker) => worker.id),
      capabilitiesOf: (id) => this.capabilitiesOf(byId.get(id)),
      lastModelOf: (id) => {
        const last = byId.get(id)?.lastModel;
        return last === undefined ? undefined : `checkpoints/${last}`;
      },
      requestedBackend: 'auto',
      cloudPossible: true,
    });
  }

  protected override plannedBackendFor(job: QueuedJobView, state: SimState): JobBackend | null {
    if (job.deadlineAt === undefined) return null;
    const now = state.now;
    const known = this.plans.get(job.id);
    if (!known && job.attempts > 0) {
      // JobRunner.requeue clears a retried job's plan: its first pass routes it by its own backend, and the
      // re-planner takes it up at its next tick (the start of its old estimate has passed): `replan`, not `plan`.
      this.plans.set(job.id, {
        backend: null,
        deadline: job.deadlineAt,
        plannedStartAt: -Infinity,
        runSeconds: 0,
        checkedAt: -Infinity,
        hopeless: false,
      });
      this.log(job, now, 'retry', { kind: 'fixed-order' }, null, []);
      return null;
    }
    if (known) {
      if (
        now - known.checkedAt < (known.hopeless ? HOPELESS_REPLAN_GAP_MS : MIN_REPLAN_GAP_MS) ||
        !needsReplan(
          { deadline: known.deadline, plannedStartAt: known.plannedStartAt, runSeconds: known.runSeconds },
          now,
          START_GRACE_MS,
        ) ||
        !this.replanBudgetLeft(now, state.model.tickS)
      )
        return known.backend;
      const offered = this.candidatesFor(job, state);
      const request = this.request(job.deadlineAt, now, state.model);
      // DeadlineReplanner: a job serverless failed is re-planned with serverless as its last resort.
      const replanned = replanScope({ requestedBackend: 'auto', podOnly: job.podOnly }).afterServerlessFailure
        ? replanAfterServerlessFailure(offered, request)
        : replan(offered, request);
      return this.record(job, now, replanned, known, offered);
    }
    const offered = this.candidatesFor(job, state);
    return this.record(
      job,
      now,
      plan(offered, this.request(job.deadlineAt, now, state.model)),
      undefined,
      offered,
    );
  }

  /**
   * DeadlineReplanner re-plans at most REPLANS_PER_TICK jobs a control-loop tick: the budget, modelled per tick
   * window (the service takes the earliest deadlines and a scan through the rest; here the dispatch order).
   */
  private replanBudgetLeft(now: number, tickS: number): boolean {
    const tick = Math.floor(now / (tickS * 1000));
    if (tick !== this.replanTick) {
      this.replanTick = tick;
      this.replansThisTick = 0;
    }
    if (this.replansThisTick >= REPLANS_PER_TICK) return false;
    this.replansThisTick++;
    return true;
  }

  private replanTick = -1;
  private replansThisTick = 0;

  private log(
    job: QueuedJobView,
    now: number,
    how: PlanRecord['how'],
    p: Plan,
    backend: JobBackend | null,
    offered: readonly Candidate[],
  ): void {
    if (!this.planLog) return;
    const byKind = new Map<string, Candidate>();
    for (const c of offered) {
      const seen = byKind.get(c.kind);
      if (!seen || c.completeAt < seen.completeAt) byKind.set(c.kind, c);
    }
    const list = this.planLog.get(job.id) ?? [];
    list.push({
      at: now,
      how,
      podOnly: job.podOnly,
      result: p.kind,
      backend,
      ...(p.kind === 'pick'
        ? {
            candidate: {
              kind: p.candidate.kind,
              startAt: p.candidate.startAt,
              completeAt: p.candidate.completeAt,
              runSeconds: p.candidate.runSeconds,
              costUsd: p.candidate.costUsd,
            },
          }
        : {}),
      offered: [...byKind.values()].map((c) => ({
        kind: c.kind,
        startAt: c.startAt,
        completeAt: c.completeAt,
      })),
    });
    this.planLog.set(job.id, list);
  }

  private request(deadline: number, now: number, model: SimModel) {
    this.wayOutStartS ??= coldStartQuantileS(model, 0.9);
    return {
      preference: 'balanced' as const,
      deadline,
      maxCostUsd: null,
      now,
      reactionMs: replanReactionMs(START_GRACE_MS, model.tickS * 1000),
      wayOutStartS: this.wayOutStartS,
    };
  }

  /** RoutingEstimatesService's `wayOutStartS`: the p90 of the model's cold starts. */
  private wayOutStartS: number | undefined;

  private record(
    job: QueuedJobView,
    now: number,
    p: Plan,
    previous?: PlannedJob,
    offered: readonly Candidate[] = [],
  ): JobBackend | null {
    // DeadlineReplanner: an infeasible re-plan (no cost cap here) sends the job where it completes first. (At
    // submit the service would refuse it with a 422; the simulator leaves it to the fixed order.)
    const backend =
      p.kind === 'pick'
        ? plannedBackendOf(p)
        : previous
          ? ((p.kind === 'infeasible' ? p.best?.backend : undefined) ?? previous.backend)
          : null;
    this.log(job, now, previous ? 'replan' : 'plan', p, backend, offered);
    const candidate: Candidate | null = p.kind === 'pick' ? p.candidate : null;
    this.plans.set(job.id, {
      backend,
      deadline: job.deadlineAt!,
      plannedStartAt: candidate?.startAt ?? now,
      runSeconds: candidate?.runSeconds ?? 0,
      checkedAt: now,
      hopeless: p.kind === 'infeasible' || (p.kind === 'pick' && p.missesDeadline),
    });
    return backend;
  }

  /** What RoutingEstimatesService gathers for `candidates`, from what the simulator's state shows. */
  private candidatesFor(job: QueuedJobView, state: SimState): Candidate[] {
    const { model, now } = state;
    const pass = this.passFacts(state);
    const checkpoint = job.checkpoint;
    const { medianS: baseS, p90S } = this.estimateOf(estimateKeyOf(job), state);
    // RoutingEstimatesService.candidateInputs: not the workers the job failed on (routing avoids them).
    const local = state.local.filter(
      (worker) =>
        !job.failedWorkers.includes(worker.id) &&
        (checkpoint === undefined || !worker.models || worker.models.includes(checkpoint)),
    );
    const localById = new Map(local.map((worker) => [worker.id, worker]));
    // A job without a checkpoint loads nothing (the engine's `modelLoadS`).
    const loadS = (workerClass: string) => {
      if (checkpoint === undefined) return 0;
      const worker = localById.get(workerClass);
      return worker !== undefined && worker.lastModel === checkpoint ? 0 : MODEL_LOAD_ALLOWANCE_S;
    };
    const bootS = (model.podBootMinS + model.podBootMaxS) / 2;
    const coldStartS = serverlessOverheadS(model) - model.serverlessIdleTimeoutS;
    const saturated = state.serverless.inFlight >= model.serverlessMaxWorkers;
    const inputs: CandidateInputs = {
      now,
      runSeconds: (workerClass) => baseS + loadS(workerClass),
      runP90Seconds: (workerClass) => p90S + loadS(workerClass),
      local: local.map((worker) => ({
        id: worker.id,
        workerClass: worker.id,
        slots: 1,
        // RoutingEstimatesService.localBusyUntil: the running job's `expectedEnd` (median, p90, then overrun).
        busyUntil: worker.busy ? [this.localBusyUntil(worker, state)] : [],
      })),
      localQueueAhead: pass.position.get(job.id) ?? 0,
      ...this.cloudQueue.ahead(String(job.id)),
      aheadJobS: pass.meanS,
      pods: state.pods
        .filter((pod) => !job.failedWorkers.includes(pod.name))
        .map((pod) => ({
          name: pod.name,
          workerClass: 'pod',
          state: pod.state,
          pricePerHour: pod.costPerHour,
          createdAt: pod.createdAt,
          busySince: pod.busySince,
          busyUntil: this.podBusyUntil(pod, state),
          idleSince: pod.lastBusyAt,
        })),
      newPod:
        state.pods.length < model.maxPods
          ? {
              workerClass: 'pod',
              pricePerHour: model.podPricePerHour,
              room: model.maxPods - state.pods.length,
            }
          : null,
      bootS,
      keepAliveS: bootS,
      serverless: [
        {
          endpointId: 'serverless',
          workerClass: 'serverless',
          pricePerSecond: model.serverlessPricePerSecond,
          overheadS: serverlessOverheadS(model),
          warm: state.serverless.warmIdle > 0,
          warmStartS: SIM_WARM_START_S,
          coldStartS,
          saturated,
          queued: Math.max(0, state.serverless.inFlight - model.serverlessMaxWorkers),
          // RoutingEstimatesService: the jobs it sent there, each by its own estimate.
          freeAt: saturated
            ? serverlessWorkerFreeAt(
                (state.serverless.sent ?? []).map((sent) => ({
                  sentAt: sent.sentAt,
                  startDelayS: sent.sentWarm ? SIM_WARM_START_S : coldStartS,
                  ...this.estimateOf(estimateKeyOf(sent), state),
                })),
                model.serverlessMaxWorkers,
                SIM_WARM_START_S,
                now,
              )
            : null,
        },
      ],
    };
    // DeadlineReplanner quotes an `auto` job serverless failed over every backend (`replanScope`).
    return candidates(inputs);
  }

  /**
   * A dispatch pass (DispatchPass) publishes the jobs it left waiting for the cloud, in its order
   * (`CloudQueue`), and RoutingEstimatesService reads it: a re-planned job's pod start comes after those ahead of
   * it. Here: the queue less this pass's routes, the jobs held for a local worker and those planned to one.
   */
  private publishCloudQueue(state: SimState, decision: Decision): void {
    const routed = new Set(decision.route.map((route) => route.jobId));
    this.cloudQueue = new CloudQueue(
      state.queue
        .slice(0, PASS_SIZE)
        .filter(
          (job) =>
            !routed.has(job.id) &&
            !this.heldLocally.has(job.id) &&
            this.plans.get(job.id)?.backend !== 'local',
        )
        .map((job) => ({ id: String(job.id), runS: this.queuedRunS(job) })),
    );
  }

  private cloudQueue = new CloudQueue([]);

  private passFacts(state: SimState) {
    if (this.pass && this.pass.now === state.now) return this.pass;
    const estimates = runEstimatesBy(state.completed, (job) => job.signature ?? job.kind);
    const total = state.completed.reduce((sum, job) => sum + job.durationS, 0);
    const position = new Map<number, number>();
    let ahead = 0;
    for (const job of state.queue) {
      position.set(job.id, ahead);
      if (!job.podOnly) ahead++;
    }
    const meanS =
      state.completed.length > 0
        ? total / state.completed.length
        : ROUTER_MIX.reduce((sum, c) => sum + c.share * c.medianS, 0);
    this.pass = { now: state.now, estimates, meanS, position };
    return this.pass;
  }

  private requirementsOf(checkpoint: string): WorkflowRequirements {
    let requirements = this.requirements.get(checkpoint);
    if (!requirements) {
      requirements = {
        nodeClasses: [CHECKPOINT_LOADER],
        models: [{ folder: 'checkpoints', name: checkpoint }],
        fileInputs: [],
      };
      this.requirements.set(checkpoint, requirements);
    }
    return requirements;
  }

  /** A worker's checkpoints as the capabilities ComfyUI would report (one stable object per worker). */
  private capabilitiesOf(worker: LocalWorkerView | undefined): WorkerCapabilities | undefined {
    if (!worker?.models) return undefined;
    let capabilities = this.capabilities.get(worker.id);
    if (!capabilities) {
      capabilities = {
        nodeClasses: [CHECKPOINT_LOADER],
        models: { checkpoints: [...worker.models] },
        fetchedAt: 0,
      };
      this.capabilities.set(worker.id, capabilities);
    }
    return capabilities;
  }
}
