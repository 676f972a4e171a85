import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { Repository } from 'typeorm';
import { LedgerEntryEntity } from './entities/ledger-entry.entity';

export interface SourceTotal {
  source: string;
  amountUsd: number;
}

/** The only code that queries the cost ledger. */
@Injectable()
export class LedgerRepository {
  constructor(
    @InjectRepository(LedgerEntryEntity, CLOUD_WORKERS_DATA_SOURCE)
    private readonly ledger: Repository<LedgerEntryEntity>,
  ) {}

  /** Writes absolute amounts per key (insert or overwrite), in one transaction. */
  async upsert(entries: LedgerEntryEntity[]): Promise<void> {
    if (entries.length === 0) return;
    await this.ledger.upsert(entries, { conflictPaths: ['key'] });
  }

  async totalUsd(): Promise<number> {
    const row = await this.ledger
      .createQueryBuilder('entry')
      .select('COALESCE(SUM(entry.amount_usd), 0)', 'total')
      .getRawOne<{ total: string | number }>();
    return Number(row?.total ?? 0);
  }

  async totalsBySource(): Promise<SourceTotal[]> {
    const rows = await this.ledger
      .createQueryBuilder('entry')
      .select('entry.source', 'source')
      .addSelect('SUM(entry.amount_usd)', 'total')
      .groupBy('entry.source')
      .getRawMany<{ source: string; total: string | number }>();
    return rows.map((row) => ({ source: row.source, amountUsd: Number(row.total) }));
  }

  async totalForDay(day: string): Promise<number> {
    const row = await this.ledger
      .createQueryBuilder('entry')
      .select('COALESCE(SUM(entry.amount_usd), 0)', 'total')
      .where('entry.day = :day', { day })
      .getRawOne<{ total: string | number }>();
    return Number(row?.total ?? 0);
  }
}
