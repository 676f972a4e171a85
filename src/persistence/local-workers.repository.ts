import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { Repository } from 'typeorm';
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

  /** The registration a re-installed machine replaces: the one with its machine id, else the one at its URL. */
  async findForMachine(machineId: string, url: string): Promise<LocalWorkerEntity | null> {
    return (await this.workers.findOneBy({ machineId })) ?? (await this.workers.findOneBy({ url }));
  }

  /** Replaces a registration in place (same id): URL, name, slots, machine, key and report. */
  async replace(worker: LocalWorkerEntity): Promise<void> {
    const { id, ...fields } = worker;
    await this.workers.update({ id }, fields);
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
