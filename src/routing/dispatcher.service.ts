import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { performance } from 'node:perf_hooks';
import { CloudEvents } from '../cloud/cloud.events';
import { CLOUD_DEMAND, type CloudDemandBoard, type QueuedCloudJob } from '../cloud/cloud-demand';
import type { BudgetAdmission } from '../cloud/budget-admission';
import { BudgetService } from '../cloud/budget.service';
import { CloudSettingsService } from '../cloud/cloud-settings.service';
import { POD_CAPABILITIES_READ } from '../cloud/pod-capabilities.service';
import { PodLifecycleService } from '../cloud/pod-lifecycle.service';
import { expectedRunOfKind, jobClassOf, serverlessSlots } from '../cloud/policy/breakeven.policy';
import { ScalingDecisionLog } from '../cloud/scaling-decisions';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { JobEvents } from '../jobs/job.events';
import { LOCAL_WORKER_FREED, LocalWorkersService } from '../local/local-workers.service';
import type { JobEntity, JobEstimate } from '../persistence/entities/job.entity';
import { parseJson } from '../jobs/job-view';
import { JobsRepository } from '../persistence/jobs.repository';
import { LeaderElection } from '../persistence/leader-election.service';
import type { PodEntity } from '../persistence/entities/pod.entity';
import { PodsRepository } from '../persistence/pods.repository';
import { BackendCapabilities } from './backend-capabilities.service';
import { ServerlessExecutor } from './executors/serverless-executor';
import { JobRunner } from './job-runner.service';
import { decideRoute, type FleetSnapshot } from './routing.policy';
import { untriedEndpointsFirst } from './serverless-endpoint-choice';
import { inDispatchOrder } from './dispatch-order.policy';
import { LocalHolds } from './local-holds.service';
import { imagesBehindEach, videoLeavesSlotToImages } from './video-yield.policy';
import { PodHolds, type PodHoldPlan } from './pod-holds.service';
import { DEADLINE_MISS_PREFIX } from '../routing-estimates/plan';

const INTERVAL_NAME = 'job-dispatcher';
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
/**
 * A pass in which nothing can start (no free local slot, no idle pod, no serverless) only refreshes the
 * autoscaler's demand count and the jobs' waiting reasons, reading up to PASS_SIZE rows. Such passes run at most
 * this often (wall-clock time: it bounds CPU), with a trailing pass so the last arrival is always counted.
 * The autoscaler reads the demand on its own tick, seconds apart. Without this, every submission behind a
 * backlog waiting for pods re-read 500 rows: 335 submits/s at 3 ms each with RunPod configured.
 */
const BOOKKEEPING_PASS_MS = 250;

/** The budget admission of one dispatch pass, opened at its first cloud job. */
interface PassAdmission {
  admission: BudgetAdmission | null;
  /** Ready pods, read once in a pass when a job's requirements rule some out. */
  readyPods?: PodEntity[];
}

/**
 * The break-even policy's say in one pass over the queue: how many more jobs serverless may take (the endpoint's
 * max workers; beyond them jobs only queue at RunPod, where a pod that becomes ready cannot take them), and which
 * jobs wait for a pod that will start them soon instead of going to serverless (`holdForLiveOrNewPods`).
 */
interface BreakEvenPass {
  serverlessSlots: number;
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
 * Takes queued jobs in priority order, asks the routing policy where each goes (among the backends that can run
 * it: `BackendCapabilities`), admits cloud jobs against the budget and hands each placed job to the `JobRunner`
 * (which runs it and applies the retry rule). Publishes the jobs waiting for pods as the autoscaler's demand, and
 * records why the others wait. Runs when a job arrives or a worker frees up, when a job ends, and on a backstop
 * interval; only on the leader, once `JobRecovery` has opened it, and never after `stop()`.
 */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap {
  private readonly logger = new Logger('Dispatcher');
  private pass: Promise<void> | null = null;
  private passAgain = false;
  private stopped = false;
  private recovered = false;
  private lastBookkeepingPass = -Infinity;
  private bookkeepingTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOUD_DEMAND) private readonly demand: CloudDemandBoard,
    private readonly jobs: JobsRepository,
    private readonly local: LocalWorkersService,
    private readonly lifecycle: PodLifecycleService,
    private readonly capabilities: BackendCapabilities,
    private readonly pods: PodsRepository,
    private readonly settings: CloudSettingsService,
    private readonly budget: BudgetService,
    private readonly serverless: ServerlessExecutor,
    private readonly clock: Clock,
    private readonly scheduler: SchedulerRegistry,
    private readonly leader: LeaderElection,
    private readonly scaling: ScalingDecisionLog,
    private readonly runner: JobRunner,
    private readonly localHolds: LocalHolds,
    private readonly podHolds: PodHolds,
  ) {
    runner.afterEachJob(() => void this.dispatch());
  }

  onApplicationBootstrap(): void {
    const interval = setInterval(() => void this.dispatch(), this.config.jobs.dispatchIntervalMs);
    this.scheduler.addInterval(INTERVAL_NAME, interval);
    void this.dispatch();
  }

  @OnEvent(JobEvents.Queued)
  @OnEvent(LOCAL_WORKER_FREED)
  @OnEvent(CloudEvents.PodReady)
  @OnEvent(POD_CAPABILITIES_READ)
  onCapacityOrWork(): void {
    void this.dispatch();
  }

  /** One dispatch pass; a call during a pass schedules exactly one more pass after it. */
  dispatch(): Promise<void> {
    if (this.stopped || !this.leader.isLeader() || !this.recovered) return Promise.resolve();
    if (this.pass) {
      this.passAgain = true;
      return this.pass;
    }
    const passEnded = this.demand.passBegins();
    this.pass = this.runPass()
      .catch((error: Error) => this.logger.error(`Dispatch pass failed: ${error.message}`))
      .finally(() => {
        passEnded();
        this.pass = null;
        if (this.passAgain) {
          this.passAgain = false;
          void this.dispatch();
        }
      });
    return this.pass;
  }

  /**
   * Passes run from now on (on the leader). `JobRecovery` opens the dispatcher when it starts recovering the
   * jobs a previous leader left running.
   */
  open(): void {
    this.recovered = true;
  }

  /** No pass starts after this; resolves when the pass under way (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.bookkeepingTimer);
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
    await this.pass;
  }

  /** Jobs this process is running now. */
  runningCount(): number {
    return this.runner.runningCount();
  }

  /**
   * Break-even: the job due to start first goes first (`inDispatchOrder`: an image before the videos that came
   * shortly before it), each by its kind's measured run. Before the control loop's first measurement: as read.
   */
  private async dueFirst(jobs: JobEntity[]): Promise<JobEntity[]> {
    const parameters = this.scaling.parametersInForce();
    if (!parameters) return jobs;
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

  private async runPass(): Promise<void> {
    await this.runner.abortCancelledElsewhere();
    const settings = this.settings.get();
    const freeSlots = new Map(
      this.local.available().map((worker) => [worker.id, worker.maxConcurrent - worker.running]),
    );
    const base: Omit<FleetSnapshot, 'idleLocalWorkers' | 'idlePods'> = {
      localWorkersExist: this.local.list().length > 0,
      podsPossible: this.lifecycle.canSpawnPods() && settings.maxPods > 0,
      serverlessAvailable: this.serverless.available && this.lifecycle.isAvailable(),
      preferServerless: settings.preferServerless,
      cloudBlockedReason: null,
    };
    let idlePods = base.podsPossible ? await this.pods.countInState('ready') : 0;
    const freeLocal = [...freeSlots.values()].reduce((sum, free) => sum + free, 0);
    const parameters = this.scaling.parametersInForce();
    const breakEven: BreakEvenPass | null =
      this.config.cloud.policy === 'breakeven'
        ? {
            serverlessSlots: serverlessSlots(
              this.runner.inFlightOn('serverless'),
              parameters?.serverlessMaxWorkers ??
                this.config.cloud.breakEven.serverlessMaxWorkers ??
                Infinity,
            ),
            holds: null,
          }
        : null;
    const serverlessCanTake = base.serverlessAvailable && (breakEven?.serverlessSlots ?? 1) > 0;
    // Nothing can start and nobody needs the demand count: a pass would only re-read the queue. When only
    // local slots are free, a page a little larger than the free slots is enough.
    const mustSeeWholeQueue =
      base.podsPossible || base.serverlessAvailable || idlePods > 0 || !base.localWorkersExist;
    if (!mustSeeWholeQueue && freeLocal === 0) return;
    if (freeLocal === 0 && idlePods === 0 && !serverlessCanTake && this.bookkeepingDeferred()) return;
    if (base.podsPossible || base.serverlessAvailable)
      base.cloudBlockedReason = await this.budget.cloudJobBlockedReason();
    const page = await this.jobs.findQueuedForRouting(
      mustSeeWholeQueue ? PASS_SIZE : Math.min(PASS_SIZE, freeLocal + LOCAL_PASS_MARGIN),
    );
    const queued = breakEven ? await this.dueFirst(page) : page;
    let waitingForCloud = 0;
    let waitingForPodOnly = 0;
    let heldForNewPod = 0;
    let mayRunLocally = 0;
    // The jobs left waiting for cloud capacity (when each arrived, its class): the break-even forecast's input.
    const queuedJobs: QueuedCloudJob[] = [];
    const waitsForCloud = async (job: JobEntity, podOnly = job.podOnly) => {
      waitingForCloud++;
      queuedJobs.push({
        jobId: job.id,
        arrivedAt: job.createdAt,
        jobClass: jobClassOf(job.workloadKind),
        podOnly,
      });
      if (
        job.requestedBackend === 'auto' &&
        !job.podOnly &&
        (job.plannedBackend ?? 'local') === 'local' &&
        (await this.capabilities.someLocalWorkerCanRun(job))
      )
        mayRunLocally++;
    };
    // Under the break-even policy, a job bound for the cloud waits instead for a busy local worker that can run it
    // and should start it shortly (LocalHolds): planned at the pass's first such job, over the rest of the queue
    // and the jobs before it that wait for a local worker whatever happens (they take the slots first).
    let localHolds: Map<string, string> | null = null;
    // Jobs this pass started or rejected: a started job's slot is already busy (freeSlots, the estimates).
    const leftTheQueue = new Set<string>();
    // Busy workers with a model loaded that this pass's jobs wait for, each until its last such job should end.
    const warmClaims = new Map<string, number>();
    const localHoldOf = async (job: JobEntity, index: number): Promise<string | null> => {
      if (!breakEven || !LocalHolds.cloudBound(job)) return null;
      if (localHolds === null) {
        const waitingAhead = queued
          .slice(0, index)
          .filter((ahead) => LocalHolds.localOnly(ahead) && !leftTheQueue.has(ahead.id));
        localHolds = this.localHolds.enabled
          ? await this.localHolds.plan([...waitingAhead, ...queued.slice(index)], freeSlots)
          : new Map();
      }
      return localHolds.get(job.id) ?? null;
    };
    const heldLocally = async (job: JobEntity, index: number): Promise<boolean> => {
      const workerId = await localHoldOf(job, index);
      if (workerId === null) return false;
      await this.waitFor(
        job,
        `waiting for local worker ${workerId}, expected free shortly (cheaper than the cloud)`,
      );
      return true;
    };
    // Cloud jobs are admitted against the daily budget one by one, under the admission lock that the pass
    // takes at its first cloud job and holds until its claims are written (local-only passes never take it).
    const pass: PassAdmission = { admission: null };
    try {
      for (const [index, job] of queued.entries()) {
        if (this.stopped) return;
        const failedWorkers = JSON.parse(job.failedWorkers) as string[];
        const idleLocalWorkers = await this.capabilities.capableFirst(
          job,
          [...freeSlots].filter(([id, free]) => free > 0 && !failedWorkers.includes(id)).map(([id]) => id),
          base.podsPossible || base.serverlessAvailable,
        );
        // Pods whose capabilities are read: an idle one without the job's models or nodes is no idle pod for it,
        // and when none has them (pods share one image, template and volume), pods are no option for the job.
        const podsLack =
          base.podsPossible || idlePods > 0 ? await this.capabilities.missingOnEveryPod(job) : undefined;
        const podAccepts = idlePods > 0 && !podsLack ? await this.capabilities.podAcceptance(job) : undefined;
        let idlePodsForJob = podsLack ? 0 : idlePods;
        if (podAccepts) {
          pass.readyPods ??= await this.pods.findInStates(['ready']);
          if (!pass.readyPods.some(podAccepts)) idlePodsForJob = 0;
        }
        // Serverless endpoints that declare models take only jobs whose models they declare; a retry tries an
        // endpoint that has not failed the job first.
        const endpoints = base.serverlessAvailable
          ? untriedEndpointsFirst(await this.capabilities.serverlessEndpointsFor(job), failedWorkers)
          : [];
        const routed = decideRoute(job, {
          localWorkersExist: base.localWorkersExist,
          preferServerless: base.preferServerless,
          cloudBlockedReason: base.cloudBlockedReason,
          idleLocalWorkers,
          idlePods: idlePodsForJob,
          podsPossible: base.podsPossible && !podsLack,
          serverlessAvailable: endpoints.length > 0,
        });
        const decision = await this.capabilities.withCapabilities(job, routed, {
          podsLack,
          serverlessAvailable: base.serverlessAvailable,
          endpoints: endpoints.length,
        });
        switch (decision.kind) {
          case 'local': {
            // Under the break-even policy, a job whose model the idle worker lacks waits for a busy worker that
            // has it loaded and frees before the load would end (not cloud work: no pod or serverless start).
            const warm =
              breakEven && this.localHolds.enabled
                ? await this.localHolds.warmWorkerFor(job, decision.workerId, warmClaims)
                : null;
            if (warm !== null) {
              await this.waitFor(
                job,
                `waiting for local worker ${warm}, which has its model loaded and should be free before a load here would end`,
              );
              break;
            }
            const worker = this.local.get(decision.workerId);
            freeSlots.set(decision.workerId, (freeSlots.get(decision.workerId) ?? 1) - 1);
            if (worker && this.local.reserve(worker.id)) {
              leftTheQueue.add(job.id);
              this.capabilities.noteLocalStart(job, worker.id);
              await this.runner.start(job, {
                backend: 'local',
                workerId: worker.id,
                url: worker.url,
                capabilities: this.local.capabilitiesOf(worker.id),
              });
            }
            break;
          }
          case 'pod': {
            const refusal = await this.admitCloudJob(pass, 'pod');
            if (refusal !== null) {
              base.cloudBlockedReason = refusal;
              await this.waitFor(job, refusal);
              break;
            }
            const pod = await this.lifecycle.reserveIdlePod(podAccepts);
            if (!pod) {
              if (!podAccepts) idlePods = 0;
              await waitsForCloud(job);
              break;
            }
            idlePods--;
            await this.runner.start(job, {
              backend: 'pod',
              workerId: pod.name,
              url: pod.url,
              capabilities: this.capabilities.podCapabilitiesOf(pod),
              pricePerHour: pod.costPerHour,
            });
            break;
          }
          case 'serverless': {
            if (await heldLocally(job, index)) break;
            // Under the break-even policy, a job the caller did not send to serverless by name waits for a pod
            // that starts it soon (if a pod can run it), or for a free serverless worker.
            // A job planned to serverless (its deadline, maxCostUsd or ROUTING_PREFERENCE) is not held either.
            if (breakEven && (job.plannedBackend ?? job.requestedBackend) !== 'serverless' && !podsLack) {
              // Jobs held for a local worker are no pod's work.
              breakEven.holds ??= await this.podHolds.plan(
                queued.slice(index).filter((queuedJob) => !localHolds?.has(queuedJob.id)),
              );
              const reason = breakEven.holds.held.has(job.id)
                ? 'waiting for a pod that will take it shortly (cheaper than serverless)'
                : breakEven.serverlessSlots <= 0
                  ? 'waiting for a pod or a free serverless worker (RUNPOD_SERVERLESS_MAX_WORKERS busy)'
                  : null;
              const yields =
                reason === null &&
                parameters !== null &&
                videoLeavesSlotToImages({
                  kind: job.workloadKind,
                  waitedS: (this.clock.now() - job.createdAt) / 1000,
                  runS: expectedRunOfKind(job.workloadKind, parameters),
                  freeSlots: breakEven.serverlessSlots,
                  imagesBehind: (breakEven.imagesBehind ??= imagesBehindEach(queued, servableImage))[index],
                });
              // A fixed text: a count in it would rewrite the row at every pass.
              const waitReason = yields
                ? 'waiting for a pod or a free serverless worker (the free ones are left to the images queued ' +
                  'behind this video, for at most its own run)'
                : reason;
              if (waitReason !== null) {
                await waitsForCloud(job);
                if (breakEven.holds.forNewPod.has(job.id)) heldForNewPod++;
                await this.waitFor(job, waitReason);
                break;
              }
              breakEven.serverlessSlots--;
            }
            const refusal = await this.admitCloudJob(pass, 'serverless');
            if (refusal !== null) {
              base.cloudBlockedReason = refusal;
              await this.waitFor(job, refusal);
              break;
            }
            await this.runner.start(job, {
              backend: 'serverless',
              workerId: endpoints[0].id, // the cheapest that can run it
              url: null,
            });
            break;
          }
          case 'wait':
            if (decision.forPod && (await heldLocally(job, index))) break;
            if (decision.forPod) await waitsForCloud(job, decision.podOnly);
            if (decision.podOnly) waitingForPodOnly++;
            await this.waitFor(job, decision.reason);
            break;
          case 'reject':
            leftTheQueue.add(job.id);
            await this.runner.finish(job, 'failed', { message: decision.reason, kind: 'unroutable' }, null);
            break;
        }
      }
    } finally {
      await pass.admission?.close();
    }
    const localSlots = this.local.available().reduce((sum, worker) => sum + worker.maxConcurrent, 0);
    this.demand.publish({
      waitingForCloud,
      waitingForPodOnly,
      heldForNewPod,
      queuedJobs,
      mayRunLocally,
      localSlots,
    });
  }

  /**
   * Admits one cloud job against the daily budget: null when it may start, else the reason it waits. The
   * pass's admission counts what it already admitted, so one pass cannot start more than the headroom.
   */
  private async admitCloudJob(pass: PassAdmission, backend: 'pod' | 'serverless'): Promise<string | null> {
    pass.admission ??= await this.budget.openAdmission();
    const costUsd = pass.admission.cloudJobUsd(backend);
    if (pass.admission.tryAdmit(costUsd)) return null;
    return pass.admission.refusal(backend === 'pod' ? 'a job on a pod' : 'a serverless job', costUsd);
  }

  /** Records why the job waits; the re-planner's "deadline will be missed" stays until the job starts or is re-planned. */
  private async waitFor(job: JobEntity, reason: string): Promise<void> {
    if (job.waitingReason?.startsWith(DEADLINE_MISS_PREFIX)) return;
    if (job.waitingReason !== reason) await this.jobs.update(job.id, { waitingReason: reason });
  }

  /**
   * True when a bookkeeping pass ran less than BOOKKEEPING_PASS_MS ago: this one is skipped and one pass is
   * scheduled for when the interval is over.
   */
  private bookkeepingDeferred(): boolean {
    const now = performance.now();
    const wait = this.lastBookkeepingPass + BOOKKEEPING_PASS_MS - now;
    if (wait <= 0) {
      this.lastBookkeepingPass = now;
      return false;
    }
    this.bookkeepingTimer ??= setTimeout(() => {
      this.bookkeepingTimer = undefined;
      void this.dispatch();
    }, wait);
    return true;
  }
}
