import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Clock, HOUR } from '../common/clock';
import { ConflictError } from '../common/domain-errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { JobsRepository } from '../persistence/jobs.repository';
import { LedgerRepository } from '../persistence/ledger.repository';
import { PodsRepository } from '../persistence/pods.repository';
import { PODS_API, type PodsApi } from '../runpod/pods-api';
import { type BudgetExceededEvent, CloudEvents } from './cloud.events';
import { CloudSettingsService } from './cloud-settings.service';
import { roundUsd } from './cost-ledger.service';
import { type BudgetInputs, budgetReached, newPodUsd, wouldCrossBudget } from './policy/budget.policy';
import { utcDay } from './policy/pod-cost';

/** New cloud work refused because it would cross CLOUD_DAILY_BUDGET_USD. */
export class BudgetExceededError extends ConflictError {}

export interface BudgetStatus {
  limitUsd: number;
  spentTodayUsd: number;
  /** null when there is no limit. */
  remainingUsd: number | null;
}

const CATALOG_TTL_MS = 10 * 60 * 1000;

/**
 * The hard daily budget (UTC day). Before cloud work starts it checks today's spend plus what running work
 * will have cost by the time it can stop; at the limit it stops what can be stopped. Decisions are the pure
 * functions in `policy/budget.policy.ts`.
 */
@Injectable()
export class BudgetService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Budget');
  private catalog: { at: number; prices: Map<string, number> } | null = null;
  private exceededDay: string | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PODS_API) private readonly podsApi: PodsApi,
    private readonly pods: PodsRepository,
    private readonly jobs: JobsRepository,
    private readonly ledger: LedgerRepository,
    private readonly settings: CloudSettingsService,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
  ) {}

  /** Reads RunPod's GPU prices once at start, so the first spawn's budget check does not wait for them. */
  async onApplicationBootstrap(): Promise<void> {
    if (this.config.runpod.apiKey && this.settings.get().dailyBudgetUsd > 0) await this.refreshCatalog();
  }

  async inputs(): Promise<BudgetInputs> {
    const now = this.clock.now();
    const today = utcDay(now);
    const startOfDay = Date.parse(`${today}T00:00:00.000Z`);
    const [ledgerToday, live, serverlessInFlight] = await Promise.all([
      this.ledger.totalForDay(today),
      this.pods.findLive(),
      this.jobs.countRunningOn('serverless'),
    ]);
    // The ledger is written every tick; add what live pods accrued since, so the check is never a tick behind.
    let unbilled = 0;
    for (const pod of live) {
      if (pod.createdAt === null) continue;
      const from = Math.max(pod.billedThrough ?? pod.createdAt, startOfDay);
      if (now > from) unbilled += (pod.costPerHour * (now - from)) / HOUR;
    }
    return {
      limitUsd: this.settings.get().dailyBudgetUsd,
      spentTodayUsd: ledgerToday + unbilled,
      livePods: live.map((pod) => ({ state: pod.state, costPerHour: pod.costPerHour })),
      serverlessInFlight,
      serverlessPricePerSecond: this.config.runpod.serverlessPricePerSecond,
      tickIntervalMs: this.config.cloud.tickIntervalMs,
      jobEstimateMs: this.config.cloud.budgetJobEstimateMs,
    };
  }

  async status(): Promise<BudgetStatus> {
    const inputs = await this.inputs();
    return {
      limitUsd: inputs.limitUsd,
      spentTodayUsd: roundUsd(inputs.spentTodayUsd),
      remainingUsd:
        inputs.limitUsd > 0 ? roundUsd(Math.max(0, inputs.limitUsd - inputs.spentTodayUsd)) : null,
    };
  }

  /** Throws BudgetExceededError when a new pod of this GPU type would cross the daily budget. */
  async assertCanSpawn(gpuTypeId: string): Promise<void> {
    const inputs = await this.inputs();
    if (inputs.limitUsd <= 0) return;
    const rate = await this.pricePerHour(gpuTypeId);
    const cost = newPodUsd(rate, this.config.cloud.budgetJobEstimateMs, this.settings.get().idleTimeoutMs);
    if (budgetReached(inputs) || wouldCrossBudget(inputs, cost)) {
      throw new BudgetExceededError(this.refusal('a new pod', inputs, cost), this.details(inputs, cost));
    }
  }

  /**
   * Whether a cloud job (serverless run, or a job sent to a pod) may start now; the dispatcher asks once
   * per pass. Returns the reason when it may not.
   */
  async cloudJobBlockedReason(): Promise<string | null> {
    const inputs = await this.inputs();
    if (inputs.limitUsd <= 0) return null;
    const maxPodRate = Math.max(0, ...inputs.livePods.map((pod) => pod.costPerHour));
    const jobUsd = Math.max(
      (inputs.serverlessPricePerSecond * inputs.jobEstimateMs) / 1000,
      (maxPodRate * inputs.jobEstimateMs) / HOUR,
    );
    if (!budgetReached(inputs) && !wouldCrossBudget(inputs, jobUsd)) return null;
    return this.refusal('cloud work', inputs, jobUsd);
  }

  /** Whether today's spend has reached the limit; emits `budgetExceeded` once per UTC day. */
  async checkReached(): Promise<boolean> {
    const inputs = await this.inputs();
    if (!budgetReached(inputs)) return false;
    const today = utcDay(this.clock.now());
    if (this.exceededDay !== today) {
      this.exceededDay = today;
      this.logger.warn(
        `Daily budget reached: $${inputs.spentTodayUsd.toFixed(4)} of $${inputs.limitUsd.toFixed(2)} spent today; stopping cloud work`,
      );
      const event: BudgetExceededEvent = {
        limitUsd: inputs.limitUsd,
        spentTodayUsd: roundUsd(inputs.spentTodayUsd),
      };
      this.events.emit(CloudEvents.BudgetExceeded, event);
    }
    return true;
  }

  private refusal(what: string, inputs: BudgetInputs, costUsd: number): string {
    return (
      `Daily budget (CLOUD_DAILY_BUDGET_USD $${inputs.limitUsd.toFixed(2)}): ${what} (~$${costUsd.toFixed(4)}) would cross it; ` +
      `$${inputs.spentTodayUsd.toFixed(4)} spent today`
    );
  }

  private details(inputs: BudgetInputs, costUsd: number): Record<string, unknown> {
    return {
      limitUsd: inputs.limitUsd,
      spentTodayUsd: roundUsd(inputs.spentTodayUsd),
      estimatedCostUsd: roundUsd(costUsd),
    };
  }

  private async refreshCatalog(): Promise<void> {
    try {
      const types = await this.podsApi.listGpuTypes();
      const prices = new Map(
        types.filter((type) => type.pricePerHour).map((type) => [type.id, type.pricePerHour!]),
      );
      this.catalog = { at: this.clock.now(), prices };
    } catch (error) {
      this.logger.warn(`Could not read RunPod's GPU prices: ${(error as Error).message}`);
    }
  }

  /** RunPod's quoted price (catalog, cached), else what our last pod of that type cost, else 0 (logged). */
  private async pricePerHour(gpuTypeId: string): Promise<number> {
    if (!this.catalog || this.clock.now() - this.catalog.at > CATALOG_TTL_MS) await this.refreshCatalog();
    const quoted = this.catalog?.prices.get(gpuTypeId);
    if (quoted) return quoted;
    const seen = (await this.pods.findRecent(50)).find(
      (pod) => pod.gpuTypeId === gpuTypeId && pod.costPerHour > 0,
    );
    if (seen) return seen.costPerHour;
    this.logger.warn(`No price known for ${gpuTypeId}; the budget check counts only what already runs`);
    return 0;
  }
}
