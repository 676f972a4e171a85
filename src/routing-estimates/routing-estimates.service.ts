import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleInit,
} from '@nestjs/common';
import { makeRoomFor } from '../common/bounded-map';
import { OnEvent } from '@nestjs/event-emitter';
import { BudgetService } from '../cloud/budget.service';
import { CLOUD_DEMAND, type CloudDemandBoard } from '../cloud/cloud-demand';
import { CloudSettingsService } from '../cloud/cloud-settings.service';
import { podWaitAllowanceS } from '../cloud/policy/breakeven.policy';
import { PodLifecycleService } from '../cloud/pod-lifecycle.service';
import { ScalingDecisionLog } from '../cloud/scaling-decisions';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import {
  JobEvents,
  type JobCompletedEvent,
  type JobFailedEvent,
  type JobQueuedEvent,
  type JobStartedEvent,
  type JobStatusEvent,
} from '../jobs/job.events';
import { LocalWorkersService } from '../local/local-workers.service';
import { takesNewJobs } from '../local/local-worker-state';
import type { JobBackend, JobEstimate, RequestedBackend } from '../persistence/entities/job.entity';
import type { PodEntity } from '../persistence/entities/pod.entity';
import { JobsRepository } from '../persistence/jobs.repository';
import { LeaderEvents } from '../persistence/leader-election.service';
import { PodsRepository } from '../persistence/pods.repository';
import { RoutingEstimatesRepository } from '../persistence/routing-estimates.repository';
import { decideRoute, type FleetSnapshot, type RouteDecision } from '../routing/routing.policy';
import { primaryModel } from '../local/local-worker-capabilities';
import { canRun, workflowProfile, type WorkflowProfile, type WorkflowRequirements } from '../workflows';
import {
  allowedBackends,
  type Candidate,
  type CandidateInputs,
  candidates,
  type PodInput,
  serverlessStartDelays,
  WARM_START_MAX_S,
} from './candidates';
import { CloudQueue, EMPTY_CLOUD_QUEUE, queuedJobRunS } from './cloud-queue';
import { gpuSpeedFactor } from './gpu-speed';
import { PlansSincePass } from './plans-since-pass';
import { RunningJobs } from './running-jobs';
import { ServerlessInFlight } from './serverless-in-flight';
import { serverlessWorkerFreeAt } from './serverless-queue';
import {
  type Plan,
  plan,
  plannedBackendOf,
  replan,
  replanAfterServerlessFailure,
  replanReactionMs,
  REPLAN_START_GRACE_MS,
} from './plan';
import {
  planPick,
  routerPick,
  withLocalHold,
  withWarmWait,
  type LocalHoldRule,
  type RouterPick,
} from './router-pick';
import { localHoldsConfigured } from '../routing/local-hold.policy';
import { endpointsFor, untriedEndpointsFirst } from '../routing/serverless-endpoint-choice';
import { MODEL_LOAD_SECONDS, type WorkflowKind, type WorkloadHint } from './run-time-defaults';
import { RunTimeEstimator, type RunTimeEstimate } from './run-time-estimator';

/** The estimator's document in `routing_estimates`. */
const DOCUMENT = 'run-times';
/** Learned state is written at most this often (and at shutdown) when it changed. */
const SAVE_MS = 30_000;
/** Fleet facts (pods, queue, prices, budget) older than this are refreshed in the background on the next use. */
const FACTS_TTL_MS = 2_000;
/** Bounds of the estimator: pairs × window numbers, about 1 MB of JSON at most. */
const MAX_PAIRS = 2_000;
const WINDOW = 32;
/** Submitted jobs' signatures kept until they end (a larger backlog reads the evicted jobs' rows at the end). */
const MAX_TRACKED = 8_192;
/** (signature, worker class) estimates kept between completions. */
const MAX_ESTIMATES_KEPT = 8_192;
/** Serverless start delays kept (warm and cold split from them). */
const START_DELAYS_KEPT = 100;
/** RunPod's default idle timeout of a serverless worker (reference/autoscaling-theory.md §3.4). */
const SERVERLESS_IDLE_S = 5;
/** Pod boots averaged for the boot-time estimate. */
const BOOT_SAMPLES = 20;
/**
 * A plan at submit counts for the next submits' plans until a dispatch pass has seen it; this long at most (clock
 * time), for an instance whose passes do not run (a follower). A leader's passes run on every submit.
 */
const PLANS_SINCE_PASS_MAX_AGE_MS = 30_000;

/** What the service keeps of a job between its submit, start and end. */
interface Tracked {
  signature: string;
  hint: WorkloadHint;
  /** Set at start: the class it runs on and when this attempt started. */
  workerClass?: string;
  backend?: JobBackend;
  startedAt?: number;
  attempt?: number;
}

/** The fleet as the estimates see it, read from the database and RunPod (cached FACTS_TTL_MS). */
interface FleetFacts {
  at: number;
  pods: PodEntity[];
  queued: number;
  /**
   * Jobs the dispatcher left waiting for the cloud, in its order (this process's demand board: the leader's
   * pass): a pod candidate starts after those ahead of the job.
   */
  cloudQueue: CloudQueue;
  bootS: number;
  newPodPricePerHour: number;
  cloudBlockedReason: string | null;
}

/** A quote: every candidate, and the one the router would pick and why. */
export interface Quote {
  signature: string;
  runTimeSource: RunTimeEstimate['source'];
  candidates: Candidate[];
  pick: RouterPick;
  /** The planner's answer (plan.ts): `fixed-order` when the routing policy's fixed order decides. */
  plan: Plan;
}

/** The job being estimated (a submit, a quote or a re-plan). */
export interface EstimatedJob {
  /** A queued job's id (a re-plan): it waits behind the jobs ahead of it, not behind the whole queue. */
  id?: string;
  workflow: Record<string, unknown>;
  backend?: RequestedBackend;
  /** Complete by (epoch ms). */
  deadline?: number | null;
  maxCostUsd?: number | null;
  /** Workers (local ids, pod names) a queued job failed on: routing never gives it to them again. */
  failedWorkers?: readonly string[];
}

/** A submitted (or re-planned) job's plan: what to store on its row. */
export interface JobPlan {
  estimate: JobEstimate | null;
  plannedBackend: JobBackend | null;
  plan: Plan;
}

/**
 * The run-time estimator wired to the service: it learns from every completed job (its workflow signature ×
 * worker class: the local worker id, `pod:<gpuType>` or `serverless:<endpointId>`), keeps its state in
 * `routing_estimates` (restored at boot, saved every SAVE_MS when changed and at shutdown), and gathers the
 * fleet's inputs for the pure candidate functions (candidates.ts): the quote route and each submitted job's
 * estimate. A submit reads nothing from the database: it uses the fleet facts cached at most FACTS_TTL_MS ago
 * (refreshed in the background); a quote reads them fresh.
 */
@Injectable()
export class RoutingEstimatesService
  implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown
{
  private readonly logger = new Logger('RoutingEstimates');
  private estimator = this.newEstimator();
  private readonly tracked = new Map<string, Tracked>();
  private readonly running = new RunningJobs();
  /** Start delays of serverless jobs sent while the endpoint was likely warm, and while it was not. */
  private warmStartsS: number[] = [];
  private coldStartsS: number[] = [];
  /** `serverlessStartDelays` of the samples above until one is added (a submit asks for it twice). */
  private startDelaysKnown: ReturnType<typeof serverlessStartDelays> | null = null;
  private readonly serverlessInFlight = new ServerlessInFlight(MAX_TRACKED, SERVERLESS_IDLE_S);
  private readonly plansSincePass = new PlansSincePass(MAX_TRACKED, PLANS_SINCE_PASS_MAX_AGE_MS);
  /**
   * The estimator's answers by signature and worker class until it learns something (a completion can move any
   * estimate: a transferred one follows its donor, eviction drops pairs). A submit asks for every candidate class;
   * with a backlog, submits come far more often than completions (about 40 us a submit saved).
   */
  private readonly estimates = new Map<string, RunTimeEstimate>();
  /** The dispatcher's wait for a busy local worker (break-even policy only, LOCAL_WAIT_*); null when off. */
  private readonly localHoldRule: LocalHoldRule | null;
  private dirty = false;
  private saveTimer?: NodeJS.Timeout;
  private saving: Promise<void> | null = null;
  private facts: FleetFacts | null = null;
  private refreshing: Promise<FleetFacts> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOUD_DEMAND) private readonly demand: CloudDemandBoard,
    private readonly documents: RoutingEstimatesRepository,
    private readonly jobs: JobsRepository,
    private readonly pods: PodsRepository,
    private readonly local: LocalWorkersService,
    private readonly lifecycle: PodLifecycleService,
    private readonly settings: CloudSettingsService,
    private readonly budget: BudgetService,
    private readonly scaling: ScalingDecisionLog,
    private readonly clock: Clock,
  ) {
    demand.onQueueRouted((read) => this.plansSincePass.seenBy(read));
    const { breakEven } = config.cloud;
    this.localHoldRule = localHoldsConfigured(config.cloud)
      ? {
          allowanceS: (runS) =>
            podWaitAllowanceS(runS, breakEven.localWaitTargetS, breakEven.localWaitPerRun),
        }
      : null;
  }

  async onModuleInit(): Promise<void> {
    await this.restore();
  }

  onApplicationBootstrap(): void {
    this.saveTimer = setInterval(() => void this.save(), SAVE_MS);
    this.saveTimer.unref();
    void this.refreshFacts().catch(() => undefined);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.saveTimer);
    await this.save();
  }

  /** A new leader starts from what the previous one saved (only the leader observes completions). */
  @OnEvent(LeaderEvents.Acquired)
  async onLeadership(): Promise<void> {
    await this.save();
    await this.restore();
  }

  // ------------------------------------------------------------------ estimates

  /**
   * A submitted job's plan and estimate. A job with a deadline or maxCostUsd is planned on fleet facts read now
   * when none are cached yet (its constraints are worth one read); others use the cached facts (no database
   * read on a submit). Throws only for an unreadable workflow when the job has constraints (it cannot be planned);
   * the caller answers `infeasible` plans (422).
   */
  async planAtSubmit(
    jobId: string,
    job: EstimatedJob,
    requirements: WorkflowRequirements | null,
  ): Promise<JobPlan & { workloadKind: WorkflowKind | null }> {
    const constrained = (job.deadline ?? null) !== null || (job.maxCostUsd ?? null) !== null;
    let workloadKind: WorkflowKind | null = null;
    try {
      const profile = workflowProfile(job.workflow);
      workloadKind = profile.kind;
      this.track(jobId, { signature: profile.signature, hint: hintOf(profile) });
      const facts = constrained && !this.facts ? await this.refreshFacts() : this.factsNow();
      const quote = this.quoteWith(profile, job, requirements, facts, 'submit');
      this.plannedAtSubmit(jobId, quote);
      const { estimate, plannedBackend, plan } = this.jobPlan(quote);
      return { estimate, plannedBackend, plan, workloadKind };
    } catch (error) {
      if (constrained) throw error;
      this.logger.debug(`No estimate for job ${jobId}: ${(error as Error).message}`);
      return { estimate: null, plannedBackend: null, plan: { kind: 'fixed-order' }, workloadKind };
    }
  }

  /**
   * A queued job's re-plan (its deadline nears, or its planned start passed): serverless when that still makes
   * the deadline, else the planner over every candidate now (plan.ts `replan`), from fleet facts at most
   * FACTS_TTL_MS old. A job serverless failed (`afterServerlessFailure`, retry.policy.ts `replanScope`) goes to
   * serverless again only when nothing else makes the deadline (`replanAfterServerlessFailure`).
   */
  async replanQueued(
    job: EstimatedJob & { deadline: number },
    requirements: WorkflowRequirements | null,
    afterServerlessFailure = false,
  ): Promise<JobPlan> {
    const profile = workflowProfile(job.workflow);
    const facts =
      this.facts && this.clock.now() - this.facts.at <= FACTS_TTL_MS ? this.facts : await this.refreshFacts();
    const planning = afterServerlessFailure ? 'replan-after-serverless-failure' : 'replan';
    return this.jobPlan(this.quoteWith(profile, job, requirements, facts, planning));
  }

  /** The next submits plan behind this one until a dispatch pass has seen it (`PlansSincePass`). */
  private plannedAtSubmit(jobId: string, quote: Quote): void {
    const candidate = quote.pick.candidate;
    if (!candidate) return;
    const now = this.clock.now();
    // Serverless: the start it would get were a worker free, by whether its endpoint is warm now (pods: unused).
    const delays = this.startDelays();
    const warm =
      candidate.backend === 'serverless' &&
      candidate.workerId !== null &&
      this.serverlessInFlight.likelyWarm(candidate.workerId, now);
    this.plansSincePass.planned(jobId, candidate, warm ? delays.warmS : delays.coldS, now);
  }

  /** A pass that reads the queue from now on sees the job: its plan counts until that pass has routed it. */
  @OnEvent(JobEvents.Queued)
  onQueued(event: JobQueuedEvent): void {
    this.plansSincePass.queued(event.jobId, this.demand.queueReads);
  }

  private jobPlan(quote: Quote): JobPlan {
    return {
      estimate: estimateOf(quote.pick.candidate),
      plannedBackend: plannedBackendOf(quote.plan),
      plan: quote.plan,
    };
  }

  /** Every candidate for a job and the router's pick, from fleet facts read now. */
  async quote(job: EstimatedJob, requirements: WorkflowRequirements | null): Promise<Quote> {
    const profile = workflowProfile(job.workflow);
    const facts = await this.refreshFacts();
    return this.quoteWith(profile, job, requirements, facts, 'submit');
  }

  /** The learned state, for tests and the status page. */
  snapshot(): { pairs: number; startDelays: number } {
    return { pairs: this.estimator.size, startDelays: this.warmStartsS.length + this.coldStartsS.length };
  }

  private quoteWith(
    profile: WorkflowProfile,
    job: EstimatedJob,
    requirements: WorkflowRequirements | null,
    facts: FleetFacts | null,
    planning: 'submit' | 'replan' | 'replan-after-serverless-failure',
  ): Quote {
    const requested = job.backend ?? 'auto';
    const now = this.clock.now();
    const hint = hintOf(profile);
    const allowed = allowedBackends(requested);
    const estimate = (workerClass: string) => this.estimateOf(profile.signature, workerClass, hint);
    const delays = this.startDelays();
    const inputs = this.candidateInputs(
      now,
      allowed,
      requirements,
      facts,
      delays,
      estimate,
      new Set(job.failedWorkers ?? []),
      job.id,
    );
    const all = candidates(inputs);
    const request = {
      preference: this.settings.get().routingPreference,
      deadline: job.deadline ?? null,
      maxCostUsd: job.maxCostUsd ?? null,
      now,
      reactionMs: replanReactionMs(REPLAN_START_GRACE_MS, this.config.cloud.tickIntervalMs),
      wayOutStartS: delays.coldP90S,
    };
    const replanner = planning === 'replan' ? replan : replanAfterServerlessFailure;
    const chosen =
      planning === 'submit' || request.deadline === null
        ? plan(all, request)
        : replanner(all, { ...request, deadline: request.deadline });
    const decision = decideRoute(
      { requestedBackend: requested, podOnly: requested === 'pod', plannedBackend: plannedBackendOf(chosen) },
      this.fleetSnapshot(inputs, facts),
    );
    const pick =
      chosen.kind !== 'fixed-order'
        ? planPick(chosen, decision)
        : this.fixedOrderPick(requested, decision, all, now, requirements, hint);
    return {
      signature: profile.signature,
      runTimeSource: pick.candidate ? estimate(pick.candidate.workerClass).source : 'default',
      candidates: all,
      pick,
      plan: chosen,
    };
  }

  /**
   * The fixed order's pick, with the dispatcher's waits under the break-even policy (LocalHolds): an `auto` job
   * bound for the cloud waits for a local worker that starts it within its allowance, and a job given an idle
   * worker without its model loaded waits for a busy one that has it, when that one frees before a load would end.
   */
  private fixedOrderPick(
    requested: RequestedBackend,
    decision: RouteDecision,
    all: readonly Candidate[],
    now: number,
    requirements: WorkflowRequirements | null,
    hint: WorkloadHint,
  ): RouterPick {
    const pick = routerPick(decision, all);
    if (!this.localHoldRule) return pick;
    if (requested === 'auto' && decision.kind !== 'local')
      return withLocalHold(pick, decision, all, now, this.localHoldRule);
    const model = requirements ? primaryModel(requirements) : undefined;
    if (model === undefined) return pick;
    return withWarmWait(pick, decision, all, now, {
      hasModelLoaded: (workerId) => this.local.lastModelOf(workerId) === model,
      loadS: MODEL_LOAD_SECONDS[hint.kind],
    });
  }

  private candidateInputs(
    now: number,
    allowed: ReadonlySet<string>,
    requirements: WorkflowRequirements | null,
    facts: FleetFacts | null,
    delays: ReturnType<typeof serverlessStartDelays>,
    runEstimate: (workerClass: string) => { medianS: number; p90S: number },
    failedOn: ReadonlySet<string> = new Set(),
    jobId?: string,
  ): CandidateInputs {
    const parameters = this.scaling.parametersInForce();
    const policy = this.config.cloud.breakEven;
    const aheadJobS = this.typicalJobS();
    const settings = this.settings.get();
    const runningByWorker = this.running.localEndsByWorker(now);
    const local = allowed.has('local')
      ? this.local
          .list()
          .filter((worker) => worker.healthy && takesNewJobs(worker.state) && !failedOn.has(worker.id))
          .filter((worker) => {
            const capabilities = this.local.capabilitiesOf(worker.id);
            return !requirements || !capabilities || canRun(requirements, capabilities);
          })
          .map((worker) => ({
            id: worker.id,
            workerClass: worker.id,
            slots: worker.maxConcurrent,
            busyUntil: this.busyUntil(runningByWorker.get(worker.id), worker.running, now, aheadJobS),
          }))
      : [];
    const podEnds = this.podBusyUntil();
    const pods: PodInput[] = allowed.has('pod')
      ? (facts?.pods ?? [])
          .filter(
            (pod) => pod.state !== 'terminating' && pod.drainRequestedAt === null && !failedOn.has(pod.name),
          )
          .map((pod) => ({
            name: pod.name,
            workerClass: podClass(pod.gpuTypeId),
            state: pod.state === 'ready' || pod.state === 'busy' ? pod.state : 'starting',
            pricePerHour: pod.costPerHour,
            createdAt: pod.createdAt ?? pod.requestedAt,
            busySince: pod.busySince,
            busyUntil: podEnds.get(pod.name),
            idleSince: pod.lastBusyAt ?? pod.readyAt,
          }))
      : [];
    const livePods = facts?.pods.length ?? 0;
    const podsPossible = this.lifecycle.canSpawnPods() && settings.maxPods > 0;
    const serverlessOn = this.lifecycle.isAvailable() && allowed.has('serverless');
    // In the dispatcher's order: a retry tries an endpoint that has not failed the job first.
    const endpoints = serverlessOn
      ? untriedEndpointsFirst(endpointsFor(this.config.runpod.serverlessEndpoints, requirements), [
          ...failedOn,
        ])
      : [];
    const maxWorkers = this.serverlessMaxWorkers();
    return {
      now,
      runSeconds: (workerClass) => runEstimate(workerClass).medianS,
      runP90Seconds: (workerClass) => runEstimate(workerClass).p90S,
      local,
      localQueueAhead: facts?.queued ?? 0,
      ...(facts?.cloudQueue ?? EMPTY_CLOUD_QUEUE).ahead(jobId, this.plansSincePass.podWork(now)),
      aheadJobS,
      pods,
      newPod:
        allowed.has('pod') && podsPossible && livePods < settings.maxPods
          ? {
              workerClass: podClass(settings.gpuTypeId),
              pricePerHour: facts?.newPodPricePerHour ?? 0,
              room: settings.maxPods - livePods,
            }
          : null,
      bootS: facts?.bootS ?? parameters?.bootS ?? policy.defaultBootS,
      keepAliveS: settings.idleTimeoutMs / 1000,
      // RUNPOD_SERVERLESS_MAX_WORKERS (or what RunPod says of the primary) is taken for every endpoint.
      serverless: endpoints.map((endpoint) => {
        // Sent, and planned onto it at submit but not yet read from the queue by a dispatch pass.
        const planned = this.plansSincePass.serverlessOn(endpoint.id, now);
        const inFlight = this.serverlessInFlight.load(endpoint.id).inFlight + planned.length;
        return {
          endpointId: endpoint.id,
          workerClass: serverlessClass(endpoint.id),
          pricePerSecond: endpoint.pricePerSecond,
          overheadS: policy.serverlessOverheadS,
          warm: this.serverlessInFlight.likelyWarm(endpoint.id, now),
          warmStartS: delays.warmS,
          coldStartS: delays.coldS,
          saturated: inFlight >= maxWorkers,
          queued: Number.isFinite(maxWorkers) ? Math.max(0, inFlight - maxWorkers) : 0,
          freeAt:
            inFlight >= maxWorkers
              ? serverlessWorkerFreeAt(
                  [...this.serverlessInFlight.inFlightOn(endpoint.id), ...planned],
                  maxWorkers,
                  delays.warmS,
                  now,
                )
              : null,
        };
      }),
    };
  }

  /**
   * When each of a local worker's `running` slots is expected to free (epoch ms, soonest first): the run-time
   * estimates of the jobs this process started there (LocalHolds, the dispatcher's wait for a busy local worker).
   */
  localBusyUntil(workerId: string, running: number): number[] {
    return this.busyUntil(this.localKnownEnds(workerId), running, this.clock.now(), this.typicalJobS());
  }

  /**
   * The expected ends (epoch ms, soonest first) of the jobs this process started on a local worker and that run
   * there now; a job it did not start (one from before a restart) has none, so a caller can tell a worker whose
   * every slot is estimated from one with a guess in it.
   */
  localKnownEnds(workerId: string): number[] {
    return this.running.localEnds(workerId, this.clock.now());
  }

  /**
   * When the job this process started on each pod is expected to end (epoch ms; its `expectedEnd`), by pod name.
   * A pod missing from it runs a job this process did not start (one from before a restart). Quotes and the
   * dispatcher's wait for a pod (PodHolds).
   */
  podBusyUntil(): Map<string, number> {
    return this.running.podEnds(this.clock.now());
  }

  /** The typical job's run (s): the mean the control loop measured, else CLOUD_POLICY_DEFAULT_JOB_SECONDS. */
  private typicalJobS(): number {
    return this.scaling.parametersInForce()?.meanJobS ?? this.config.cloud.breakEven.defaultJobS;
  }

  /**
   * A queued job's expected run on a local worker (seconds): the median learned for its workflow signature there
   * (published defaults until timed), plus a model load (MODEL_LOAD_SECONDS of its kind) when the worker does not
   * have the job's model loaded; the typical job when its workflow was not seen by this process.
   */
  localRunSeconds(jobId: string, workerId: string, modelLoaded: boolean): number {
    const tracked = this.tracked.get(jobId);
    if (!tracked) return this.typicalJobS();
    const { medianS } = this.estimateOf(tracked.signature, this.classOf('local', workerId), tracked.hint);
    return medianS + (modelLoaded ? 0 : MODEL_LOAD_SECONDS[tracked.hint.kind]);
  }

  /**
   * The model load a queued job would do first on a worker without its model (MODEL_LOAD_SECONDS of its kind);
   * 0 when its workflow was not seen by this process (its kind is unknown: no wait is judged on a guess).
   */
  modelLoadSeconds(jobId: string): number {
    const tracked = this.tracked.get(jobId);
    return tracked ? MODEL_LOAD_SECONDS[tracked.hint.kind] : 0;
  }

  /** `running` slots' expected ends, soonest first; a job this process did not start: half a typical job left. */
  private busyUntil(known: number[] | undefined, running: number, now: number, aheadJobS: number): number[] {
    const ends = [...(known ?? [])].sort((a, b) => a - b);
    const unknown = Math.max(0, running - ends.length);
    return [...ends, ...Array<number>(unknown).fill(now + (aheadJobS * 1000) / 2)].slice(0, running);
  }

  /** What the dispatcher's routing policy would see for this job now. */
  private fleetSnapshot(inputs: CandidateInputs, facts: FleetFacts | null): FleetSnapshot {
    const settings = this.settings.get();
    return {
      idleLocalWorkers: inputs.local
        .filter((worker) => worker.busyUntil.length < worker.slots)
        .map((worker) => worker.id),
      localWorkersExist: this.local.list().length > 0,
      idlePods: (facts?.pods ?? []).filter((pod) => pod.state === 'ready').length,
      podsPossible: this.lifecycle.canSpawnPods() && settings.maxPods > 0,
      // An endpoint that can run this job (the dispatcher sends a job only to an endpoint declaring its models).
      serverlessAvailable: inputs.serverless.length > 0,
      preferServerless: settings.preferServerless,
      cloudBlockedReason: facts?.cloudBlockedReason ?? null,
    };
  }

  // ------------------------------------------------------------------ fleet facts

  /** The cached facts; refreshed in the background when older than FACTS_TTL_MS. */
  private factsNow(): FleetFacts | null {
    if (!this.facts || this.clock.now() - this.facts.at > FACTS_TTL_MS)
      void this.refreshFacts().catch((error: Error) =>
        this.logger.warn(`Could not read the fleet for estimates: ${error.message}`),
      );
    return this.facts;
  }

  private refreshFacts(): Promise<FleetFacts> {
    this.refreshing ??= this.readFacts().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  /**
   * The dispatcher's last published cloud queue, each job with its kind's measured mean run (the break-even
   * parameters), its kind's published default before any has run (`queuedJobRunS`), the typical job for a job
   * counted but not listed.
   */
  private cloudQueue(): CloudQueue {
    const demand = this.demand.current();
    const byClass = this.scaling.parametersInForce()?.byClass;
    const typicalS = this.typicalJobS();
    const listed = demand.queuedJobs.map((job) => ({
      id: job.jobId ?? '',
      runS: queuedJobRunS(job.jobClass, byClass, typicalS),
    }));
    const unlisted = Math.max(0, demand.waitingForCloud - listed.length);
    return new CloudQueue([
      ...listed,
      ...Array.from({ length: unlisted }, () => ({ id: '', runS: typicalS })),
    ]);
  }

  private async readFacts(): Promise<FleetFacts> {
    const cloud = this.lifecycle.isAvailable();
    const [pods, queuedRows, recent] = await Promise.all([
      cloud ? this.pods.findLive() : Promise.resolve([]),
      this.jobs.countBy('status', { status: 'queued' }),
      cloud ? this.pods.findRecent(BOOT_SAMPLES * 2) : Promise.resolve([]),
    ]);
    const boots = recent
      .filter((pod) => pod.readyAt !== null && pod.origin !== 'adopted')
      .slice(0, BOOT_SAMPLES)
      .map((pod) => (pod.readyAt! - (pod.createdAt ?? pod.requestedAt)) / 1000)
      .filter((s) => s > 0);
    const canSpawn = this.lifecycle.canSpawnPods();
    const facts: FleetFacts = {
      at: this.clock.now(),
      pods,
      queued: queuedRows.reduce((sum, row) => sum + row.count, 0),
      // current() copies every queued arrival: read once per refresh, not per submit.
      cloudQueue: this.cloudQueue(),
      bootS:
        boots.length > 0
          ? boots.reduce((a, b) => a + b, 0) / boots.length
          : (this.scaling.parametersInForce()?.bootS ?? this.config.cloud.breakEven.defaultBootS),
      newPodPricePerHour: canSpawn ? await this.budget.pricePerHour(this.settings.get().gpuTypeId) : 0,
      cloudBlockedReason: cloud ? await this.budget.cloudJobBlockedReason() : null,
    };
    this.facts = facts;
    return facts;
  }

  // ------------------------------------------------------------------ learning

  @OnEvent(JobEvents.Started)
  onStarted(event: JobStartedEvent): void {
    this.plansSincePass.forget(event.jobId);
    const tracked = this.tracked.get(event.jobId);
    const workerClass = this.classOf(event.backend, event.workerId);
    if (event.backend === 'serverless') this.serverlessStarted(event.jobId, event.workerId);
    if (!tracked) return;
    const now = this.clock.now();
    Object.assign(tracked, { backend: event.backend, workerClass, startedAt: now, attempt: event.attempt });
    if (event.backend === 'local' || event.backend === 'pod') {
      const { medianS, p90S } = this.estimateOf(tracked.signature, workerClass, tracked.hint);
      this.running.started(event.jobId, event.backend, {
        workerId: event.workerId,
        startedAt: now,
        medianS,
        p90S,
      });
    }
  }

  @OnEvent(JobEvents.Completed)
  async onCompleted(event: JobCompletedEvent): Promise<void> {
    try {
      const tracked = this.tracked.get(event.jobId);
      this.tracked.delete(event.jobId);
      this.plansSincePass.forget(event.jobId);
      this.running.ended(event.jobId);
      // RunPod's delayTime is the job's time in the endpoint's queue. Sent while a worker was free, that is the
      // worker's start (warm, or a cold start); sent while every worker was busy, it is mostly the wait behind
      // the jobs ahead, which the candidates count on their own (`saturated`, `queued`). Taken as a start delay,
      // a batch queued at RunPod once made serverless look minutes from starting for the next 100 jobs.
      const sent = this.serverlessInFlight.ended(event.jobId, this.clock.now());
      if (event.serverlessStartDelayMs !== undefined && sent && !sent.queuedBehind) {
        const samples = sent.sentWarm ? this.warmStartsS : this.coldStartsS;
        samples.push(event.serverlessStartDelayMs / 1000);
        this.startDelaysKnown = null;
        if (samples.length > START_DELAYS_KEPT) samples.shift();
        this.dirty = true;
      }
      const seconds = this.runSecondsOf(event, tracked);
      if (seconds === null) return;
      const known = tracked ?? (await this.trackedFromRow(event.jobId));
      const workerClass = tracked?.workerClass ?? (await this.classFromRow(event.jobId, event.backend));
      if (!known || !workerClass) return;
      if (this.estimator.observe(known.signature, workerClass, seconds, known.hint)) {
        this.dirty = true;
        this.estimates.clear();
      }
    } catch (error) {
      this.logger.warn(`Could not learn from job ${event.jobId}: ${(error as Error).message}`);
    }
  }

  @OnEvent(JobEvents.Failed)
  onFailed(event: JobFailedEvent): void {
    this.ended(event.jobId);
  }

  @OnEvent(JobEvents.Cancelled)
  onCancelled(event: JobStatusEvent): void {
    this.ended(event.jobId);
  }

  /** A job that ended without a run to learn from: forgotten, and its worker or endpoint counts it no more. */
  private ended(jobId: string): void {
    this.plansSincePass.forget(jobId);
    this.serverlessInFlight.ended(jobId, this.clock.now());
    this.tracked.delete(jobId);
    this.running.ended(jobId);
  }

  @OnEvent(JobEvents.Requeued)
  onRequeued(event: { jobId: string }): void {
    const tracked = this.tracked.get(event.jobId);
    this.running.ended(event.jobId);
    this.serverlessInFlight.ended(event.jobId, this.clock.now());
    if (tracked) Object.assign(tracked, { backend: undefined, workerClass: undefined, startedAt: undefined });
  }

  /**
   * The attempt's run seconds: serverless from RunPod's real start (the event's duration, first attempts only);
   * local and pods from this attempt's dispatch (the event's duration spans every attempt).
   */
  private runSecondsOf(event: JobCompletedEvent, tracked: Tracked | undefined): number | null {
    if (event.backend === 'serverless') {
      if (event.serverlessStartDelayMs === undefined && (tracked?.attempt ?? 1) !== 1) return null;
      return event.durationMs / 1000;
    }
    if (tracked?.startedAt !== undefined) return (this.clock.now() - tracked.startedAt) / 1000;
    return null; // started by another process: its duration may span attempts and a restart
  }

  private serverlessStarted(jobId: string, endpointId: string): void {
    const tracked = this.tracked.get(jobId);
    const typicalS = this.typicalJobS();
    const { medianS, p90S } = tracked
      ? this.estimateOf(tracked.signature, serverlessClass(endpointId), tracked.hint)
      : { medianS: typicalS, p90S: typicalS };
    const delays = this.startDelays();
    this.serverlessInFlight.sent(
      jobId,
      endpointId,
      this.clock.now(),
      this.serverlessMaxWorkers(),
      (sentWarm) => ({
        startDelayS: sentWarm ? delays.warmS : delays.coldS,
        medianS,
        p90S,
      }),
    );
  }

  private startDelays(): ReturnType<typeof serverlessStartDelays> {
    this.startDelaysKnown ??= serverlessStartDelays(this.warmStartsS, this.coldStartsS);
    return this.startDelaysKnown;
  }

  /** RUNPOD_SERVERLESS_MAX_WORKERS, or what RunPod says of the primary endpoint (Infinity: unknown). */
  private serverlessMaxWorkers(): number {
    return (
      this.scaling.parametersInForce()?.serverlessMaxWorkers ??
      this.config.cloud.breakEven.serverlessMaxWorkers ??
      Infinity
    );
  }

  private estimateOf(signature: string, workerClass: string, hint: WorkloadHint): RunTimeEstimate {
    // The hint is the workflow's own (kind, size, steps, frames), which its signature already covers.
    const key = `${signature}\u0000${workerClass}`;
    let found = this.estimates.get(key);
    if (!found) {
      found = this.estimator.estimate(signature, workerClass, hint);
      makeRoomFor(this.estimates, MAX_ESTIMATES_KEPT);
      this.estimates.set(key, found);
    }
    return found;
  }

  private track(jobId: string, tracked: Tracked): void {
    makeRoomFor(this.tracked, MAX_TRACKED);
    this.tracked.set(jobId, tracked);
  }

  private async trackedFromRow(jobId: string): Promise<Tracked | null> {
    const row = await this.jobs.findById(jobId);
    if (!row) return null;
    const profile = workflowProfile(JSON.parse(row.workflow));
    return { signature: profile.signature, hint: hintOf(profile) };
  }

  private async classFromRow(jobId: string, backend: JobBackend): Promise<string | null> {
    const row = await this.jobs.findById(jobId);
    return row?.workerId ? this.classOf(backend, row.workerId) : null;
  }

  /** The estimator's class of a worker; a pod's GPU type from the cached facts. */
  private classOf(backend: JobBackend, workerId: string): string {
    switch (backend) {
      case 'local':
        return workerId;
      case 'serverless':
        return serverlessClass(workerId);
      case 'pod': {
        const pod = this.facts?.pods.find((p) => p.name === workerId);
        if (pod) return podClass(pod.gpuTypeId);
        // Not in the cached facts (spawned since): the configured GPU type is the likeliest.
        return podClass(this.settings.get().gpuTypeId);
      }
    }
  }

  // ------------------------------------------------------------------ persistence

  private newEstimator(state?: unknown): RunTimeEstimator {
    const options = { window: WINDOW, maxPairs: MAX_PAIRS, speedOf: (c: string) => this.speedOf(c) };
    return state === undefined ? new RunTimeEstimator(options) : RunTimeEstimator.fromJSON(state, options);
  }

  /** A local worker's speed from the GPU it reported; pods and endpoints by the GPU in their class. */
  private speedOf(workerClass: string): number {
    const worker = this.local?.get(workerClass);
    if (worker?.gpu?.name) return gpuSpeedFactor(worker.gpu.name);
    return gpuSpeedFactor(workerClass);
  }

  private async restore(): Promise<void> {
    try {
      const state = (await this.documents.load(DOCUMENT)) as {
        estimator?: unknown;
        serverlessWarmStartsS?: unknown;
        serverlessColdStartsS?: unknown;
        serverlessStartDelaysS?: unknown;
      } | null;
      this.estimator = this.newEstimator(state?.estimator ?? null);
      this.estimates.clear();
      if (state?.serverlessWarmStartsS !== undefined || state?.serverlessColdStartsS !== undefined) {
        this.warmStartsS = delaySamples(state.serverlessWarmStartsS);
        this.coldStartsS = delaySamples(state.serverlessColdStartsS);
      } else {
        // Saved before the samples were kept by how each job was sent: split by the delay alone.
        const delays = delaySamples(state?.serverlessStartDelaysS);
        this.warmStartsS = delays.filter((d) => d <= WARM_START_MAX_S);
        this.coldStartsS = delays.filter((d) => d > WARM_START_MAX_S);
      }
      this.startDelaysKnown = null;
    } catch (error) {
      this.logger.warn(`Could not restore the run-time estimates: ${(error as Error).message}`);
    }
  }

  /** Writes the learned state when it changed since the last write. */
  async save(): Promise<void> {
    if (this.saving) return this.saving;
    if (!this.dirty) return;
    this.dirty = false;
    const state = {
      estimator: this.estimator.toJSON(),
      serverlessWarmStartsS: this.warmStartsS,
      serverlessColdStartsS: this.coldStartsS,
    };
    this.saving = this.documents
      .save(DOCUMENT, state, this.clock.now())
      .catch((error: Error) => {
        this.dirty = true;
        this.logger.warn(`Could not save the run-time estimates: ${error.message}`);
      })
      .finally(() => {
        this.saving = null;
      });
    return this.saving;
  }
}

function estimateOf(pick: Candidate | null): JobEstimate | null {
  if (!pick) return null;
  return {
    backend: pick.backend,
    workerClass: pick.workerClass,
    startAt: pick.startAt,
    completeAt: pick.completeAt,
    costUsd: pick.costUsd,
    runSeconds: pick.runSeconds,
  };
}

const podClass = (gpuTypeId: string) => `pod:${gpuTypeId}`;
const serverlessClass = (endpointId: string) => `serverless:${endpointId}`;

function hintOf(profile: WorkflowProfile): WorkloadHint {
  return {
    kind: profile.kind,
    width: profile.width,
    height: profile.height,
    steps: profile.steps,
    frames: profile.frames,
    batch: profile.batch,
  };
}

/** Start-delay samples as saved: finite, non-negative numbers, the newest START_DELAYS_KEPT. */
function delaySamples(saved: unknown): number[] {
  return (Array.isArray(saved) ? saved : [])
    .filter((d): d is number => typeof d === 'number' && Number.isFinite(d) && d >= 0)
    .slice(-START_DELAYS_KEPT);
}
