import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { RoutingEstimatesEntity } from './entities/routing-estimates.entity';

/** The routing estimates' documents (JSON). Read at boot, written a few times a minute at most. */
@Injectable()
export class RoutingEstimatesRepository {
  constructor(
    @InjectRepository(RoutingEstimatesEntity, CLOUD_WORKERS_DATA_SOURCE)
    private readonly documents: Repository<RoutingEstimatesEntity>,
  ) {}

  /** The document, parsed; null when there is none or it is not JSON. */
  async load(name: string): Promise<unknown> {
    const row = await this.documents.findOneBy({ name });
    if (!row) return null;
    try {
      return JSON.parse(row.state) as unknown;
    } catch {
      return null;
    }
  }

  async save(name: string, state: unknown, updatedAt: number): Promise<void> {
    await this.documents.upsert({ name, state: JSON.stringify(state), updatedAt }, { conflictPaths: ['name'] });
  }
}
