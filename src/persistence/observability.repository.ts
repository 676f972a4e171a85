import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { JobEntity } from './entities/job.entity';
import { type LedgerKind, LedgerEntryEntity } from './entities/ledger-entry.entity';

export interface ActiveJobCount {
  status: 'queued' | 'running';
  /** Where it runs; null for a queued job no backend has taken yet. */
  backend: string | null;
  count: number;
}

export interface KindTotal {
  kind: LedgerKind;
  amountUsd: number;
}

/**
 * The reads of /metrics and the webhooks, kept apart from the queue's repositories. Every query here is bounded
 * by something other than the history's length: active jobs (the dispatch index's leading column), one job by
 * id, or ledger days (idx_cost_ledger_day).
 */
@Injectable()
export class ObservabilityRepository {
  constructor(
    @InjectRepository(JobEntity, CLOUD_WORKERS_DATA_SOURCE) private readonly jobs: Repository<JobEntity>,
    @InjectRepository(LedgerEntryEntity, CLOUD_WORKERS_DATA_SOURCE)
    private readonly ledger: Repository<LedgerEntryEntity>,
  ) {}

  /** Queued and running jobs by status and backend (served by idx_jobs_dispatch_order, whose first column is status). */
  async activeJobCounts(): Promise<ActiveJobCount[]> {
    const rows = await this.jobs
      .createQueryBuilder('job')
      .select('job.status', 'status')
      .addSelect('job.backend', 'backend')
      .addSelect('COUNT(*)', 'count')
      .where('job.status IN (:...statuses)', { statuses: ['queued', 'running'] })
      .groupBy('job.status')
      .addGroupBy('job.backend')
      .getRawMany<{ status: 'queued' | 'running'; backend: string | null; count: string | number }>();
    return rows.map((row) => ({ status: row.status, backend: row.backend, count: Number(row.count) }));
  }

  /** Ledger totals by kind over UTC days `fromDay <= day < toDay` (either bound may be omitted). */
  async spendByKind(range: { fromDay?: string; toDay?: string }): Promise<KindTotal[]> {
    const query = this.ledger
      .createQueryBuilder('entry')
      .select('entry.kind', 'kind')
      .addSelect('SUM(entry.amount_usd)', 'total')
      .groupBy('entry.kind');
    if (range.fromDay) query.andWhere('entry.day >= :fromDay', { fromDay: range.fromDay });
    if (range.toDay) query.andWhere('entry.day < :toDay', { toDay: range.toDay });
    const rows = await query.getRawMany<{ kind: LedgerKind; total: string | number | null }>();
    return rows.map((row) => ({ kind: row.kind, amountUsd: Number(row.total ?? 0) }));
  }
}
