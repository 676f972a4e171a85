import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { Repository } from 'typeorm';
import { EntitySql } from './entity-sql';
import { LedgerEntryEntity } from './entities/ledger-entry.entity';
import { PodEntity } from './entities/pod.entity';

export interface SourceTotal {
  source: string;
  amountUsd: number;
}

export interface PodDayAmount {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  /** RunPod pod id. */
  podId: string;
  amountUsd: number;
}

export interface BucketTotal {
  /** Start of the bucket, epoch ms. */
  bucketStart: number;
  amountUsd: number;
}

/** A pod's billed interval as its row records it: the ledger's day rows are this interval cut at midnights. */
export interface PodBilling {
  podId: string;
  name: string;
  gpuTypeId: string;
  costPerHour: number;
  billedFrom: number;
  billedUntil: number;
}

/** Bucket lengths are fixed by the code (an hour, a day), inlined into SQL: never a caller's value. */
function bucketLength(bucketMs: number): number {
  if (!Number.isSafeInteger(bucketMs) || bucketMs <= 0) throw new Error(`Bad bucket length ${bucketMs}`);
  return bucketMs;
}

/**
 * The only code that queries the cost ledger. The cost history's reads are hand-written SQL (EntitySql): a
 * year of history aggregates tens of thousands of rows per request, in the database, on bound parameters.
 */
@Injectable()
export class LedgerRepository {
  private readonly sql: EntitySql<LedgerEntryEntity>;
  private readonly podSql: EntitySql<PodEntity>;

  constructor(
    @InjectRepository(LedgerEntryEntity, CLOUD_WORKERS_DATA_SOURCE)
    private readonly ledger: Repository<LedgerEntryEntity>,
    @InjectRepository(PodEntity, CLOUD_WORKERS_DATA_SOURCE)
    pods: Repository<PodEntity>,
  ) {
    this.sql = new EntitySql(ledger);
    this.podSql = new EntitySql(pods);
  }

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

  /** Pod ledger rows summed per (UTC day, pod) for days fromDay..toDay (inclusive, YYYY-MM-DD). */
  async podAmountsByDay(fromDay: string, toDay: string): Promise<PodDayAmount[]> {
    const sql = this.sql.statement('podAmountsByDay', () => {
      const [day, source, amount, kind] = ['day', 'source', 'amountUsd', 'kind'] as const;
      return (
        `SELECT ${this.sql.column(day)} AS "day", ${this.sql.column(source)} AS "podId", ` +
        `SUM(${this.sql.column(amount)}) AS "amount" FROM ${this.sql.tableName} ` +
        `WHERE ${this.sql.column(day)} >= ? AND ${this.sql.column(day)} <= ? AND ${this.sql.column(kind)} = ? ` +
        `GROUP BY ${this.sql.column(day)}, ${this.sql.column(source)}`
      );
    });
    const { rows } = await this.sql.run(sql, [fromDay, toDay, 'pod']);
    return rows.map((row) => ({
      day: String(row.day),
      podId: String(row.podId),
      amountUsd: Number(row.amount),
    }));
  }

  /**
   * Serverless spend summed per bucket of `bucketMs` over [fromMs, toMs), each amount placed at the time it
   * was recorded (when the attempt ended). `day` narrows the scan through idx_cost_ledger_day.
   */
  /** `days`: the UTC days (YYYY-MM-DD) of `fromMs` and `toMs - 1`, which narrow the scan through the day index. */
  async serverlessAmountsByBucket(
    fromMs: number,
    toMs: number,
    bucketMs: number,
    days: { from: string; to: string },
  ): Promise<BucketTotal[]> {
    const length = bucketLength(bucketMs);
    const sql = this.sql.statement(`serverlessAmountsByBucket:${length}`, () => {
      const updated = this.sql.column('updatedAt');
      const day = this.sql.column('day');
      return (
        `SELECT (${updated} / ${length}) * ${length} AS "bucket", SUM(${this.sql.column('amountUsd')}) AS "amount" ` +
        `FROM ${this.sql.tableName} WHERE ${day} >= ? AND ${day} <= ? AND ${this.sql.column('kind')} = ? ` +
        `AND ${updated} >= ? AND ${updated} < ? GROUP BY (${updated} / ${length}) * ${length}`
      );
    });
    const { rows } = await this.sql.run(sql, [days.from, days.to, 'serverless', fromMs, toMs]);
    return rows.map((row) => ({ bucketStart: Number(row.bucket), amountUsd: Number(row.amount) }));
  }

  /**
   * Pods billed at some time in [fromMs, toMs): their rate and billed interval (creation at RunPod to the
   * instant the ledger is written through), from which hourly amounts are derived.
   */
  async podBillingBetween(fromMs: number, toMs: number): Promise<PodBilling[]> {
    const sql = this.podSql.statement('podBillingBetween', () => {
      const c = (property: keyof PodEntity) => this.podSql.column(property);
      return (
        `SELECT ${c('runpodId')} AS "podId", ${c('name')} AS "name", ${c('gpuTypeId')} AS "gpuTypeId", ` +
        `${c('costPerHour')} AS "costPerHour", ${c('createdAt')} AS "billedFrom", ` +
        `${c('billedThrough')} AS "billedUntil" FROM ${this.podSql.tableName} ` +
        `WHERE ${c('runpodId')} IS NOT NULL AND ${c('createdAt')} IS NOT NULL AND ${c('billedThrough')} IS NOT NULL ` +
        `AND ${c('createdAt')} < ? AND ${c('billedThrough')} > ?`
      );
    });
    const { rows } = await this.podSql.run(sql, [toMs, fromMs]);
    return rows.map((row) => ({
      podId: String(row.podId),
      name: String(row.name),
      gpuTypeId: String(row.gpuTypeId),
      costPerHour: Number(row.costPerHour),
      billedFrom: Number(row.billedFrom),
      billedUntil: Number(row.billedUntil),
    }));
  }

  /** Name and GPU of the pods with these RunPod ids (pods the ledger bills). */
  async podNames(
    podIds: readonly string[],
  ): Promise<Array<{ podId: string; name: string; gpuTypeId: string }>> {
    const found: Array<{ podId: string; name: string; gpuTypeId: string }> = [];
    // Bounded statements (SQLite allows 999 parameters in older builds); a year rarely bills more pods.
    for (let i = 0; i < podIds.length; i += 500) {
      const chunk = podIds.slice(i, i + 500);
      const sql = this.podSql.statement(`podNames:${chunk.length}`, () => {
        const c = (property: keyof PodEntity) => this.podSql.column(property);
        return (
          `SELECT ${c('runpodId')} AS "podId", ${c('name')} AS "name", ${c('gpuTypeId')} AS "gpuTypeId" ` +
          `FROM ${this.podSql.tableName} WHERE ${c('runpodId')} IN (${chunk.map(() => '?').join(', ')})`
        );
      });
      const { rows } = await this.podSql.run(sql, chunk);
      for (const row of rows)
        found.push({ podId: String(row.podId), name: String(row.name), gpuTypeId: String(row.gpuTypeId) });
    }
    return found;
  }
}
