import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Clock, HOUR } from '../common/clock';
import { UnavailableError } from '../common/domain-errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { dearestPricePerSecond } from '../config/serverless-endpoints';
import { BudgetAdmissionLock } from '../persistence/budget-admission-lock';
import { JobsRepository } from '../persistence/jobs.repository';
import { LedgerRepository } from '../persistence/ledger.repository';
import type { PodEntity } from '../persistence/entities/pod.entity';
import { PodsRepository } from '../persistence/pods.repository';
import { PODS_API, type PodsApi } from '../runpod/pods-api';
import { type BudgetExceededEvent, CloudEvents } from './cloud.events';
import { CloudSettingsService } from './cloud-settings.service';
import { roundUsd } from './cost-ledger.service';
import { BudgetAdmission, budgetRefusal } from './budget-admission';
import {
  type BudgetInputs,
  budgetReached,
  podJobUsd,
  serverlessJobUsd,
  wouldCrossBudget,
} from './policy/budget.policy';
import { utcDay } from './policy/pod-cost';

export { BudgetExceededError } from './budget-admission';

export interface NewPodPricing {
  /** The GPU types the pod may be created as, in fallback order. */
  gpuTypeIds: string[];
  /** The rate the budget admits it at ($/h). */
  ratePerHour: number;
}

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
 * functions in `policy/budget.policy.ts`. Admission of new work is atomic (`admit`, `openAdmission`): one
 * admission at a time across the fleet, each counting what the previous ones recorded.
 */
@Injectable()
export class BudgetService implements OnApplicationBootstrap {
  private readonly logger = new Logger('Budget');
  private catalog: { at: number; prices: Map<string, number> } | null = null;
  private catalogRead: Promise<void> | null = null;
  private exceededDay: string | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PODS_API) private readonly podsApi: PodsApi,
    private readonly pods: PodsRepository,
    private readonly jobs: JobsRepository,
    private readonly ledger: LedgerRepository,
    private readonly lock: BudgetAdmissionLock,
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
      livePods: live.map((pod) => ({
        state: pod.state,
        costPerHour: pod.costPerHour,
        requestedAt: pod.requestedAt,
        lastBusyAt: pod.lastBusyAt,
        idleTimeoutMs: this.ownIdleTimeoutMs(pod),
      })),
      serverlessInFlight,
      // Several endpoints: the dearest, so a job admitted before its endpoint is known never passes the limit.
      serverlessPricePerSecond: dearestPricePerSecond(this.config.runpod.serverlessEndpoints),
      tickIntervalMs: this.config.cloud.tickIntervalMs,
      jobEstimateMs: this.config.cloud.budgetJobEstimateMs,
      bootTimeoutMs: this.config.cloud.bootTimeoutMs,
      idleTimeoutMs: this.settings.get().idleTimeoutMs,
      now,
    };
  }

  /**
   * Break-even: the pod's own idle timeout as the leader's reaper last stored it (none for a pod it has not seen
   * yet: CLOUD_IDLE_TIMEOUT). The seed rule reaps every pod at CLOUD_IDLE_TIMEOUT.
   */
  private ownIdleTimeoutMs(pod: PodEntity): number | undefined {
    if (this.config.cloud.policy !== 'breakeven') return undefined;
    return pod.idleTimeoutMs ?? undefined;
  }

  async status(): Promise<BudgetStatus> {
    return this.statusOf(await this.inputs());
  }

  /** `status()` from inputs a caller already read (e.g. a metrics scrape that also counts the live pods). */
  statusOf(inputs: BudgetInputs): BudgetStatus {
    return {
      limitUsd: inputs.limitUsd,
      spentTodayUsd: roundUsd(inputs.spentTodayUsd),
      remainingUsd:
        inputs.limitUsd > 0 ? roundUsd(Math.max(0, inputs.limitUsd - inputs.spentTodayUsd)) : null,
    };
  }

  /**
   * Runs `section` as the only budget admission in the fleet (always locked, even with no limit: the spawn
   * path relies on it for CLOUD_MAX_PODS too). The section decides with `admission` and must record what it
   * admits in the database before it returns.
   */
  async admit<T>(section: (admission: BudgetAdmission) => Promise<T>): Promise<T> {
    const release = await this.lock.acquire();
    const admission = await this.admissionHolding(release, true);
    try {
      return await section(admission);
    } finally {
      await admission.close();
    }
  }

  /**
   * Opens an admission for a dispatch pass; the caller closes it when the pass ends. With no limit it holds
   * no lock and admits everything, so a fleet without a budget pays nothing for it.
   */
  async openAdmission(): Promise<BudgetAdmission> {
    if (this.settings.get().dailyBudgetUsd <= 0) return new BudgetAdmission(null, () => Promise.resolve());
    return this.admissionHolding(await this.lock.acquire(), false);
  }

  private async admissionHolding(
    release: () => Promise<void>,
    evenWithoutLimit: boolean,
  ): Promise<BudgetAdmission> {
    try {
      const inputs = await this.inputs();
      return new BudgetAdmission(inputs.limitUsd > 0 || evenWithoutLimit ? inputs : null, release);
    } catch (error) {
      await release();
      throw error;
    }
  }

  /**
   * What a new pod may be created as, and the rate it is admitted at: the dearest of those GPU types (any of
   * them may be the one created). With no limit: every type, at 0 (no need to ask RunPod for prices). With a
   * limit, a type with no known price is left out, and with none left the spawn is refused: admitting a pod
   * at $0 because RunPod's catalogue could not be read let a burst past the budget.
   */
  async newPodPricing(gpuTypeIds: readonly string[]): Promise<NewPodPricing> {
    const limitUsd = this.settings.get().dailyBudgetUsd;
    if (limitUsd <= 0) return { gpuTypeIds: [...gpuTypeIds], ratePerHour: 0 };
    const priced: string[] = [];
    const unpriced: string[] = [];
    let ratePerHour = 0;
    for (const gpuTypeId of gpuTypeIds) {
      const price = await this.knownPricePerHour(gpuTypeId);
      if (price === null) unpriced.push(gpuTypeId);
      else {
        priced.push(gpuTypeId);
        ratePerHour = Math.max(ratePerHour, price);
      }
    }
    if (unpriced.length === 0) return { gpuTypeIds: priced, ratePerHour };
    const noPrice = `no price known for ${unpriced.join(', ')} (RunPod's GPU catalogue could not be read, and no pod of that type ran here)`;
    if (priced.length === 0) {
      throw new UnavailableError(
        `Daily budget (CLOUD_DAILY_BUDGET_USD $${limitUsd.toFixed(2)}): a new pod cannot be admitted: ${noPrice}; try again when RunPod answers`,
      );
    }
    this.logger.warn(`A new pod will not fall back to a GPU type with ${noPrice}`);
    return { gpuTypeIds: priced, ratePerHour };
  }

  /**
   * Whether a cloud job (serverless run, or a job sent to a pod) may start now; the dispatcher asks once
   * per pass to route (jobs that may run locally go local), then admits each cloud job with `openAdmission`.
   * Returns the reason when it may not.
   */
  async cloudJobBlockedReason(): Promise<string | null> {
    const inputs = await this.inputs();
    if (inputs.limitUsd <= 0) return null;
    // Blocked only when the cheapest kind of cloud job this fleet can run does not fit: each job is then
    // admitted for its own kind (openAdmission). Counting serverless's price without an endpoint held pod
    // jobs back from a pod the budget had already paid for.
    const podJob = podJobUsd(inputs);
    const jobUsd = this.config.runpod.serverlessEndpointId
      ? Math.min(serverlessJobUsd(inputs), podJob > 0 ? podJob : Infinity)
      : podJob;
    if (!budgetReached(inputs) && !wouldCrossBudget(inputs, jobUsd)) return null;
    return budgetRefusal('cloud work', inputs, jobUsd);
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

  /** One catalogue read at a time: a burst of spawns waits for the read in flight instead of each starting one. */
  private refreshCatalog(): Promise<void> {
    this.catalogRead ??= this.readCatalog().finally(() => (this.catalogRead = null));
    return this.catalogRead;
  }

  private async readCatalog(): Promise<void> {
    try {
      const types = await this.podsApi.listGpuTypes();
      // Our pods are billed the price of the cloud we create them in (RUNPOD_CLOUD_TYPE), which may be
      // above the lowest quote: admitting at the lowest let two pods into room for one.
      const cloud = this.config.runpod.cloudType;
      const prices = new Map<string, number>();
      for (const type of types) {
        const price = type.pricePerHourByCloud[cloud] ?? type.pricePerHour;
        if (price) prices.set(type.id, price);
      }
      this.catalog = { at: this.clock.now(), prices };
    } catch (error) {
      this.logger.warn(`Could not read RunPod's GPU prices: ${(error as Error).message}`);
    }
  }

  /**
   * RunPod's quoted price in our cloud, else 0 (logged): what the break-even policy and the quotes weigh pods
   * with (the policy falls back to the seed's rule at 0). The budget never admits at 0 (`newPodPricing`).
   */
  async pricePerHour(gpuTypeId: string): Promise<number> {
    const price = await this.knownPricePerHour(gpuTypeId);
    if (price !== null) return price;
    this.logger.warn(`No price known for ${gpuTypeId}: RunPod's GPU catalogue could not be read`);
    return 0;
  }

  /** RunPod's quoted price in our cloud (catalogue, cached), else what our last pod of that type cost. */
  private async knownPricePerHour(gpuTypeId: string): Promise<number | null> {
    if (!this.catalog || this.clock.now() - this.catalog.at > CATALOG_TTL_MS) await this.refreshCatalog();
    const quoted = this.catalog?.prices.get(gpuTypeId);
    if (quoted) return quoted;
    const seen = (await this.pods.findRecent(50)).find(
      (pod) => pod.gpuTypeId === gpuTypeId && pod.costPerHour > 0,
    );
    return seen ? seen.costPerHour : null;
  }
}
