import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { FindOptionsWhere, In, IsNull, Repository } from 'typeorm';
import { EntitySql } from './entity-sql';
import { LIVE_POD_STATES, PodEntity, PodState } from './entities/pod.entity';

/** The only code that queries the pods table. */
@Injectable()
export class PodsRepository {
  private readonly sql: EntitySql<PodEntity>;

  constructor(
    @InjectRepository(PodEntity, CLOUD_WORKERS_DATA_SOURCE) private readonly pods: Repository<PodEntity>,
  ) {
    this.sql = new EntitySql(pods);
  }

  async insert(pod: PodEntity): Promise<void> {
    await this.pods.insert(pod);
  }

  async update(name: string, patch: Partial<PodEntity>): Promise<void> {
    await this.pods.update({ name }, patch);
  }

  /**
   * Compare-and-set: applies `patch` only while the pod is in one of `from`. Returns whether it applied.
   * This is how a reaper and a router racing for the same idle pod never both win.
   */
  async transition(
    name: string,
    from: readonly PodState[],
    patch: Partial<PodEntity>,
    alsoRequire: FindOptionsWhere<PodEntity> = {},
  ): Promise<boolean> {
    const result = await this.pods.update({ ...alsoRequire, name, state: In([...from]) }, patch);
    return (result.affected ?? 0) > 0;
  }

  /** `transition` that also requires the pod not to be draining (past CLOUD_MAX_POD_LIFETIME). */
  async transitionUndrained(
    name: string,
    from: readonly PodState[],
    patch: Partial<PodEntity>,
  ): Promise<boolean> {
    return this.transition(name, from, patch, { drainRequestedAt: IsNull() });
  }

  async findByName(name: string): Promise<PodEntity | null> {
    return this.pods.findOneBy({ name });
  }

  /** Looks a pod up by RunPod id or by our name. */
  async findByIdOrName(idOrName: string): Promise<PodEntity | null> {
    return (
      (await this.pods.findOneBy({ runpodId: idOrName })) ?? (await this.pods.findOneBy({ name: idOrName }))
    );
  }

  async findByNames(names: readonly string[]): Promise<PodEntity[]> {
    return names.length === 0 ? [] : this.pods.findBy({ name: In([...names]) });
  }

  async findLive(): Promise<PodEntity[]> {
    return this.pods.find({ where: { state: In([...LIVE_POD_STATES]) }, order: { requestedAt: 'ASC' } });
  }

  async findInStates(states: readonly PodState[]): Promise<PodEntity[]> {
    return this.pods.find({ where: { state: In([...states]) }, order: { requestedAt: 'ASC' } });
  }

  /**
   * How many pods are in `state`, without loading them. Hand-written SQL (EntitySql): the dispatcher asks on
   * every pass, and a TypeORM find cost about 40 µs of each submission behind a queue waiting for pods.
   */
  async countInState(state: PodState): Promise<number> {
    const sql = this.sql.statement(
      'countInState',
      () => `SELECT COUNT(*) AS "count" FROM ${this.sql.tableName} WHERE ${this.sql.column('state')} = ?`,
    );
    const { rows } = await this.sql.run(sql, [state]);
    return Number(rows[0]?.count ?? 0);
  }

  async findRecent(limit: number): Promise<PodEntity[]> {
    return this.pods.find({ order: { requestedAt: 'DESC' }, take: limit });
  }

  async totalJobsProcessed(): Promise<number> {
    const row = await this.pods
      .createQueryBuilder('pod')
      .select('COALESCE(SUM(pod.jobs_processed), 0)', 'total')
      .getRawOne<{ total: string | number }>();
    return Number(row?.total ?? 0);
  }
}
