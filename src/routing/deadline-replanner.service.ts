import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { makeRoomFor } from '../common/bounded-map';
import { Clock } from '../common/clock';
import { type Loop, startLoop } from '../common/loop';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { JobRequirements } from '../jobs/job-requirements';
import { parseJson } from '../jobs/job-view';
import { REPLAN_START_GRACE_MS, REPLANS_PER_TICK } from '../routing-estimates/plan';
import type { JobEntity, JobEstimate } from '../persistence/entities/job.entity';
import { JobsRepository } from '../persistence/jobs.repository';
import { LeaderElection } from '../persistence/leader-election.service';
import { DEADLINE_MISS_PREFIX, deadlineMissReason, iso, needsReplan } from '../routing-estimates/plan';
import { RoutingEstimatesService } from '../routing-estimates/routing-estimates.service';
import { Dispatcher } from './dispatcher.service';
import { replanScope } from './retry.policy';

const INTERVAL_NAME = 'deadline-replanner';
/** Queued jobs with a deadline read per tick: the earliest deadlines, and as many more of a scan through the rest. */
const READ_PER_TICK = 64;
/** A job's planned start may pass by this much before it counts as slipped (a pass may be about to start it). */
const START_GRACE_MS = REPLAN_START_GRACE_MS;
/** A job is re-planned at most this often (its reason is already written when nothing can make it). */
const MIN_REPLAN_GAP_MS = 10_000;
/** The same for a job whose deadline will be missed whatever happens (its reason says so). */
const HOPELESS_REPLAN_GAP_MS = 60_000;
const MAX_REMEMBERED = 8_192;

/**
 * Keeps queued jobs with a deadline honest (issue 11 §3): on each tick (CLOUD_TICK_INTERVAL, leader only, bounded
 * work), a job whose planned start has passed or whose plan would now end after its deadline is re-planned
 * (`replanQueued`: serverless when that still makes it and the deadline is near, else the planner over every
 * candidate; a job serverless failed goes back to serverless only when nothing else makes it). Each tick reads
 * the earliest deadlines and the next page of a scan through the rest, so every queued deadline job is looked at.
 * A new planned backend is stored on the job (routing sends it only there) and a dispatch pass follows; a job
 * nothing can make in time stays queued with a waiting reason saying its deadline will be missed and the best
 * option.
 */
@Injectable()
export class DeadlineReplanner implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('DeadlineReplanner');
  private readonly lastReplanned = new Map<string, number>();
  /** Where the scan through the queued deadline jobs stands (the last one read); null: at the start. */
  private scanCursor: { deadline: number; id: string } | null = null;
  private running: Promise<number> | null = null;
  private loop?: Loop;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobsRepository,
    private readonly requirements: JobRequirements,
    private readonly estimates: RoutingEstimatesService,
    private readonly dispatcher: Dispatcher,
    private readonly leader: LeaderElection,
    private readonly scheduler: SchedulerRegistry,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.loop = startLoop(
      this.scheduler,
      INTERVAL_NAME,
      this.config.cloud.tickIntervalMs,
      () => this.tick(),
      this.logger,
    );
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop?.stop();
  }

  /** One re-planning pass; returns how many jobs it re-planned. Overlapping calls share one pass. */
  tick(): Promise<number> {
    if (!this.leader.isLeader()) return Promise.resolve(0);
    this.running ??= this.replanDue()
      .catch((error: Error) => {
        this.logger.warn(`Re-planning failed: ${error.message}`);
        return 0;
      })
      .finally(() => {
        this.running = null;
      });
    return this.running;
  }

  private async replanDue(): Promise<number> {
    const now = this.clock.now();
    // The earliest deadlines every tick, and the next page of a scan through the rest: a queue longer than one read
    // (a batch of 500 jobs due at once) is looked at whole, a page a tick, not only its first 64 jobs.
    const urgent = await this.jobs.findQueuedWithDeadline(READ_PER_TICK, now);
    const page = this.scanCursor
      ? await this.jobs.findQueuedWithDeadline(READ_PER_TICK, now, this.scanCursor)
      : [];
    const lastOf = (jobs: JobEntity[]) => {
      const last = jobs[jobs.length - 1];
      return { deadline: last.deadline!, id: last.id };
    };
    // The scan goes on after this page, or starts again after the urgent page (all of it read: none left).
    this.scanCursor =
      page.length === READ_PER_TICK ? lastOf(page) : urgent.length === READ_PER_TICK ? lastOf(urgent) : null;
    const urgentIds = new Set(urgent.map((job) => job.id));
    const scanned = page.filter((job) => !urgentIds.has(job.id));
    // The urgent page may take half the re-plans when the scan has jobs of its own: the rest are not starved.
    const urgentBudget = scanned.length > 0 ? Math.ceil(REPLANS_PER_TICK / 2) : REPLANS_PER_TICK;
    let replanned = 0;
    let fromUrgent = 0;
    let moved = false;
    for (const job of [...urgent, ...scanned]) {
      if (replanned >= REPLANS_PER_TICK) break;
      const isUrgent = urgentIds.has(job.id);
      if (isUrgent && fromUrgent >= urgentBudget) continue;
      const at = this.clock.now();
      if (job.deadline === null || !this.due(job, at)) continue;
      replanned++;
      if (isUrgent) fromUrgent++;
      makeRoomFor(this.lastReplanned, MAX_REMEMBERED);
      this.lastReplanned.set(job.id, at);
      if (await this.replan(job, job.deadline)) moved = true;
    }
    if (moved) void this.dispatcher.dispatch();
    return replanned;
  }

  private due(job: JobEntity, now: number): boolean {
    const last = this.lastReplanned.get(job.id);
    // A job already told its deadline will be missed went to its best option: looked at again less often, so a
    // crowd of hopeless jobs cannot take every re-plan of a tick from jobs that can still make theirs.
    const gap = job.waitingReason?.startsWith(DEADLINE_MISS_PREFIX)
      ? HOPELESS_REPLAN_GAP_MS
      : MIN_REPLAN_GAP_MS;
    if (last !== undefined && now - last < gap) return false;
    const estimate = parseJson<JobEstimate | null>(job.estimate, null);
    if (!estimate || !Number.isFinite(estimate.startAt)) return true;
    return needsReplan(
      { deadline: job.deadline!, plannedStartAt: estimate.startAt, runSeconds: estimate.runSeconds },
      now,
      START_GRACE_MS,
    );
  }

  /** Re-plans one job; true when its planned backend changed (a dispatch pass should follow). */
  private async replan(job: JobEntity, deadline: number): Promise<boolean> {
    const row = await this.jobs.findById(job.id);
    if (!row || row.status !== 'queued') return false;
    const workflow = parseJson<Record<string, unknown> | null>(row.workflow, null);
    if (!workflow) return false;
    const scope = replanScope(row);
    const { estimate, plannedBackend, plan } = await this.estimates.replanQueued(
      {
        id: row.id,
        workflow,
        backend: scope.backend,
        deadline,
        maxCostUsd: job.maxCostUsd,
        failedWorkers: parseJson<string[]>(row.failedWorkers, []),
      },
      await this.requirements.of(row), // usually kept since submit; else parsed from the row just read
      scope.afterServerlessFailure,
    );
    const wasMissing = job.waitingReason?.startsWith(DEADLINE_MISS_PREFIX) ?? false;
    let patch: Partial<JobEntity>;
    switch (plan.kind) {
      case 'pick':
        patch = {
          plannedBackend,
          estimate: JSON.stringify(estimate),
          waitingReason: plan.missesDeadline
            ? `${DEADLINE_MISS_PREFIX} (${iso(deadline)}): ${plan.why}`
            : wasMissing
              ? null
              : undefined,
        };
        break;
      case 'infeasible': {
        // Late whatever happens: without a cost cap it goes where it completes first.
        const fastest = job.maxCostUsd === null && plan.best ? plan.best.backend : job.plannedBackend;
        patch = { plannedBackend: fastest, waitingReason: deadlineMissReason(deadline, plan) };
        break;
      }
      case 'fixed-order':
        return false; // only without constraints, which a job with a deadline has
    }
    const changed = patch.plannedBackend !== job.plannedBackend;
    const written = await this.jobs.transition(job.id, ['queued'], patch);
    if (written && (changed || patch.waitingReason)) {
      this.logger.log(
        `Job ${job.id} re-planned (deadline ${iso(deadline)}): ` +
          (plan.kind === 'pick' ? plan.why : patch.waitingReason!),
      );
    }
    return written && changed;
  }
}
