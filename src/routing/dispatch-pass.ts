import { Inject, Injectable } from '@nestjs/common';
import { CLOUD_DEMAND, type CloudDemandBoard, type QueuedCloudJob } from '../cloud/cloud-demand';
import type { BudgetAdmission } from '../cloud/budget-admission';
import { BudgetService } from '../cloud/budget.service';
import { CloudSettingsService } from '../cloud/cloud-settings.service';
import { PodLifecycleService } from '../cloud/pod-lifecycle.service';
import { expectedRunOfKind, jobClassOf, serverlessSlots } from '../cloud/policy/breakeven.policy';
import type { MeasuredParameters } from '../cloud/measured-parameters';
import { ScalingDecisionLog } from '../cloud/scaling-decisions';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { parseJson } from '../jobs/job-view';
import { LocalWorkersService } from '../local/local-workers.service';
import type { JobEntity, JobEstimate } from '../persistence/entities/job.entity';
import type { PodEntity } from '../persistence/entities/pod.entity';
import { JobsRepository } from '../persistence/jobs.repository';
import { PodsRepository } from '../persistence/pods.repository';
import { DEADLINE_MISS_PREFIX } from '../routing-estimates/plan';
import { BackendCapabilities } from './backend-capabilities.service';
import { inDispatchOrder } from './dispatch-order.policy';
import { ServerlessExecutor } from './executors/serverless-executor';
import { JobRunner } from './job-runner.service';
import { LocalHolds } from './local-holds.service';
import { PodHolds, type PodHoldPlan } from './pod-holds.service';
import { decideRoute, type FleetSnapshot, type RouteDecision } from './routing.policy';
import { untriedEndpointsFirst } from './serverless-endpoint-choice';
import { imagesBehindEach, videoLeavesSlotToImages } from './video-yield.policy';

/** How many queued jobs one pass looks at. */
const PASS_SIZE = 500;
/**
 * When only local slots can take work, a pass reads this many jobs beyond the free slots: room for jobs at the
 * head that cannot run locally (rejected in this pass, so they leave the queue), only on other workers, or that
 * wait for a busy worker with their model loaded (more of those than the margin leave a free slot idle until
 * their workers free, within a model load: the jobs behind them are read by a later pass).
 * Most passes follow one arrival or one freed slot; reading 50 extra rows each time was most of a job's
 * database time in bench:dispatch.
 */
const LOCAL_PASS_MARGIN = 8;

/** The fleet as a pass starts: what `decideRoute` is given for every job, less the idle workers and pods. */
type PassFleet = Omit<FleetSnapshot, 'idleLocalWorkers' | 'idlePods'>;

/**
 * The break-even policy's say in one pass over the queue: how many more jobs serverless may take (the endpoint's
 * max workers; beyond them jobs only queue at RunPod, where a pod that becomes ready cannot take them), and which
 * jobs wait for a pod that will start them soon instead of going to serverless (`holdForLiveOrNewPods`).
 */
interface BreakEvenPass {
  serverlessSlots: number;
  /** The parameters the control loop measured on its latest tick; null before its first. */
  parameters: MeasuredParameters | null;
  /** Planned at the pass's first serverless decision. */
  holds: PodHoldPlan | null;
  /** Per position in the pass's queue, the images after it that serverless could take (at its first use). */
  imagesBehind?: number[];
}

/** A queued image that serverless could take: what a video leaves free workers to (`videoLeavesSlotToImages`). */
function servableImage(job: JobEntity): boolean {
  return (
    job.workloadKind === 'image' &&
    !job.podOnly &&
    (job.requestedBackend === 'auto' ||
      job.requestedBackend === 'cloud' ||
      job.requestedBackend === 'serverless') &&
    (job.plannedBackend ?? 'serverless') === 'serverless'
  );
}

/**
 * The Dispatcher's passes over the queue. Each pass (`run`) reads the fleet and the head of the queue (the job
 * due to start first first, under the break-even policy), then routes the jobs one by one (`DispatchPass`):
 * asks the routing policy where each goes among the backends that can run it (`BackendCapabilities`), admits
 * cloud jobs against the budget, hands each placed job to the `JobRunner`, records why the others wait, and
 * publishes the jobs left waiting for the cloud as the autoscaler's demand.
 *
 * The collaborators are read by the passes it runs.
 */
@Injectable()
export class DispatchPasses {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOUD_DEMAND) readonly demand: CloudDemandBoard,
    readonly jobs: JobsRepository,
    readonly local: LocalWorkersService,
    readonly lifecycle: PodLifecycleService,
    readonly capabilities: BackendCapabilities,
    readonly pods: PodsRepository,
    private readonly settings: CloudSettingsService,
    readonly budget: BudgetService,
    private readonly serverless: ServerlessExecutor,
    readonly clock: Clock,
    private readonly scaling: ScalingDecisionLog,
    readonly runner: JobRunner,
    readonly localHolds: LocalHolds,
    readonly podHolds: PodHolds,
  ) {}

  /**
   * One pass. When nothing can start (no free local slot, no idle pod, no serverless worker), the pass only
   * refreshes the demand and the waiting reasons, and `deferBookkeeping()` may skip it. `stopped()` ends it
   * between two jobs.
   */
  async run(stopped: () => boolean, deferBookkeeping: () => boolean): Promise<void> {
    await this.runner.abortCancelledElsewhere();
    const settings = this.settings.get();
    const freeSlots = new Map(
      this.local.available().map((worker) => [worker.id, worker.maxConcurrent - worker.running]),
    );
    const fleet: PassFleet = {
      localWorkersExist: this.local.list().length > 0,
      podsPossible: this.lifecycle.canSpawnPods() && settings.maxPods > 0,
      serverlessAvailable: this.serverless.available && this.lifecycle.isAvailable(),
      preferServerless: settings.preferServerless,
      cloudBlockedReason: null,
    };
    const idlePods = fleet.podsPossible ? await this.pods.countInState('ready') : 0;
    const freeLocal = [...freeSlots.values()].reduce((sum, free) => sum + free, 0);
    const breakEven = this.breakEvenPass();
    const serverlessCanTake = fleet.serverlessAvailable && (breakEven?.serverlessSlots ?? 1) > 0;
    // Nothing can start and nobody needs the demand count: a pass would only re-read the queue. When only
    // local slots are free, a page a little larger than the free slots is enough.
    const mustSeeWholeQueue =
      fleet.podsPossible || fleet.serverlessAvailable || idlePods > 0 || !fleet.localWorkersExist;
    if (!mustSeeWholeQueue && freeLocal === 0) return;
    if (freeLocal === 0 && idlePods === 0 && !serverlessCanTake && deferBookkeeping()) return;
    if (fleet.podsPossible || fleet.serverlessAvailable)
      fleet.cloudBlockedReason = await this.budget.cloudJobBlockedReason();
    const routed = this.demand.queueRead();
    const page = await this.jobs.findQueuedForRouting(
      mustSeeWholeQueue ? PASS_SIZE : Math.min(PASS_SIZE, freeLocal + LOCAL_PASS_MARGIN),
    );
    const queued = breakEven?.parameters ? await this.dueFirst(page, breakEven.parameters) : page;
    await new DispatchPass(this, queued, freeSlots, fleet, idlePods, breakEven).routeAll(stopped);
    routed();
  }

  private breakEvenPass(): BreakEvenPass | null {
    if (this.config.cloud.policy !== 'breakeven') return null;
    const parameters = this.scaling.parametersInForce();
    return {
      serverlessSlots: serverlessSlots(
        this.runner.inFlightOn('serverless'),
        parameters?.serverlessMaxWorkers ?? this.config.cloud.breakEven.serverlessMaxWorkers ?? Infinity,
      ),
      parameters,
      holds: null,
    };
  }

  /**
   * Break-even: the job due to start first goes first (`inDispatchOrder`: an image before the videos that came
   * shortly before it), each by its kind's measured run. Before the control loop's first measurement: as read.
   */
  private async dueFirst(jobs: JobEntity[], parameters: MeasuredParameters): Promise<JobEntity[]> {
    const { podWaitTargetS, podWaitPerRun } = this.config.cloud.breakEven;
    // A deadline plan on a local worker makes its job due at the plan's start: its estimate is read for those few.
    const plannedLocally = jobs.filter((job) => job.plannedBackend === 'local' && job.deadline != null);
    const estimates = await this.jobs.findEstimates(plannedLocally.map((job) => job.id));
    return inDispatchOrder(
      jobs,
      (job) => ({
        priority: job.priority,
        arrivalAt: job.createdAt,
        expectedRunS: expectedRunOfKind(job.workloadKind, parameters),
        deadlineAt: job.deadline,
        plannedLocalStartAt: estimates.has(job.id)
          ? (parseJson<JobEstimate | null>(estimates.get(job.id) ?? null, null)?.startAt ?? null)
          : null,
      }),
      podWaitTargetS,
      podWaitPerRun,
    );
  }
}

/**
 * One pass over the head of the queue, job by job, and what it has used up so far: local slots, idle pods,
 * serverless workers, the budget's headroom (admitted under the admission lock, which the pass takes at its first
 * cloud job and holds until its claims are written; local-only passes never take it).
 */
class DispatchPass {
  private waitingForCloud = 0;
  private waitingForPodOnly = 0;
  private heldForNewPod = 0;
  private mayRunLocally = 0;
  /** The jobs left waiting for cloud capacity (when each arrived, its class): the break-even forecast's input. */
  private readonly queuedJobs: QueuedCloudJob[] = [];
  /**
   * Under the break-even policy, jobs bound for the cloud that wait instead for a busy local worker that can run
   * them and should start them shortly (job id → worker id): planned at the pass's first such job.
   */
  private localHolds: Map<string, string> | null = null;
  /** Jobs this pass started or rejected: a started job's slot is already busy (freeSlots, the estimates). */
  private readonly leftTheQueue = new Set<string>();
  /** Busy workers with a model loaded that this pass's jobs wait for, each until its last such job should end. */
  private readonly warmClaims = new Map<string, number>();
  private admission: BudgetAdmission | null = null;
  /** Ready pods, read once in a pass when a job's requirements rule some out. */
  private readyPods?: PodEntity[];

  constructor(
    private readonly services: DispatchPasses,
    private readonly queued: readonly JobEntity[],
    private readonly freeSlots: Map<string, number>,
    private readonly fleet: PassFleet,
    private idlePods: number,
    private readonly breakEven: BreakEvenPass | null,
  ) {}

  async routeAll(stopped: () => boolean): Promise<void> {
    try {
      for (const [index, job] of this.queued.entries()) {
        if (stopped()) return;
        await this.route(job, index);
      }
    } finally {
      await this.admission?.close();
    }
    const localSlots = this.services.local.available().reduce((sum, worker) => sum + worker.maxConcurrent, 0);
    this.services.demand.publish({
      waitingForCloud: this.waitingForCloud,
      waitingForPodOnly: this.waitingForPodOnly,
      heldForNewPod: this.heldForNewPod,
      queuedJobs: this.queuedJobs,
      mayRunLocally: this.mayRunLocally,
      localSlots,
    });
  }

  /** Where one job goes, among the backends that can run it, and the start or the wait that follows. */
  private async route(job: JobEntity, index: number): Promise<void> {
    const { capabilities } = this.services;
    const { fleet } = this;
    const failedWorkers = JSON.parse(job.failedWorkers) as string[];
    const idleLocalWorkers = await capabilities.capableFirst(
      job,
      [...this.freeSlots].filter(([id, free]) => free > 0 && !failedWorkers.includes(id)).map(([id]) => id),
      fleet.podsPossible || fleet.serverlessAvailable,
    );
    // Pods whose capabilities are read: an idle one without the job's models or nodes is no idle pod for it,
    // and when none has them (pods share one image, template and volume), pods are no option for the job.
    const podsLack =
      fleet.podsPossible || this.idlePods > 0 ? await capabilities.missingOnEveryPod(job) : undefined;
    const podAccepts = this.idlePods > 0 && !podsLack ? await capabilities.podAcceptance(job) : undefined;
    let idlePodsForJob = podsLack ? 0 : this.idlePods;
    if (podAccepts) {
      this.readyPods ??= await this.services.pods.findInStates(['ready']);
      if (!this.readyPods.some(podAccepts)) idlePodsForJob = 0;
    }
    // Serverless endpoints that declare models take only jobs whose models they declare; a retry tries an
    // endpoint that has not failed the job first.
    const endpoints = fleet.serverlessAvailable
      ? untriedEndpointsFirst(await capabilities.serverlessEndpointsFor(job), failedWorkers)
      : [];
    const routed = decideRoute(job, {
      localWorkersExist: fleet.localWorkersExist,
      preferServerless: fleet.preferServerless,
      cloudBlockedReason: fleet.cloudBlockedReason,
      idleLocalWorkers,
      idlePods: idlePodsForJob,
      podsPossible: fleet.podsPossible && !podsLack,
      serverlessAvailable: endpoints.length > 0,
    });
    const decision = await capabilities.withCapabilities(job, routed, {
      podsLack,
      serverlessAvailable: fleet.serverlessAvailable,
      endpoints: endpoints.length,
    });
    switch (decision.kind) {
      case 'local':
        return this.startLocal(job, decision.workerId);
      case 'pod':
        return this.startOnIdlePod(job, podAccepts);
      case 'serverless':
        return this.sendToServerless(job, index, endpoints, podsLack !== undefined);
      case 'wait':
        return this.wait(job, index, decision);
      case 'reject':
        this.leftTheQueue.add(job.id);
        await this.services.runner.finish(
          job,
          'failed',
          { message: decision.reason, kind: 'unroutable' },
          null,
        );
        return;
    }
  }

  private async startLocal(job: JobEntity, workerId: string): Promise<void> {
    const { local, localHolds, capabilities, runner } = this.services;
    // Under the break-even policy, a job whose model the idle worker lacks waits for a busy worker that has it
    // loaded and frees before the load would end (not cloud work: no pod or serverless start).
    const warm =
      this.breakEven && localHolds.enabled
        ? await localHolds.warmWorkerFor(job, workerId, this.warmClaims)
        : null;
    if (warm !== null) {
      await this.waitFor(
        job,
        `waiting for local worker ${warm}, which has its model loaded and should be free before a load here would end`,
      );
      return;
    }
    const worker = local.get(workerId);
    this.freeSlots.set(workerId, (this.freeSlots.get(workerId) ?? 1) - 1);
    if (worker && local.reserve(worker.id)) {
      this.leftTheQueue.add(job.id);
      capabilities.noteLocalStart(job, worker.id);
      await runner.start(job, {
        backend: 'local',
        workerId: worker.id,
        url: worker.url,
        capabilities: local.capabilitiesOf(worker.id),
      });
    }
  }

  private async startOnIdlePod(
    job: JobEntity,
    podAccepts: ((pod: PodEntity) => boolean) | undefined,
  ): Promise<void> {
    const refusal = await this.admitCloudJob('pod');
    if (refusal !== null) {
      this.fleet.cloudBlockedReason = refusal;
      await this.waitFor(job, refusal);
      return;
    }
    const pod = await this.services.lifecycle.reserveIdlePod(podAccepts);
    if (!pod) {
      if (!podAccepts) this.idlePods = 0;
      await this.waitsForCloud(job);
      return;
    }
    this.idlePods--;
    await this.services.runner.start(job, {
      backend: 'pod',
      workerId: pod.name,
      url: pod.url,
      capabilities: this.services.capabilities.podCapabilitiesOf(pod),
      pricePerHour: pod.costPerHour,
    });
  }

  /** `endpoints`: those that can run the job, the first to try first. `podsLack`: no pod can run it. */
  private async sendToServerless(
    job: JobEntity,
    index: number,
    endpoints: ReadonlyArray<{ id: string }>,
    podsLack: boolean,
  ): Promise<void> {
    if (await this.heldLocally(job, index)) return;
    const { breakEven } = this;
    // Under the break-even policy, a job the caller did not send to serverless by name waits for a pod that
    // starts it soon (if a pod can run it), or for a free serverless worker.
    // A job planned to serverless (its deadline, maxCostUsd or ROUTING_PREFERENCE) is not held either.
    if (breakEven && (job.plannedBackend ?? job.requestedBackend) !== 'serverless' && !podsLack) {
      const waitReason = await this.serverlessWaitReason(job, index, breakEven);
      if (waitReason !== null) {
        await this.waitsForCloud(job);
        if (breakEven.holds?.forNewPod.has(job.id)) this.heldForNewPod++;
        await this.waitFor(job, waitReason);
        return;
      }
      breakEven.serverlessSlots--;
    }
    const refusal = await this.admitCloudJob('serverless');
    if (refusal !== null) {
      this.fleet.cloudBlockedReason = refusal;
      await this.waitFor(job, refusal);
      return;
    }
    await this.services.runner.start(job, { backend: 'serverless', workerId: endpoints[0].id, url: null });
  }

  /**
   * Break-even: why a job bound for serverless waits instead (a pod will take it shortly; every serverless worker
   * is busy; or it is a video that leaves the free workers to the images behind it), or null: it goes now.
   */
  private async serverlessWaitReason(
    job: JobEntity,
    index: number,
    breakEven: BreakEvenPass,
  ): Promise<string | null> {
    // Jobs held for a local worker are no pod's work.
    breakEven.holds ??= await this.services.podHolds.plan(
      this.queued.slice(index).filter((queuedJob) => !this.localHolds?.has(queuedJob.id)),
    );
    if (breakEven.holds.held.has(job.id))
      return 'waiting for a pod that will take it shortly (cheaper than serverless)';
    if (breakEven.serverlessSlots <= 0)
      return 'waiting for a pod or a free serverless worker (RUNPOD_SERVERLESS_MAX_WORKERS busy)';
    const { parameters } = breakEven;
    const yields =
      parameters !== null &&
      videoLeavesSlotToImages({
        kind: job.workloadKind,
        waitedS: (this.services.clock.now() - job.createdAt) / 1000,
        runS: expectedRunOfKind(job.workloadKind, parameters),
        freeSlots: breakEven.serverlessSlots,
        imagesBehind: (breakEven.imagesBehind ??= imagesBehindEach(this.queued, servableImage))[index],
      });
    // A fixed text: a count in it would rewrite the row at every pass.
    return yields
      ? 'waiting for a pod or a free serverless worker (the free ones are left to the images queued ' +
          'behind this video, for at most its own run)'
      : null;
  }

  private async wait(
    job: JobEntity,
    index: number,
    decision: Extract<RouteDecision, { kind: 'wait' }>,
  ): Promise<void> {
    if (decision.forPod && (await this.heldLocally(job, index))) return;
    if (decision.forPod) await this.waitsForCloud(job, decision.podOnly);
    if (decision.podOnly) this.waitingForPodOnly++;
    await this.waitFor(job, decision.reason);
  }

  /** Counts a job left waiting for cloud capacity (the autoscaler's demand). */
  private async waitsForCloud(job: JobEntity, podOnly = job.podOnly): Promise<void> {
    this.waitingForCloud++;
    this.queuedJobs.push({
      jobId: job.id,
      arrivedAt: job.createdAt,
      jobClass: jobClassOf(job.workloadKind),
      podOnly,
    });
    if (
      job.requestedBackend === 'auto' &&
      !job.podOnly &&
      (job.plannedBackend ?? 'local') === 'local' &&
      (await this.services.capabilities.someLocalWorkerCanRun(job))
    )
      this.mayRunLocally++;
  }

  /** Under the break-even policy, a cloud-bound job that waits for a busy local worker instead (`LocalHolds`). */
  private async heldLocally(job: JobEntity, index: number): Promise<boolean> {
    const workerId = await this.localHoldOf(job, index);
    if (workerId === null) return false;
    await this.waitFor(
      job,
      `waiting for local worker ${workerId}, expected free shortly (cheaper than the cloud)`,
    );
    return true;
  }

  /**
   * Planned at the pass's first cloud-bound job, over the rest of the queue and the jobs before it that wait for a
   * local worker whatever happens (they take the slots first).
   */
  private async localHoldOf(job: JobEntity, index: number): Promise<string | null> {
    if (!this.breakEven || !LocalHolds.cloudBound(job)) return null;
    if (this.localHolds === null) {
      const waitingAhead = this.queued
        .slice(0, index)
        .filter((ahead) => LocalHolds.localOnly(ahead) && !this.leftTheQueue.has(ahead.id));
      const { localHolds } = this.services;
      this.localHolds = localHolds.enabled
        ? await localHolds.plan([...waitingAhead, ...this.queued.slice(index)], this.freeSlots)
        : new Map();
    }
    return this.localHolds.get(job.id) ?? null;
  }

  /**
   * Admits one cloud job against the daily budget: null when it may start, else the reason it waits. The
   * pass's admission counts what it already admitted, so one pass cannot start more than the headroom.
   */
  private async admitCloudJob(backend: 'pod' | 'serverless'): Promise<string | null> {
    this.admission ??= await this.services.budget.openAdmission();
    const costUsd = this.admission.cloudJobUsd(backend);
    if (this.admission.tryAdmit(costUsd)) return null;
    return this.admission.refusal(backend === 'pod' ? 'a job on a pod' : 'a serverless job', costUsd);
  }

  /** Records why the job waits; the re-planner's "deadline will be missed" stays until the job starts or is re-planned. */
  private async waitFor(job: JobEntity, reason: string): Promise<void> {
    if (job.waitingReason?.startsWith(DEADLINE_MISS_PREFIX)) return;
    if (job.waitingReason !== reason) await this.services.jobs.update(job.id, { waitingReason: reason });
  }
}
