import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type FindOptionsWhere, In, Repository } from 'typeorm';
import { type JobBackend, JobEntity, type JobStatus } from './entities/job.entity';

export interface CountRow {
  key: string;
  count: number;
}

/** The only code that queries the jobs table. */
@Injectable()
export class JobsRepository {
  constructor(@InjectRepository(JobEntity) private readonly jobs: Repository<JobEntity>) {}

  async insert(job: JobEntity): Promise<void> {
    await this.jobs.insert(job);
  }

  async findById(id: string): Promise<JobEntity | null> {
    return this.jobs.findOneBy({ id });
  }

  async update(id: string, patch: Partial<JobEntity>): Promise<void> {
    await this.jobs.update({ id }, patch);
  }

  /** Compare-and-set on status: applies `patch` only while the job is in one of `from`. */
  async transition(
    id: string,
    from: readonly JobStatus[],
    patch: Partial<JobEntity>,
    alsoRequire: FindOptionsWhere<JobEntity> = {},
  ): Promise<boolean> {
    const result = await this.jobs.update({ ...alsoRequire, id, status: In([...from]) }, patch);
    return (result.affected ?? 0) > 0;
  }

  /**
   * Queued jobs in dispatch order: priority (higher first), then oldest first. Only the columns routing
   * needs (no workflow or images): a dispatch pass reads many rows often, and the big ones are read once,
   * when the job starts.
   */
  async findQueuedForRouting(limit: number): Promise<JobEntity[]> {
    return this.jobs.find({
      select: {
        id: true,
        status: true,
        priority: true,
        requestedBackend: true,
        podOnly: true,
        failedWorkers: true,
        waitingReason: true,
        attempts: true,
        startedAt: true,
        costUsd: true,
        cancelRequested: true,
        createdAt: true,
      },
      where: { status: 'queued' },
      order: { priority: 'DESC', createdAt: 'ASC' },
      take: limit,
    });
  }

  /** Running jobs somebody asked to cancel (possibly through another instance). */
  async findCancelRequested(): Promise<JobEntity[]> {
    return this.jobs.find({ select: { id: true }, where: { status: 'running', cancelRequested: true } });
  }

  async findByStatus(status: JobStatus): Promise<JobEntity[]> {
    return this.jobs.find({ where: { status }, order: { createdAt: 'ASC' } });
  }

  /** Newest first. */
  async list(status: JobStatus | undefined, limit: number): Promise<JobEntity[]> {
    return this.jobs.find({ where: status ? { status } : {}, order: { createdAt: 'DESC' }, take: limit });
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
