import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { performance } from 'node:perf_hooks';
import { CloudEvents } from '../cloud/cloud.events';
import { CLOUD_DEMAND, type CloudDemandBoard } from '../cloud/cloud-demand';
import type { BudgetAdmission } from '../cloud/budget-admission';
import { BudgetService } from '../cloud/budget.service';
import { CloudSettingsService } from '../cloud/cloud-settings.service';
import { PodCapabilitiesService } from '../cloud/pod-capabilities.service';
import { PodLifecycleService } from '../cloud/pod-lifecycle.service';
import { holdForLiveOrNewPods, podsFreeInS, serverlessSlots } from '../cloud/policy/breakeven.policy';
import { ScalingDecisionLog } from '../cloud/scaling-decisions';
import { Clock } from '../common/clock';
import { ShutdownState } from '../common/shutdown-state';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import {
  JobEvents,
  type JobCompletedEvent,
  type JobFailedEvent,
  type JobProgressEvent,
  type JobStartedEvent,
} from '../jobs/job.events';
import { JobsService } from '../jobs/jobs.service';
import { LOCAL_WORKER_FREED, LocalWorkersService } from '../local/local-workers.service';
import type { JobBackend, JobEntity, JobError, JobProgress } from '../persistence/entities/job.entity';
import { JobsRepository } from '../persistence/jobs.repository';
import { LeaderElection, LeaderEvents } from '../persistence/leader-election.service';
import type { PodEntity } from '../persistence/entities/pod.entity';
import { PodTransitions } from '../persistence/pod-transitions';
import { PodsRepository } from '../persistence/pods.repository';
import { ComfyExecutor } from './executors/comfy-executor';
import { ExecutionError, type ExecutionContext, type ExecutionResult } from './executors/execution';
import { ServerlessExecutor } from './executors/serverless-executor';
import { WorkerReleaser } from './worker-releaser';
import { decideRoute, type FleetSnapshot } from './routing.policy';
import { describeMissing, missingOnEveryWorker, primaryModel } from '../local/local-worker-capabilities';
import { canRun, type MissingRequirements } from '../workflows';
import { podJobAttributionUsd } from '../routing-estimates/candidates';
import { DEADLINE_MISS_PREFIX } from '../routing-estimates/plan';
import { JobRequirements } from '../jobs/job-requirements';

const INTERVAL_NAME = 'job-dispatcher';
/** How many queued jobs one pass looks at. */
const PASS_SIZE = 500;
/**
 * When only local slots can take work, a pass reads this many jobs beyond the free slots: room for jobs at the
 * head that cannot run locally (rejected in this pass, so they leave the queue) or only on other workers.
 * Most passes follow one arrival or one freed slot; reading 50 extra rows each time was most of a job's
 * database time in bench:dispatch.
 */
const LOCAL_PASS_MARGIN = 8;
/** Progress is saved at most this often per job (events go out every time). */
const PROGRESS_SAVE_MS = 1000;
/**
 * A pass in which nothing can start (no free local slot, no idle pod, no serverless) only refreshes the
 * autoscaler's demand count and the jobs' waiting reasons, reading up to PASS_SIZE rows. Such passes run at most
 * this often (wall-clock time: it bounds CPU), with a trailing pass so the last arrival is always counted.
 * The autoscaler reads the demand on its own tick, seconds apart. Without this, every submission behind a
 * backlog waiting for pods re-read 500 rows: 335 submits/s at 3 ms each with RunPod configured.
 */
const BOOKKEEPING_PASS_MS = 250;
/** How often a pass reads cancel flags set through other instances. */
const CANCEL_CHECK_MS = 250;

interface Placement {
  backend: JobBackend;
  workerId: string;
  /** ComfyUI base URL for local and pod placements. */
  url: string | null;
  /** A pod's hourly price: its jobs are attributed price × run seconds (for display; the ledger bills the pod). */
  pricePerHour?: number;
}

/** The budget admission of one dispatch pass, opened at its first cloud job. */
interface PassAdmission {
  admission: BudgetAdmission | null;
  /** Ready pods, read once in a pass when a job's requirements rule some out. */
  readyPods?: PodEntity[];
}

interface InFlight {
  controller: AbortController;
  done: Promise<void>;
  backend: JobBackend;
}

/**
 * The break-even policy's say in one pass over the queue: how many more jobs serverless may take (the endpoint's
 * max workers; beyond them jobs only queue at RunPod, where a pod that becomes ready cannot take them), and which
 * jobs wait for a pod that will start them soon instead of going to serverless (`holdForLiveOrNewPods`).
 */
interface BreakEvenPass {
  serverlessSlots: number;
  /** Planned at the pass's first serverless decision. */
  holds: PodHolds | null;
}

interface PodHolds {
  /** Job ids held for a live or booting pod, or for one the next scaling pass may start. */
  held: Set<string>;
  /** Those held only for a pod not started yet: the autoscaler is told, so that it starts it. */
  forNewPod: Set<string>;
}

/**
 * Takes queued jobs in priority order, asks the routing policy where each goes, claims the worker and runs
 * the job; on an infrastructure failure the job goes back to the queue to be retried elsewhere (at most
 * JOBS_MAX_ATTEMPTS), on a workflow failure it fails at once. Publishes the jobs waiting for pods as the
 * autoscaler's demand. Runs when a job arrives or a worker frees up, and on a backstop interval.
 */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Dispatcher');
  private readonly inFlight = new Map<string, InFlight>();
  private pass: Promise<void> | null = null;
  private passAgain = false;
  private stopped = false;
  private recovered = false;
  private bootstrapped = false;
  private lastCancelCheck = 0;
  private lastBookkeepingPass = -Infinity;
  private bookkeepingTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOUD_DEMAND) private readonly demand: CloudDemandBoard,
    private readonly jobs: JobsRepository,
    private readonly jobsService: JobsService,
    private readonly requirements: JobRequirements,
    private readonly local: LocalWorkersService,
    private readonly lifecycle: PodLifecycleService,
    private readonly podCapabilities: PodCapabilitiesService,
    private readonly pods: PodsRepository,
    private readonly podTransitions: PodTransitions,
    private readonly settings: CloudSettingsService,
    private readonly budget: BudgetService,
    private readonly comfy: ComfyExecutor,
    private readonly serverless: ServerlessExecutor,
    private readonly releaser: WorkerReleaser,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
    private readonly scheduler: SchedulerRegistry,
    private readonly leader: LeaderElection,
    private readonly shutdown: ShutdownState,
    private readonly scaling: ScalingDecisionLog,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Local workers are loaded by now (their module boots first), so re-attaching can find them.
    this.bootstrapped = true;
    if (this.leader.isLeader()) await this.takeOver();
    const interval = setInterval(() => void this.dispatch(), this.config.jobs.dispatchIntervalMs);
    this.scheduler.addInterval(INTERVAL_NAME, interval);
    void this.dispatch();
  }

  /**
   * Stops dispatching and the waits of in-flight jobs. Their rows stay `running` with the remote prompt / job
   * id, so the next start re-attaches to them (or retries them if their worker lost them).
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.shutdown.beginDraining();
    this.stopped = true;
    clearTimeout(this.bookkeepingTimer);
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
    await this.pass;
    if (signal && this.inFlight.size > 0) {
      this.logger.log(
        `${signal}: waiting up to ${this.config.jobs.shutdownGraceMs} ms for ${this.inFlight.size} running job(s)`,
      );
      await this.allSettledWithin(
        [...this.inFlight.values()].map((flight) => flight.done),
        this.config.jobs.shutdownGraceMs,
      );
    }
    for (const flight of this.inFlight.values()) flight.controller.abort('shutdown');
    await Promise.allSettled([...this.inFlight.values()].map((flight) => flight.done));
    this.shutdown.jobsDrained();
  }

  private async allSettledWithin(promises: Promise<unknown>[], ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled(promises),
      new Promise((resolve) => (timer = setTimeout(resolve, ms))),
    ]);
    clearTimeout(timer);
  }

  @OnEvent(JobEvents.Queued)
  @OnEvent(LOCAL_WORKER_FREED)
  @OnEvent(CloudEvents.PodReady)
  onCapacityOrWork(): void {
    void this.dispatch();
  }

  /**
   * Becoming the leader (at start, or when the previous leader died): re-attach or retry the jobs it left
   * running, then dispatch.
   */
  @OnEvent(LeaderEvents.Acquired)
  async takeOver(): Promise<void> {
    if (!this.bootstrapped || this.recovered || this.stopped) return;
    this.recovered = true;
    await this.recoverRunningJobs().catch((error: Error) =>
      this.logger.error(`Recovery failed: ${error.message}`),
    );
    void this.dispatch();
  }

  @OnEvent(JobEvents.CancelRequested)
  onCancelRequested({ jobId }: { jobId: string }): void {
    this.inFlight.get(jobId)?.controller.abort('cancel');
  }

  /** One dispatch pass; a call during a pass schedules exactly one more pass after it. */
  dispatch(): Promise<void> {
    if (this.stopped || !this.leader.isLeader() || !this.recovered) return Promise.resolve();
    if (this.pass) {
      this.passAgain = true;
      return this.pass;
    }
    this.pass = this.runPass()
      .catch((error: Error) => this.logger.error(`Dispatch pass failed: ${error.message}`))
      .finally(() => {
        this.pass = null;
        if (this.passAgain) {
          this.passAgain = false;
          void this.dispatch();
        }
      });
    return this.pass;
  }

  /** Jobs this process is running now. */
  runningCount(): number {
    return this.inFlight.size;
  }

  private async runPass(): Promise<void> {
    await this.abortCancelledElsewhere();
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
    const breakEven: BreakEvenPass | null =
      this.config.cloud.policy === 'breakeven'
        ? {
            serverlessSlots: serverlessSlots(
              this.inFlightOn('serverless'),
              this.scaling.parametersInForce()?.serverlessMaxWorkers ??
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
    const queued = await this.jobs.findQueuedForRouting(
      mustSeeWholeQueue ? PASS_SIZE : Math.min(PASS_SIZE, freeLocal + LOCAL_PASS_MARGIN),
    );
    let waitingForCloud = 0;
    let waitingForPodOnly = 0;
    let heldForNewPod = 0;
    let mayRunLocally = 0;
    // When each job left waiting for cloud capacity arrived: the break-even forecast replays them.
    const queuedArrivals: number[] = [];
    const waitsForCloud = async (job: JobEntity) => {
      waitingForCloud++;
      queuedArrivals.push(job.createdAt);
      if (
        job.requestedBackend === 'auto' &&
        !job.podOnly &&
        (job.plannedBackend ?? 'local') === 'local' &&
        (await this.someLocalWorkerCanRun(job))
      )
        mayRunLocally++;
    };
    // Cloud jobs are admitted against the daily budget one by one, under the admission lock that the pass
    // takes at its first cloud job and holds until its claims are written (local-only passes never take it).
    const pass: PassAdmission = { admission: null };
    try {
      for (const [index, job] of queued.entries()) {
        if (this.stopped) return;
        const failedWorkers = JSON.parse(job.failedWorkers) as string[];
        const idleLocalWorkers = await this.capableFirst(
          job,
          [...freeSlots].filter(([id, free]) => free > 0 && !failedWorkers.includes(id)).map(([id]) => id),
          base.podsPossible || base.serverlessAvailable,
        );
        // Pods whose capabilities are read: an idle one without the job's models or nodes is no idle pod for it,
        // and when none has them (pods share one image, template and volume), pods are no option for the job.
        const podsLack = base.podsPossible || idlePods > 0 ? await this.missingOnEveryPod(job) : undefined;
        const podAccepts = idlePods > 0 && !podsLack ? await this.podAcceptance(job) : undefined;
        let idlePodsForJob = podsLack ? 0 : idlePods;
        if (podAccepts) {
          pass.readyPods ??= await this.pods.findInStates(['ready']);
          if (!pass.readyPods.some(podAccepts)) idlePodsForJob = 0;
        }
        let decision = decideRoute(job, {
          ...base,
          idleLocalWorkers,
          idlePods: idlePodsForJob,
          podsPossible: base.podsPossible && !podsLack,
        });
        if (podsLack && (decision.kind === 'reject' || job.podOnly || job.requestedBackend === 'pod'))
          decision = { kind: 'reject', reason: `No pod can run this workflow: ${describeMissing(podsLack)}` };
        switch (decision.kind) {
          case 'local': {
            const worker = this.local.get(decision.workerId);
            freeSlots.set(decision.workerId, (freeSlots.get(decision.workerId) ?? 1) - 1);
            if (worker && this.local.reserve(worker.id)) {
              const requirements = this.requirements.peek(job.id);
              if (requirements) this.local.noteModel(worker.id, primaryModel(requirements));
              await this.start(job, { backend: 'local', workerId: worker.id, url: worker.url });
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
            await this.start(job, {
              backend: 'pod',
              workerId: pod.name,
              url: pod.url,
              pricePerHour: pod.costPerHour,
            });
            break;
          }
          case 'serverless': {
            // Under the break-even policy, a job the caller did not send to serverless by name waits for a pod
            // that starts it soon (if a pod can run it), or for a free serverless worker.
            // A job planned to serverless (its deadline, maxCostUsd or ROUTING_PREFERENCE) is not held either.
            if (breakEven && (job.plannedBackend ?? job.requestedBackend) !== 'serverless' && !podsLack) {
              breakEven.holds ??= await this.planHolds(queued.slice(index));
              const reason = breakEven.holds.held.has(job.id)
                ? 'waiting for a pod that will take it shortly (cheaper than serverless)'
                : breakEven.serverlessSlots <= 0
                  ? 'waiting for a pod or a free serverless worker (RUNPOD_SERVERLESS_MAX_WORKERS busy)'
                  : null;
              if (reason !== null) {
                await waitsForCloud(job);
                if (breakEven.holds.forNewPod.has(job.id)) heldForNewPod++;
                await this.waitFor(job, reason);
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
            await this.start(job, {
              backend: 'serverless',
              workerId: this.config.runpod.serverlessEndpointId!,
              url: null,
            });
            break;
          }
          case 'wait':
            if (decision.forPod) await waitsForCloud(job);
            if (decision.podOnly) waitingForPodOnly++;
            await this.waitFor(job, decision.reason);
            break;
          case 'reject':
            await this.finish(job, 'failed', { message: decision.reason, kind: 'unroutable' }, null);
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
      queuedArrivals,
      mayRunLocally,
      localSlots,
    });
  }

  /**
   * The idle local workers that can run the job (`missingFor` empty; a worker whose capabilities are unknown may
   * take anything), those whose last job used the job's checkpoint first (it is likely still loaded: a model
   * load costs 30-70 s), each group in the given order. A job that no backend can run (only local workers could,
   * and none of them, busy or not, can) keeps all idle workers: ComfyUI then fails it with its own message
   * rather than it waiting for ever (it got past the submit check while capabilities were still unknown).
   */
  private async capableFirst(job: JobEntity, idle: string[], cloudPossible: boolean): Promise<string[]> {
    if (!idle.some((id) => this.local.capabilitiesOf(id))) return idle;
    const requirements = await this.requirements.of(job);
    if (!requirements) return idle;
    const capable = idle.filter((id) => {
      const capabilities = this.local.capabilitiesOf(id);
      return !capabilities || canRun(requirements, capabilities);
    });
    if (capable.length === 0 && (job.requestedBackend === 'local' || !cloudPossible)) {
      const anyCanRun = this.local.list().some((worker) => {
        const capabilities = this.local.capabilitiesOf(worker.id);
        return !capabilities || canRun(requirements, capabilities);
      });
      if (!anyCanRun) return idle;
    }
    const model = primaryModel(requirements);
    if (model === undefined) return capable;
    const warm = capable.filter((id) => this.local.lastModelOf(id) === model);
    return warm.length === 0 ? capable : [...warm, ...capable.filter((id) => !warm.includes(id))];
  }

  /**
   * Whether a local worker, busy or not, could take the job later: the scaling policy counts such a job as one
   * local slots may drain. A worker whose capabilities are unknown may run anything.
   */
  private async someLocalWorkerCanRun(job: JobEntity): Promise<boolean> {
    const workers = this.local.list();
    if (workers.length === 0) return false;
    if (!workers.every((worker) => this.local.capabilitiesOf(worker.id))) return true;
    const requirements = await this.requirements.of(job);
    if (!requirements) return true;
    return workers.some((worker) => canRun(requirements, this.local.capabilitiesOf(worker.id)!));
  }

  /**
   * Which ready pods may take the job: those whose capabilities are unknown or include everything the job needs.
   * undefined when any pod will do (no pod's capabilities known, or the workflow cannot be read).
   */
  private async podAcceptance(job: JobEntity): Promise<((pod: PodEntity) => boolean) | undefined> {
    if (!this.podCapabilities.anyKnown()) return undefined;
    const requirements = await this.requirements.of(job);
    if (!requirements) return undefined;
    return (pod) => {
      const capabilities = pod.runpodId ? this.podCapabilities.get(pod.runpodId) : undefined;
      return !capabilities || canRun(requirements, capabilities);
    };
  }

  /**
   * What the closest pod lacks when every pod whose capabilities are read lacks something the job needs;
   * undefined when one has it all, none is read yet, or the workflow cannot be read (any pod may try then).
   */
  private async missingOnEveryPod(job: JobEntity): Promise<MissingRequirements | undefined> {
    if (!this.podCapabilities.anyKnown()) return undefined;
    const requirements = await this.requirements.of(job);
    if (!requirements) return undefined;
    return missingOnEveryWorker(requirements, this.podCapabilities.allKnown());
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

  /** Jobs this process is running on one backend. */
  private inFlightOn(backend: JobBackend): number {
    let count = 0;
    for (const flight of this.inFlight.values()) if (flight.backend === backend) count++;
    return count;
  }

  /**
   * Which of `jobs` (the rest of this pass's queue, in order) wait for a pod rather than go to serverless: the
   * shipped `holdForLiveOrNewPods` over the live pods' expected free times and the pods the next scaling pass may
   * still start (up in a boot and a tick), with the parameters the control loop measured on its latest tick
   * (none yet: nothing is held).
   */
  private async planHolds(jobs: readonly JobEntity[]): Promise<PodHolds> {
    const parameters = this.scaling.parametersInForce();
    if (!parameters) return { held: new Set(), forNewPod: new Set() };
    const now = this.clock.now();
    const policy = this.config.cloud.breakEven;
    // Terminating pods count against CLOUD_MAX_PODS until they are gone, as the spawn's write-ahead counts them.
    const live = await this.pods.findLive();
    const serving = live.filter((pod) => pod.state !== 'terminating' && pod.drainRequestedAt === null);
    const freeInS = podsFreeInS(
      serving.map((pod) => ({
        state: pod.state === 'ready' || pod.state === 'busy' ? pod.state : 'starting',
        createdAt: pod.createdAt ?? pod.requestedAt,
        busySince: pod.busySince,
      })),
      now,
      parameters.bootS,
      parameters.meanJobS,
    );
    const candidates = jobs.filter(
      (job) =>
        job.podOnly ||
        (!job.plannedBackend && (job.requestedBackend === 'auto' || job.requestedBackend === 'cloud')),
    );
    const spawnable = this.lifecycle.canSpawnPods()
      ? Math.max(0, this.settings.get().maxPods - live.length)
      : 0;
    const { hold, forNewPod } = holdForLiveOrNewPods(
      candidates.map((job) => ({
        durationS: parameters.meanJobS,
        podOnly: job.podOnly,
        waitedS: Math.max(0, now - job.createdAt) / 1000,
      })),
      freeInS,
      spawnable,
      parameters.bootS + this.config.cloud.tickIntervalMs / 1000,
      undefined,
      policy.podWaitTargetS,
      policy.podWaitPerRun,
    );
    return {
      held: new Set(candidates.filter((_, i) => hold[i]).map((job) => job.id)),
      forNewPod: new Set(candidates.filter((_, i) => forNewPod[i]).map((job) => job.id)),
    };
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

  /** A cancel sent to another instance only sets the flag in the database; the leader acts on it here. */
  private async abortCancelledElsewhere(): Promise<void> {
    // Passes run on every arrival; reading the flags a few times a second is enough for a remote cancel.
    const now = this.clock.now();
    if (this.inFlight.size === 0 || now - this.lastCancelCheck < CANCEL_CHECK_MS) return;
    this.lastCancelCheck = now;
    for (const job of await this.jobs.findCancelRequested())
      this.inFlight.get(job.id)?.controller.abort('cancel');
  }

  /** Claims the job (compare-and-set queued -> running) and runs it; gives the worker back if the claim fails. */
  private async start(queued: JobEntity, placement: Placement): Promise<void> {
    let job = queued;
    const now = this.clock.now();
    const patch = {
      status: 'running' as const,
      backend: placement.backend,
      workerId: placement.workerId,
      attempts: job.attempts + 1,
      startedAt: job.startedAt ?? now,
      waitingReason: null,
      remoteId: null,
      progress: null,
    };
    const claimed = await this.jobs.claim(job.id, ['queued'], patch);
    if (!claimed) {
      await this.releaser.release(placement, false);
      return;
    }
    job = claimed;
    const prefix = placement.backend === 'serverless' ? '☁️ ' : '';
    this.logger.log(`${prefix}Processing job ${job.id} with ${placement.backend}...`);
    const started: JobStartedEvent = {
      jobId: job.id,
      backend: placement.backend,
      workerId: placement.workerId,
      attempt: job.attempts,
      createdAt: job.createdAt,
    };
    this.events.emit(JobEvents.Started, started);
    if (placement.backend !== 'local') this.demand.recordCloudStart(now, job.createdAt);
    this.launch(job, placement, false);
  }

  private launch(job: JobEntity, placement: Placement, reattach: boolean): void {
    const controller = new AbortController();
    const done = this.execute(job, placement, controller.signal, reattach)
      .catch((error: Error) => this.logger.error(`Job ${job.id}: ${error.message}`))
      .finally(() => {
        this.inFlight.delete(job.id);
        void this.dispatch();
      });
    this.inFlight.set(job.id, { controller, done, backend: placement.backend });
    if (job.cancelRequested) controller.abort('cancel');
  }

  private async execute(
    job: JobEntity,
    placement: Placement,
    signal: AbortSignal,
    reattach: boolean,
  ): Promise<void> {
    // Progress is saved a second into the run at the earliest: a job shorter than that never writes it.
    let lastSaved = this.clock.now();
    const attemptStartedAt = reattach ? (job.startedAt ?? lastSaved) : lastSaved;
    const ctx: ExecutionContext = {
      job,
      signal,
      reattach,
      onRemoteId: async (remoteId) => {
        job.remoteId = remoteId;
        await this.jobs.update(job.id, { remoteId });
      },
      onProgress: (progress: JobProgress) => {
        const event: JobProgressEvent = { jobId: job.id, progress };
        this.events.emit(JobEvents.Progress, event);
        const now = this.clock.now();
        if (now - lastSaved >= PROGRESS_SAVE_MS) {
          lastSaved = now;
          this.jobs.update(job.id, { progress: JSON.stringify(progress) }).catch(() => undefined);
        }
      },
    };

    let result: ExecutionResult;
    try {
      result =
        placement.backend === 'serverless'
          ? await this.serverless.execute(ctx)
          : await this.comfy.execute(placement.url!, ctx);
    } catch (error) {
      if (signal.aborted && signal.reason === 'shutdown') {
        await this.handBack(job, placement);
        return;
      }
      const failure =
        error instanceof ExecutionError ? error : new ExecutionError(String(error), 'infrastructure');
      await this.handleFailure(job, placement, failure);
      return;
    }
    await this.complete(job, placement, result, attemptStartedAt);
    await this.releaser.release(placement, true);
  }

  /**
   * Shutdown cut the wait short. A job whose prompt / serverless job already runs on a worker stays `running`
   * with that id: the next leader re-attaches to it, so it is neither lost nor run twice. One that had not
   * reached a worker yet goes back to the queue.
   */
  private async handBack(job: JobEntity, placement: Placement): Promise<void> {
    if (job.remoteId) return;
    await this.releaser.release(placement, false);
    const requeued = await this.jobs.transition(job.id, ['running'], {
      status: 'queued',
      backend: null,
      workerId: null,
      attempts: Math.max(0, job.attempts - 1),
      waitingReason: 'handed back at shutdown before it reached a worker',
    });
    if (requeued) this.logger.log(`Job ${job.id} handed back to the queue at shutdown`);
  }

  private async complete(
    job: JobEntity,
    placement: Placement,
    result: ExecutionResult,
    attemptStartedAt: number,
  ): Promise<void> {
    const { backend } = placement;
    const completedAt = this.clock.now();
    // A pod's job is attributed its share of the pod's price; the cost ledger bills the pod itself (boot and idle
    // included) and never reads jobs' costs, so nothing is counted twice.
    const attributedUsd =
      backend === 'pod'
        ? podJobAttributionUsd(placement.pricePerHour ?? 0, completedAt - attemptStartedAt)
        : 0;
    const costUsd = job.costUsd + result.costUsd + attributedUsd;
    // The dispatch time hides RunPod's queue and cold start on serverless: record when the job really started
    // running. Only for a first attempt: a retried job started running on its first one.
    const startedAt =
      result.startedRunningAt !== undefined && job.attempts === 1
        ? Math.min(result.startedRunningAt, completedAt)
        : job.startedAt;
    const done = await this.jobs.transition(job.id, ['running'], {
      status: 'completed',
      startedAt,
      completedAt,
      outputs: JSON.stringify(result.outputs),
      costUsd,
      progress: JSON.stringify({ value: 1, max: 1, percent: 100, nodeId: null }),
    });
    if (!done) return;
    const durationMs = completedAt - (startedAt ?? completedAt);
    this.logger.log(
      `✅ Job completed. Duration: ${Math.round(durationMs / 1000)}s, Cost: $${costUsd.toFixed(4)}`,
    );
    const event: JobCompletedEvent = {
      jobId: job.id,
      backend,
      durationMs,
      cost: costUsd,
      webhookUrl: job.webhookUrl,
    };
    if (startedAt !== job.startedAt && startedAt !== null) {
      event.realWaitMs = Math.max(0, startedAt - job.createdAt);
      if (backend === 'serverless' && job.startedAt !== null)
        event.serverlessStartDelayMs = Math.max(0, startedAt - job.startedAt);
    }
    this.events.emit(JobEvents.Completed, event);
  }

  private async handleFailure(job: JobEntity, placement: Placement, failure: ExecutionError): Promise<void> {
    job.costUsd += failure.costUsd;
    if (failure.kind === 'cancelled') {
      await this.releaser.release(placement, false);
      await this.finish(
        job,
        'cancelled',
        { message: 'Cancelled by request', kind: 'cancelled' },
        placement.backend,
      );
      return;
    }
    if (failure.kind === 'workflow') {
      await this.releaser.release(placement, false);
      this.logger.warn(`Job ${job.id} failed (workflow): ${failure.message}`);
      await this.finish(
        job,
        'failed',
        { message: failure.message, kind: 'workflow', details: failure.details },
        placement.backend,
      );
      return;
    }

    await this.releaser.releaseAfterInfrastructureFailure(placement, failure.message);
    if (job.attempts >= this.config.jobs.maxAttempts) {
      const message = `Failed after ${job.attempts} attempt(s); last: ${failure.message}`;
      this.logger.warn(`Job ${job.id}: ${message}`);
      await this.finish(
        job,
        'failed',
        { message, kind: 'infrastructure', details: failure.details },
        placement.backend,
      );
      return;
    }
    const failedWorkers = [...new Set([...(JSON.parse(job.failedWorkers) as string[]), placement.workerId])];
    // The seed's "fallback to on-demand if serverless fails": after an infrastructure failure on serverless
    // only a pod may run the job.
    const podOnly = job.podOnly || placement.backend === 'serverless';
    const requeued = await this.jobs.transition(job.id, ['running'], {
      status: 'queued',
      backend: null,
      workerId: null,
      remoteId: null,
      progress: null,
      costUsd: job.costUsd,
      failedWorkers: JSON.stringify(failedWorkers),
      podOnly,
      waitingReason: `retrying after ${placement.backend} failure: ${failure.message}`,
    });
    if (!requeued) return;
    this.logger.warn(
      `Job ${job.id} lost on ${placement.backend} ${placement.workerId} (${failure.message}); retrying elsewhere`,
    );
    this.events.emit(JobEvents.Requeued, { jobId: job.id });
  }

  private async finish(
    job: JobEntity,
    status: 'failed' | 'cancelled',
    error: JobError,
    backend: JobBackend | null,
  ): Promise<void> {
    const moved = await this.jobs.transition(job.id, ['queued', 'running'], {
      status,
      completedAt: this.clock.now(),
      error: JSON.stringify(error),
      costUsd: job.costUsd,
    });
    if (!moved) return;
    if (status === 'cancelled') {
      this.logger.log(`Job ${job.id} cancelled`);
      this.jobsService.emitCancelled(job.id);
      return;
    }
    const event: JobFailedEvent = { jobId: job.id, backend, error, webhookUrl: job.webhookUrl };
    this.events.emit(JobEvents.Failed, event);
  }

  /**
   * After a restart: jobs still `running` are re-attached to their worker's prompt (or serverless job) when
   * we know it, otherwise put back in the queue. Nothing is lost and nothing runs twice to completion.
   */
  private async recoverRunningJobs(): Promise<void> {
    for (const job of await this.jobs.findByStatus('running')) {
      const placement = await this.placementForReattach(job);
      if (placement) {
        this.logger.log(
          `Re-attaching job ${job.id} to ${placement.backend} ${placement.workerId} (${job.remoteId})`,
        );
        this.launch(job, placement, true);
        continue;
      }
      const placementForRelease = {
        backend: job.backend ?? 'local',
        workerId: job.workerId ?? '',
        url: null,
      } as Placement;
      await this.handleFailure(
        job,
        placementForRelease,
        new ExecutionError('lost in a service restart before it reached a worker', 'infrastructure'),
      );
    }
  }

  private async placementForReattach(job: JobEntity): Promise<Placement | null> {
    if (!job.remoteId || !job.workerId) return null;
    switch (job.backend) {
      case 'local': {
        const worker = this.local.get(job.workerId);
        if (!worker || !this.local.reserveForReattach(worker.id)) return null;
        return { backend: 'local', workerId: worker.id, url: worker.url };
      }
      case 'pod': {
        const pod = await this.pods.findByName(job.workerId);
        if (
          !pod ||
          (pod.state !== 'busy' && !(await this.podTransitions.reattach(pod.name, this.clock.now())))
        ) {
          return null;
        }
        return { backend: 'pod', workerId: pod.name, url: pod.url, pricePerHour: pod.costPerHour };
      }
      case 'serverless':
        return this.serverless.available
          ? { backend: 'serverless', workerId: job.workerId, url: null }
          : null;
      case null:
        return null;
    }
  }
}
