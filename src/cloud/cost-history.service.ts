import { Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import { LedgerRepository } from '../persistence/ledger.repository';
import { JobsRepository } from '../persistence/jobs.repository';
import { BudgetService } from './budget.service';
import { utcDay } from './policy/pod-cost';
import {
  buildCostHistory,
  type PodBucketAmount,
  type PodInfo,
  podCostByBucket,
} from './cost-history.buckets';
import {
  BUCKET_MS,
  type CostHistoryQuery,
  type CostHistoryRange,
  costHistoryRange,
} from './cost-history.range';
import { CostHistoryDto } from './dto/cost-history.dto';

/**
 * Spend over time for the dashboard's cost monitor, by backend and by pod, with jobs completed per bucket.
 *
 * Daily buckets read the ledger's per-(pod, day) rows as written. Hourly buckets cannot come from day rows, so
 * pods are cut into hours from their rate and billed interval in the pods table: the arithmetic the ledger's
 * day rows come from, so the hours of a day add up to its row. Both read pods as billed through the last
 * ledger write (one control-loop tick behind a live pod); serverless spend sits at the time it was recorded.
 */
@Injectable()
export class CostHistoryService {
  constructor(
    private readonly ledger: LedgerRepository,
    private readonly jobs: JobsRepository,
    private readonly budget: BudgetService,
    private readonly clock: Clock,
  ) {}

  /** Throws InvalidInputError (400) for a query `costHistoryRange` refuses. */
  async history(query: CostHistoryQuery): Promise<CostHistoryDto> {
    const range = costHistoryRange(query, this.clock.now());
    const bucketMs = BUCKET_MS[range.granularity];
    const days = { from: utcDay(range.fromMs), to: utcDay(range.toMs - 1) };
    const [pods, serverless, jobsCompleted, budget] = await Promise.all([
      this.podAmounts(range),
      this.ledger.serverlessAmountsByBucket(range.fromMs, range.toMs, bucketMs, days),
      this.jobs.completedCountsByBucket(range.fromMs, range.toMs, bucketMs),
      this.budget.status(),
    ]);
    const history = buildCostHistory({
      range,
      pods: pods.amounts,
      serverless,
      jobsCompleted,
      podInfo: pods.info ?? (await this.podInfo(pods.amounts)),
    });
    return {
      from: new Date(range.fromMs).toISOString(),
      to: new Date(range.toMs).toISOString(),
      granularity: range.granularity,
      currency: 'USD',
      ...history,
      budget: {
        dailyBudgetUsd: budget.limitUsd > 0 ? budget.limitUsd : null,
        spentTodayUsd: budget.spentTodayUsd,
      },
    };
  }

  private async podAmounts(
    range: CostHistoryRange,
  ): Promise<{ amounts: PodBucketAmount[]; info: PodInfo[] | null }> {
    if (range.granularity === 'hour') {
      const billing = await this.ledger.podBillingBetween(range.fromMs, range.toMs);
      return { amounts: podCostByBucket(range, billing), info: billing };
    }
    const rows = await this.ledger.podAmountsByDay(utcDay(range.fromMs), utcDay(range.toMs - 1));
    const amounts = rows.map((row) => ({
      podId: row.podId,
      bucketStart: Date.parse(`${row.day}T00:00:00.000Z`),
      amountUsd: row.amountUsd,
    }));
    return { amounts, info: null };
  }

  private async podInfo(amounts: PodBucketAmount[]): Promise<PodInfo[]> {
    return this.ledger.podNames([...new Set(amounts.map((amount) => amount.podId))]);
  }
}
