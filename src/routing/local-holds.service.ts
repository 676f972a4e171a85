import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { JobRequirements } from '../jobs/job-requirements';
import { takesNewJobs } from '../local/local-worker-state';
import { LocalWorkersService } from '../local/local-workers.service';
import type { JobEntity } from '../persistence/entities/job.entity';
import { RoutingEstimatesService } from '../routing-estimates/routing-estimates.service';
import { DEFAULT_DEADLINE_MARGIN_S } from '../cloud/policy/breakeven.policy';
import { canRun } from '../workflows';
import { holdForLocal, type LocalHoldJob, type LocalSlot } from './local-hold.policy';

/**
 * The dispatcher's wait for a busy local worker (break-even policy): which of a pass's queued jobs, bound for
 * the cloud, should wait for a local worker that can run them and is expected free shortly. Gathers the pure
 * `holdForLocal`'s inputs: the local slots (free now, or when the run-time estimates say their jobs end) and, per
 * job, the workers it may use (its models and nodes, not a worker it failed on) and its expected run on each.
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

  /** Whether jobs may wait for a local worker at all (the break-even policy, a wait allowance, a worker). */
  get enabled(): boolean {
    const { policy, breakEven } = this.config.cloud;
    return (
      policy === 'breakeven' &&
      (breakEven.localWaitTargetS > 0 || breakEven.localWaitPerRun > 0) &&
      this.local.list().length > 0
    );
  }

  /**
   * Which of `jobs` (the rest of a pass's queue, in order) wait for a local worker, and for which one.
   * `freeSlots`: the pass's free slots per worker (after what the pass already placed; a busy worker is not in
   * it). An unhealthy, disabled or draining worker is waited for by nobody. Jobs the cloud may take are held; jobs asked for `local`
   * take their places first; jobs asked for a cloud backend, planned elsewhere or pod-only are not considered.
   */
  async plan(
    jobs: readonly JobEntity[],
    freeSlots: ReadonlyMap<string, number>,
  ): Promise<Map<string, string>> {
    const now = this.clock.now();
    const slots: LocalSlot[] = [];
    for (const worker of this.local.list()) {
      if (!worker.healthy || !takesNewJobs(worker.state)) continue;
      const free = Math.min(worker.maxConcurrent, freeSlots.get(worker.id) ?? 0);
      const busy = Math.max(0, worker.maxConcurrent - free);
      for (let i = 0; i < worker.maxConcurrent - busy; i++) slots.push({ workerId: worker.id, freeInS: 0 });
      for (const end of this.estimates.localBusyUntil(worker.id, busy))
        slots.push({ workerId: worker.id, freeInS: (end - now) / 1000 });
    }
    const considered: JobEntity[] = [];
    const holdable: LocalHoldJob[] = [];
    for (const job of jobs) {
      const localOnly = job.requestedBackend === 'local';
      const cloudBound =
        job.requestedBackend === 'auto' && !job.podOnly && (job.plannedBackend ?? 'local') === 'local';
      if (!localOnly && !cloudBound) continue;
      const requirements = await this.requirements.of(job);
      const failed = JSON.parse(job.failedWorkers) as string[];
      considered.push(job);
      holdable.push({
        waitedS: (now - job.createdAt) / 1000,
        deadlineInS: job.deadline == null ? undefined : (job.deadline - now) / 1000,
        localOnly,
        mayUse: (workerId) => {
          if (failed.includes(workerId)) return false;
          const capabilities = this.local.capabilitiesOf(workerId);
          return !capabilities || !requirements || canRun(requirements, capabilities);
        },
        runS: (workerId) => this.estimates.localRunSeconds(job.id, workerId),
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
      if (heldFor[i] !== null && job.requestedBackend !== 'local') held.set(job.id, heldFor[i]);
    });
    return held;
  }
}
