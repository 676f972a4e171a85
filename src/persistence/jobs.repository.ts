import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { Equal, type FindOptionsWhere, In, MoreThan, Repository } from 'typeorm';
import { EntitySql } from './entity-sql';
import { type SqliteConnection, SqliteGroupCommit } from './sqlite-group-commit';
import { type JobBackend, JobEntity, type JobStatus, TERMINAL_JOB_STATUSES } from './entities/job.entity';

export interface JobListFilter {
  status?: JobStatus;
  backend?: JobBackend;
}

/** Where a list page ends: the last job's creation time and id (the list's sort key). */
export interface JobListPosition {
  createdAt: number;
  id: string;
}

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
  'plannedBackend',
  'failedWorkers',
  'waitingReason',
  'attempts',
  'startedAt',
  'costUsd',
  'cancelRequested',
  'createdAt',
  // LocalHolds: a deadline job waits for a busy local worker only if that worker still finishes it in time.
  'deadline',
  // The break-even policy's class of a job waiting for the cloud (its kind's run time, not the mean job's).
  'workloadKind',
] as const satisfies ReadonlyArray<keyof JobEntity>;

/** Columns a list summary shows (JobSummaryDto): not the workflow, input images or metadata. */
const SUMMARY_COLUMNS = [
  'id',
  'status',
  'requestedBackend',
  'backend',
  'workerId',
  'attempts',
  'priority',
  'progress',
  'waitingReason',
  'createdAt',
  'startedAt',
  'completedAt',
  'costUsd',
  'outputs',
  'error',
  'estimate',
  'deadline',
  'maxCostUsd',
  'plannedBackend',
] as const satisfies ReadonlyArray<keyof JobEntity>;

/**
 * The only code that queries the jobs table. The queue's hot path (insert, claim, transitions, the dispatch
 * read) is hand-written SQL through EntitySql; the rest goes through TypeORM's repository.
 */
@Injectable()
export class JobsRepository {
  private readonly sql: EntitySql<JobEntity>;
  /** SQLite only: concurrent submits' rows committed together (SqliteGroupCommit says why). */
  private readonly groupCommit: SqliteGroupCommit | undefined;

  constructor(
    @InjectRepository(JobEntity, CLOUD_WORKERS_DATA_SOURCE) private readonly jobs: Repository<JobEntity>,
  ) {
    this.sql = new EntitySql(jobs);
    const { connection } = jobs.manager;
    this.groupCommit =
      connection.options.type === 'better-sqlite3'
        ? new SqliteGroupCommit(
            () =>
              (connection.driver as unknown as { databaseConnection: SqliteConnection }).databaseConnection,
          )
        : undefined;
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
    const parameters = properties.map((property) => this.sql.toDatabase(property, job[property]));
    if (this.groupCommit) await this.groupCommit.run(sql, parameters);
    else await this.sql.run(sql, parameters);
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

  /**
   * Queued jobs whose deadline is still ahead (after `now`), the earliest deadline first (ties by id), at most
   * `limit`, and only those after `after` in that order when given (the re-planner's scan through a queue longer
   * than one read): the re-planner's read, with the constraints and the plan but not the workflow (read only for
   * the few it re-plans). A job past its deadline has nothing left to save.
   */
  async findQueuedWithDeadline(
    limit: number,
    now: number,
    after?: { deadline: number; id: string },
  ): Promise<JobEntity[]> {
    const where: FindOptionsWhere<JobEntity>[] =
      after === undefined
        ? [{ status: 'queued', deadline: MoreThan(now) }]
        : [
            { status: 'queued', deadline: MoreThan(Math.max(now, after.deadline)) },
            ...(after.deadline > now
              ? [{ status: 'queued' as const, deadline: Equal(after.deadline), id: MoreThan(after.id) }]
              : []),
          ];
    return this.jobs.find({
      select: {
        id: true,
        status: true,
        requestedBackend: true,
        podOnly: true,
        waitingReason: true,
        estimate: true,
        deadline: true,
        maxCostUsd: true,
        plannedBackend: true,
        createdAt: true,
      },
      where,
      order: { deadline: 'ASC', id: 'ASC' },
      take: limit,
    });
  }

  /**
   * The estimates (`jobs.estimate`, JSON) of the given jobs, by id: the dispatcher's read for the few queued jobs
   * whose deadline plan chose a local worker (the routing page leaves the column out).
   */
  async findEstimates(ids: readonly string[]): Promise<Map<string, string | null>> {
    if (ids.length === 0) return new Map();
    const rows = await this.jobs.find({ select: { id: true, estimate: true }, where: { id: In([...ids]) } });
    return new Map(rows.map((row) => [row.id, row.estimate]));
  }

  /** Running jobs somebody asked to cancel (possibly through another instance). */
  async findCancelRequested(): Promise<JobEntity[]> {
    return this.jobs.find({ select: { id: true }, where: { status: 'running', cancelRequested: true } });
  }

  async findByStatus(status: JobStatus): Promise<JobEntity[]> {
    return this.jobs.find({ where: { status }, order: { createdAt: 'ASC' } });
  }

  /**
   * One page of the list view, newest first (created_at, then id, both descending, so jobs created in the same
   * millisecond still have one order), starting strictly after `after`. Keyset paging: a page costs the same at
   * any depth, and jobs created meanwhile sort before the position, so they never shift later pages.
   * Hand-written SQL served by the indexes of migration 1764230000000 (one per filter combination).
   */
  async listPage(filter: JobListFilter, limit: number, after?: JobListPosition): Promise<JobEntity[]> {
    const conditions: string[] = [];
    const values: unknown[] = [];
    // An ended status goes into the SQL as a literal (an enum value, never input): the partial indexes over
    // ended jobs apply only to a condition that names one (see migration 1764230000000).
    const literalStatus =
      filter.status && TERMINAL_JOB_STATUSES.includes(filter.status) ? filter.status : null;
    if (literalStatus) {
      conditions.push(`${this.sql.column('status')} = '${literalStatus}'`);
    } else if (filter.status) {
      conditions.push(`${this.sql.column('status')} = ?`);
      values.push(filter.status);
    }
    if (filter.backend) {
      conditions.push(`${this.sql.column('backend')} = ?`);
      values.push(filter.backend);
    }
    const createdAt = this.sql.column('createdAt');
    const id = this.sql.column('id');
    if (after) {
      conditions.push(`(${createdAt}, ${id}) < (?, ?)`);
      values.push(after.createdAt, after.id);
    }
    const key = `listPage:${literalStatus ?? (filter.status ? 's' : '')}:${filter.backend ? 'b' : ''}${after ? 'a' : ''}`;
    const sql = this.sql.statement(key, () => {
      const columns = SUMMARY_COLUMNS.map((property) => this.sql.column(property)).join(', ');
      const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '';
      return (
        `SELECT ${columns} FROM ${this.sql.tableName}${where} ` +
        `ORDER BY ${createdAt} DESC, ${id} DESC LIMIT ?`
      );
    });
    const { rows } = await this.sql.run(sql, [...values, limit]);
    return rows.map((row) => this.sql.fromRow(row));
  }

  /**
   * Jobs completed in [fromMs, toMs), counted per bucket of `bucketMs` (an hour or a day, fixed by the code)
   * by completion time; served by idx_jobs_completed_status without reading the rows.
   */
  async completedCountsByBucket(
    fromMs: number,
    toMs: number,
    bucketMs: number,
  ): Promise<Array<{ bucketStart: number; count: number }>> {
    if (!Number.isSafeInteger(bucketMs) || bucketMs <= 0) throw new Error(`Bad bucket length ${bucketMs}`);
    const sql = this.sql.statement(`completedCountsByBucket:${bucketMs}`, () => {
      const completedAt = this.sql.column('completedAt');
      const bucket = `(${completedAt} / ${bucketMs}) * ${bucketMs}`;
      return (
        `SELECT ${bucket} AS "bucket", COUNT(*) AS "count" FROM ${this.sql.tableName} ` +
        `WHERE ${this.sql.column('status')} = ? AND ${completedAt} >= ? AND ${completedAt} < ? GROUP BY ${bucket}`
      );
    });
    const { rows } = await this.sql.run(sql, ['completed', fromMs, toMs]);
    return rows.map((row) => ({ bucketStart: Number(row.bucket), count: Number(row.count) }));
  }

  /**
   * The latest completed cloud jobs (pods and serverless), newest first: the run times the break-even policy
   * measures. Read every few minutes, not per pass.
   */
  async recentCloudRuns(
    limit: number,
  ): Promise<Array<Pick<JobEntity, 'backend' | 'startedAt' | 'completedAt' | 'workloadKind'>>> {
    return this.jobs.find({
      select: { backend: true, startedAt: true, completedAt: true, workloadKind: true },
      where: { status: 'completed', backend: In(['pod', 'serverless']) },
      order: { completedAt: 'DESC' },
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
