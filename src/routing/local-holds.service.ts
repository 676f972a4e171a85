import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { JobRequirements } from '../jobs/job-requirements';
import { primaryModel } from '../local/local-worker-capabilities';
import { takesNewJobs } from '../local/local-worker-state';
import { LocalWorkersService } from '../local/local-workers.service';
import type { JobEntity } from '../persistence/entities/job.entity';
import { RoutingEstimatesService } from '../routing-estimates/routing-estimates.service';
import { DEFAULT_DEADLINE_MARGIN_S } from '../cloud/policy/breakeven.policy';
import { canRun } from '../workflows';
import { holdForLocal, localHoldsConfigured, type LocalHoldJob, type LocalSlot } from './local-hold.policy';
import { waitForWarmWorker, type WarmWorker } from './warm-worker-wait.policy';

/**
 * The dispatcher's wait for a busy local worker (break-even policy): which of a pass's queued jobs, bound for
 * the cloud, should wait for a local worker that can run them and is expected free shortly. Gathers the pure
 * `holdForLocal`'s inputs: the local slots (free now, or when the run-time estimates say their jobs end) and, per
 * job, the workers it may use (its models and nodes, not a worker it failed on) and its expected run on each
 * (a model load included when the worker has another model loaded).
 */
@Injectable()
export class LocalHolds {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly local: LocalWorkersService,
    private readonly estimates: RoutingEstimatesService,
    private readonly requirements: JobRequirements,
    private readonly clock: Clock,
  ) {}

  /** A job routing may send to the cloud, so one that may be held for a local worker instead. */
  static cloudBound(job: JobEntity): boolean {
    return job.requestedBackend === 'auto' && !job.podOnly && job.plannedBackend == null;
  }

  /**
   * A job that waits for a local worker whatever the wait: asked for `local`, or planned there (routing follows a
   * plan whatever `podOnly`: a retried job's plan is made after its failure, `decideRoute`).
   */
  static localOnly(this: void, job: JobEntity): boolean {
    return job.requestedBackend === 'local' || job.plannedBackend === 'local';
  }

  /** Whether jobs may wait for a local worker at all (the break-even policy, a wait allowance, a worker). */
  get enabled(): boolean {
    return localHoldsConfigured(this.config.cloud) && this.local.list().length > 0;
  }

  /**
   * When routing would give `job` the idle worker `idleWorkerId` and that worker does not have the job's model
   * loaded, a busy worker that has it and should be free before the load would end (`waitForWarmWorker`): the
   * worker the job waits for, else null. `claimedUntil` (epoch ms, by worker) holds the pass's earlier waits for
   * a warm worker, each until its job's expected end there; this adds the job's.
   */
  async warmWorkerFor(
    job: JobEntity,
    idleWorkerId: string,
    claimedUntil: Map<string, number>,
  ): Promise<string | null> {
    const requirements = await this.requirements.of(job); // kept per job: read once
    const model = requirements ? primaryModel(requirements) : undefined;
    if (model === undefined || this.local.lastModelOf(idleWorkerId) === model) return null;
    const now = this.clock.now();
    const failed = JSON.parse(job.failedWorkers) as string[];
    const warm: WarmWorker[] = [];
    for (const worker of this.local.list()) {
      if (worker.id === idleWorkerId || this.local.lastModelOf(worker.id) !== model) continue;
      if (!worker.healthy || !takesNewJobs(worker.state) || failed.includes(worker.id)) continue;
      const capabilities = this.local.capabilitiesOf(worker.id);
      if (capabilities && requirements && !canRun(requirements, capabilities)) continue;
      // A warm worker with a free slot was routing's first choice already; this is for a busy one. Its jobs'
      // ends must all be estimated: a guess for a job of unknown run (one from before a restart) is "a typical
      // job from now" at every pass, and the job would wait for ever.
      if (worker.running < worker.maxConcurrent) continue;
      const ends = this.estimates.localKnownEnds(worker.id);
      if (ends.length < worker.running) continue;
      const freeAt = Math.max(ends[0], claimedUntil.get(worker.id) ?? -Infinity);
      warm.push({ workerId: worker.id, freeInS: (freeAt - now) / 1000 });
    }
    const workerId = waitForWarmWorker({
      warm,
      loadS: this.estimates.modelLoadSeconds(job.id),
      // Its run with the model loaded (the deadline check): as the idle worker would run it, warm.
      runS: this.estimates.localRunSeconds(job.id, idleWorkerId, true),
      deadlineInS: job.deadline == null ? undefined : (job.deadline - now) / 1000,
      deadlineMarginS: DEFAULT_DEADLINE_MARGIN_S,
    });
    if (workerId !== null) {
      const freeInS = warm.find((worker) => worker.workerId === workerId)!.freeInS;
      const runS = this.estimates.localRunSeconds(job.id, workerId, true);
      claimedUntil.set(workerId, now + (Math.max(0, freeInS) + runS) * 1000);
    }
    return workerId;
  }

  /**
   * Which of `jobs` (in queue order) wait for a local worker, and for which one: the cloud-bound ones held, by
   * job id. Local-only jobs take their places first; other jobs are not considered. `freeSlots`: the pass's
   * free slots per worker (after what the pass already placed; a busy worker is not in it). An unhealthy,
   * disabled or draining worker is waited for by nobody.
   */
  async plan(
    jobs: readonly JobEntity[],
    freeSlots: ReadonlyMap<string, number>,
  ): Promise<Map<string, string>> {
    const now = this.clock.now();
    const workers = this.local.list().filter((worker) => worker.healthy && takesNewJobs(worker.state));
    const slots: LocalSlot[] = [];
    for (const worker of workers) {
      const free = Math.min(worker.maxConcurrent, freeSlots.get(worker.id) ?? 0);
      const busy = Math.max(0, worker.maxConcurrent - free);
      for (let i = 0; i < free; i++) slots.push({ workerId: worker.id, freeInS: 0 });
      for (const end of this.estimates.localBusyUntil(worker.id, busy))
        slots.push({ workerId: worker.id, freeInS: (end - now) / 1000 });
    }
    // Requirements are read (possibly from the row) only when some worker's capabilities are known.
    const capabilitiesKnown = workers.some((worker) => this.local.capabilitiesOf(worker.id));
    const considered: JobEntity[] = [];
    const holdable: LocalHoldJob[] = [];
    for (const job of jobs) {
      const localOnly = LocalHolds.localOnly(job);
      if (!localOnly && !LocalHolds.cloudBound(job)) continue;
      const requirements = capabilitiesKnown
        ? await this.requirements.of(job)
        : (this.requirements.peek(job.id) ?? null);
      const model = requirements ? primaryModel(requirements) : undefined;
      const failed = JSON.parse(job.failedWorkers) as string[];
      // Each worker appears once per slot: asked once per job.
      const mayUse = new Map<string, boolean>();
      considered.push(job);
      holdable.push({
        waitedS: (now - job.createdAt) / 1000,
        deadlineInS: job.deadline == null ? undefined : (job.deadline - now) / 1000,
        localOnly,
        mayUse: (workerId) => {
          let may = mayUse.get(workerId);
          if (may === undefined) {
            const capabilities = this.local.capabilitiesOf(workerId);
            may =
              !failed.includes(workerId) &&
              (!capabilities || !requirements || canRun(requirements, capabilities));
            mayUse.set(workerId, may);
          }
          return may;
        },
        runS: (workerId) =>
          this.estimates.localRunSeconds(
            job.id,
            workerId,
            model === undefined || this.local.lastModelOf(workerId) === model,
          ),
      });
    }
    const { localWaitTargetS, localWaitPerRun } = this.config.cloud.breakEven;
    const heldFor = holdForLocal(holdable, slots, {
      waitTargetS: localWaitTargetS,
      waitPerRun: localWaitPerRun,
      deadlineMarginS: DEFAULT_DEADLINE_MARGIN_S,
    });
    const held = new Map<string, string>();
    considered.forEach((job, i) => {
      if (heldFor[i] !== null && !LocalHolds.localOnly(job)) held.set(job.id, heldFor[i]);
    });
    return held;
  }
}
