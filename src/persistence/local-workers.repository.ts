import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { Repository } from 'typeorm';
import { LocalWorkerEntity } from './entities/local-worker.entity';

/** The only code that queries the local_workers table. */
@Injectable()
export class LocalWorkersRepository {
  constructor(
    @InjectRepository(LocalWorkerEntity, CLOUD_WORKERS_DATA_SOURCE)
    private readonly workers: Repository<LocalWorkerEntity>,
  ) {}

  async findAll(): Promise<LocalWorkerEntity[]> {
    return this.workers.find({ order: { createdAt: 'ASC' } });
  }

  async insert(worker: LocalWorkerEntity): Promise<void> {
    await this.workers.insert(worker);
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.workers.delete({ id });
    return (result.affected ?? 0) > 0;
  }
}
