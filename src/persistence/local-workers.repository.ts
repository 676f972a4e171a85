import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { IsNull, Repository } from 'typeorm';
import { LocalWorkerEntity } from './entities/local-worker.entity';
import { LocalWorkerStateEntity } from './entities/local-worker-state.entity';

/** The only code that queries the local_workers and local_worker_states tables. */
@Injectable()
export class LocalWorkersRepository {
  constructor(
    @InjectRepository(LocalWorkerEntity, CLOUD_WORKERS_DATA_SOURCE)
    private readonly workers: Repository<LocalWorkerEntity>,
    @InjectRepository(LocalWorkerStateEntity, CLOUD_WORKERS_DATA_SOURCE)
    private readonly states: Repository<LocalWorkerStateEntity>,
  ) {}

  async findAll(): Promise<LocalWorkerEntity[]> {
    return this.workers.find({ order: { createdAt: 'ASC' } });
  }

  async insert(worker: LocalWorkerEntity): Promise<void> {
    await this.workers.insert(worker);
  }

  async findById(id: string): Promise<LocalWorkerEntity | null> {
    return this.workers.findOneBy({ id });
  }

  async findByMachineId(machineId: string): Promise<LocalWorkerEntity | null> {
    return this.workers.findOneBy({ machineId });
  }

  async findByUrl(url: string): Promise<LocalWorkerEntity | null> {
    return this.workers.findOneBy({ url });
  }

  /**
   * Replaces a registration in place (same id): URL, name, slots, machine, key and report; only while it still
   * holds the key `expectedKeyHash` (the one the caller's decision was based on), so of two re-registrations
   * racing for one row only one wins. False when the row changed or vanished meanwhile.
   */
  async replace(worker: LocalWorkerEntity, expectedKeyHash: string | null): Promise<boolean> {
    const { id, ...fields } = worker;
    const result = await this.workers.update(
      { id, workerKeyHash: expectedKeyHash === null ? IsNull() : expectedKeyHash },
      fields,
    );
    return (result.affected ?? 0) === 1;
  }

  /** Removes the worker and whatever state an operator set on it. */
  async delete(id: string): Promise<boolean> {
    const result = await this.workers.delete({ id });
    await this.states.delete({ workerId: id });
    return (result.affected ?? 0) > 0;
  }

  async findAllStates(): Promise<LocalWorkerStateEntity[]> {
    return this.states.find();
  }

  async saveState(state: LocalWorkerStateEntity): Promise<void> {
    await this.states.upsert(state, ['workerId']);
  }
}
