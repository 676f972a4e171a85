import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { BudgetService, type BudgetStatus } from '../cloud/budget.service';
import { utcDay } from '../cloud/policy/pod-cost';
import { Clock, HOUR } from '../common/clock';
import { POD_STATES, type PodState } from '../persistence/entities/pod.entity';
import { LeaderElection } from '../persistence/leader-election.service';
import {
  type ActiveJobCount,
  type KindTotal,
  ObservabilityRepository,
} from '../persistence/observability.repository';
import { CloudWorkersMetrics, METRIC_PREFIX } from './cloud-workers-metrics';

/** One scrape's reads, shared by the gauges of that scrape. */
interface FleetSnapshot {
  activeJobs: ActiveJobCount[];
  podStates: Map<PodState, number>;
  budget: BudgetStatus;
  spend: Map<string, number>;
}

/** Ledger kind -> the backend label the job metrics use. */
const BACKEND_OF_KIND: Record<string, string> = { pod: 'pod', serverless: 'serverless' };

/**
 * The gauges that describe the fleet from the database, computed when Prometheus scrapes, with bounded reads
 * only: active jobs (queued + running, through the dispatch index), live pods (at most CLOUD_MAX_PODS), the
 * budget's own inputs (today's ledger rows), and spend as a running total whose past days are summed once per
 * UTC day and whose last two days are read on each scrape. Every instance reports the same fleet-wide values.
 */
@Injectable()
export class FleetGauges {
  /** The read in progress: every gauge of one scrape awaits the same one. */
  private snapshot: Promise<FleetSnapshot> | null = null;
  /** Spend before yesterday (UTC), by backend, summed once a day: those rows no longer change. */
  private settledSpend: { beforeDay: string; totals: Promise<KindTotal[]> } | null = null;

  constructor(
    metrics: CloudWorkersMetrics,
    private readonly observability: ObservabilityRepository,
    private readonly budget: BudgetService,
    private readonly leadership: LeaderElection,
    private readonly clock: Clock,
  ) {
    const registers = [metrics.registry];
    const read = () => this.read();
    new Gauge({
      name: `${METRIC_PREFIX}jobs`,
      help: 'Jobs queued or running now, by status and backend (none: queued and not taken yet); fleet-wide',
      labelNames: ['status', 'backend'] as const,
      registers,
      async collect() {
        const { activeJobs } = await read();
        this.reset();
        for (const status of ['queued', 'running'] as const) this.set({ status, backend: 'none' }, 0);
        for (const row of activeJobs)
          this.inc({ status: row.status, backend: row.backend ?? 'none' }, row.count);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}queue_depth`,
      help: 'Jobs waiting to start (status queued); fleet-wide',
      registers,
      async collect() {
        const { activeJobs } = await read();
        this.set(
          activeJobs.filter((row) => row.status === 'queued').reduce((sum, row) => sum + row.count, 0),
        );
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}pods`,
      help: 'Pods we own that may be billing, by state; fleet-wide',
      labelNames: ['state'] as const,
      registers,
      async collect() {
        const { podStates } = await read();
        this.reset();
        for (const state of POD_STATES) {
          if (state === 'terminated' || state === 'failed') continue;
          this.set({ state }, podStates.get(state) ?? 0);
        }
      },
    });
    new Counter({
      name: `${METRIC_PREFIX}spend_usd_total`,
      help: 'USD spent on cloud work since the ledger began, by backend (pod, serverless); fleet-wide, from the ledger',
      labelNames: ['backend'] as const,
      registers,
      async collect() {
        const { spend } = await read();
        this.reset();
        for (const backend of ['pod', 'serverless']) this.inc({ backend }, spend.get(backend) ?? 0);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}budget_limit_usd`,
      help: 'Daily cloud budget (UTC day) in USD; 0 = no limit',
      registers,
      async collect() {
        this.set((await read()).budget.limitUsd);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}budget_spent_today_usd`,
      help: "Today's cloud spend (UTC day) in USD, including what live pods accrued since the last ledger write",
      registers,
      async collect() {
        this.set((await read()).budget.spentTodayUsd);
      },
    });
    new Gauge({
      name: `${METRIC_PREFIX}budget_remaining_usd`,
      help: "What is left of today's budget in USD (absent when there is no limit)",
      registers,
      async collect() {
        const { budget } = await read();
        this.reset();
        if (budget.remainingUsd !== null) this.set(budget.remainingUsd);
      },
    });
    const isLeader = () => this.leadership.isLeader();
    new Gauge({
      name: `${METRIC_PREFIX}leader`,
      help: '1 when this instance runs the dispatcher, autoscaler, reaper and sweeper',
      registers,
      collect() {
        this.set(isLeader() ? 1 : 0);
      },
    });
  }

  private read(): Promise<FleetSnapshot> {
    // Only the gauges of one scrape share a read; the next scrape reads again (never a stale answer).
    this.snapshot ??= this.readNow(this.clock.now()).finally(() => (this.snapshot = null));
    return this.snapshot;
  }

  private async readNow(now: number): Promise<FleetSnapshot> {
    // The budget's inputs hold the live pods already: one read of the pods table per scrape.
    const [activeJobs, budgetInputs, spend] = await Promise.all([
      this.observability.activeJobCounts(),
      this.budget.inputs(),
      this.spendTotals(now),
    ]);
    const podStates = new Map<PodState, number>();
    for (const pod of budgetInputs.livePods) podStates.set(pod.state, (podStates.get(pod.state) ?? 0) + 1);
    return { activeJobs, podStates, budget: this.budget.statusOf(budgetInputs), spend };
  }

  private async spendTotals(now: number): Promise<Map<string, number>> {
    const yesterday = utcDay(now - 24 * HOUR);
    let settledSpend = this.settledSpend;
    if (settledSpend?.beforeDay !== yesterday) {
      const totals = this.observability.spendByKind({ toDay: yesterday });
      settledSpend = this.settledSpend = { beforeDay: yesterday, totals };
      totals.catch(() => {
        if (this.settledSpend?.totals === totals) this.settledSpend = null;
      });
    }
    const [settled, recent] = await Promise.all([
      settledSpend.totals,
      this.observability.spendByKind({ fromDay: yesterday }),
    ]);
    const spend = new Map<string, number>();
    for (const { kind, amountUsd } of [...settled, ...recent]) {
      const backend = BACKEND_OF_KIND[kind] ?? kind;
      spend.set(backend, (spend.get(backend) ?? 0) + amountUsd);
    }
    return spend;
  }
}
