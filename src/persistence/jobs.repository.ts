import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { type FindOptionsWhere, Repository } from 'typeorm';
import { EntitySql } from './entity-sql';
import { type JobBackend, JobEntity, type JobStatus } from './entities/job.entity';

export interface CountRow {
  key: string;
  count: number;
}

/** Columns a dispatch pass reads: no workflow, images or outputs (a pass reads many rows, often). */
const ROUTING_COLUMNS = [
  'id',
  'status',
  'priority',
  'requestedBackend',
  'podOnly',
  'failedWorkers',
  'waitingReason',
  'attempts',
  'startedAt',
  'costUsd',
  'cancelRequested',
  'createdAt',
] as const satisfies ReadonlyArray<keyof JobEntity>;

/**
 * The only code that queries the jobs table. The queue's hot path (insert, claim, transitions, the dispatch
 * read) is hand-written SQL through EntitySql; the rest goes through TypeORM's repository.
 */
@Injectable()
export class JobsRepository {
  private readonly sql: EntitySql<JobEntity>;

  constructor(
    @InjectRepository(JobEntity, CLOUD_WORKERS_DATA_SOURCE) private readonly jobs: Repository<JobEntity>,
  ) {
    this.sql = new EntitySql(jobs);
  }

  async insert(job: JobEntity): Promise<void> {
    // Columns left undefined take the table's defaults, as with TypeORM's insert.
    const properties = (Object.keys(job) as Array<keyof JobEntity>)
      .filter((property) => job[property] !== undefined)
      .sort();
    const sql = this.sql.statement(`insert:${properties.join()}`, () => {
      const columns = properties.map((property) => this.sql.column(property)).join(', ');
      const values = properties.map(() => '?').join(', ');
      return `INSERT INTO ${this.sql.tableName} (${columns}) VALUES (${values})`;
    });
    await this.sql.run(
      sql,
      properties.map((property) => this.sql.toDatabase(property, job[property])),
    );
  }

  async findById(id: string): Promise<JobEntity | null> {
    const sql = this.sql.statement(
      'findById',
      () => `SELECT * FROM ${this.sql.tableName} WHERE ${this.sql.column('id')} = ?`,
    );
    const { rows } = await this.sql.run(sql, [id]);
    return rows.length > 0 ? this.sql.fromRow(rows[0]) : null;
  }

  async update(id: string, patch: Partial<JobEntity>): Promise<void> {
    await this.patch(id, null, patch, false);
  }

  /** Compare-and-set on status: applies `patch` only while the job is in one of `from`. */
  async transition(id: string, from: readonly JobStatus[], patch: Partial<JobEntity>): Promise<boolean> {
    return (await this.patch(id, from, patch, false)).affected > 0;
  }

  /**
   * `transition` that also returns the whole updated row, in one statement (UPDATE ... RETURNING, in SQLite
   * since 3.35 and in PostgreSQL): the dispatcher's claim of a queued job, which then needs its workflow.
   */
  async claim(id: string, from: readonly JobStatus[], patch: Partial<JobEntity>): Promise<JobEntity | null> {
    const { rows } = await this.patch(id, from, patch, true);
    return rows.length > 0 ? this.sql.fromRow(rows[0]) : null;
  }

  private async patch(
    id: string,
    from: readonly JobStatus[] | null,
    patch: Partial<JobEntity>,
    returning: boolean,
  ) {
    const properties = (Object.keys(patch) as Array<keyof JobEntity>).filter(
      (property) => patch[property] !== undefined,
    );
    if (properties.length === 0) throw new Error('JobsRepository: an update needs at least one column');
    const key = `patch:${properties.join()}:${from?.length ?? 0}:${returning}`;
    const sql = this.sql.statement(key, () => {
      const set = properties.map((property) => `${this.sql.column(property)} = ?`).join(', ');
      const status = from ? ` AND ${this.sql.column('status')} IN (${from.map(() => '?').join(', ')})` : '';
      return (
        `UPDATE ${this.sql.tableName} SET ${set} WHERE ${this.sql.column('id')} = ?${status}` +
        (returning ? ' RETURNING *' : '')
      );
    });
    const values = properties.map((property) => this.sql.toDatabase(property, patch[property]));
    return this.sql.run(sql, [...values, id, ...(from ?? [])]);
  }

  /**
   * Queued jobs in dispatch order: priority (higher first), then oldest first, served by the index
   * idx_jobs_dispatch_order. Only the columns routing needs.
   */
  async findQueuedForRouting(limit: number): Promise<JobEntity[]> {
    const sql = this.sql.statement('findQueuedForRouting', () => {
      const columns = ROUTING_COLUMNS.map((property) => this.sql.column(property)).join(', ');
      return (
        `SELECT ${columns} FROM ${this.sql.tableName} WHERE ${this.sql.column('status')} = ? ` +
        `ORDER BY ${this.sql.column('priority')} DESC, ${this.sql.column('createdAt')} ASC LIMIT ?`
      );
    });
    const { rows } = await this.sql.run(sql, ['queued', limit]);
    return rows.map((row) => this.sql.fromRow(row));
  }

  /** Running jobs somebody asked to cancel (possibly through another instance). */
  async findCancelRequested(): Promise<JobEntity[]> {
    return this.jobs.find({ select: { id: true }, where: { status: 'running', cancelRequested: true } });
  }

  async findByStatus(status: JobStatus): Promise<JobEntity[]> {
    return this.jobs.find({ where: { status }, order: { createdAt: 'ASC' } });
  }

  /** Newest first. */
  /**
   * Newest first, for the list view: only the columns a summary shows, never the workflow, input images or
   * metadata (up to MAX_REQUEST_BODY_MB each), so listing 500 jobs reads the same whatever they carry.
   */
  async listSummaries(status: JobStatus | undefined, limit: number): Promise<JobEntity[]> {
    return this.jobs.find({
      select: {
        id: true,
        status: true,
        requestedBackend: true,
        backend: true,
        workerId: true,
        attempts: true,
        priority: true,
        progress: true,
        waitingReason: true,
        createdAt: true,
        startedAt: true,
        completedAt: true,
        costUsd: true,
        outputs: true,
        error: true,
      },
      where: status ? { status } : {},
      order: { createdAt: 'DESC' },
      take: limit,
    });
  }

  /** Jobs running now on one backend (a count; no rows are loaded). */
  async countRunningOn(backend: JobBackend): Promise<number> {
    return this.jobs.countBy({ status: 'running', backend });
  }

  async countBy(column: 'status' | 'backend', where: FindOptionsWhere<JobEntity> = {}): Promise<CountRow[]> {
    const query = this.jobs
      .createQueryBuilder('job')
      .select(`job.${column}`, 'key')
      .addSelect('COUNT(*)', 'count')
      .groupBy(`job.${column}`);
    if (where.status) query.where('job.status = :status', { status: where.status });
    const rows = await query.getRawMany<{ key: string | null; count: string | number }>();
    return rows.map((row) => ({ key: row.key ?? 'none', count: Number(row.count) }));
  }
}
