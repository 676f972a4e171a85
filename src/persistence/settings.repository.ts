import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { Repository } from 'typeorm';
import { SettingEntity } from './entities/setting.entity';

/** Key/value runtime settings, stored as JSON. */
@Injectable()
export class SettingsRepository {
  constructor(
    @InjectRepository(SettingEntity, CLOUD_WORKERS_DATA_SOURCE)
    private readonly settings: Repository<SettingEntity>,
  ) {}

  async getAll(): Promise<Record<string, unknown>> {
    const rows = await this.settings.find();
    return Object.fromEntries(rows.map((row) => [row.key, JSON.parse(row.value) as unknown]));
  }

  async setMany(values: Record<string, unknown>): Promise<void> {
    const rows = Object.entries(values).map(([key, value]) => ({ key, value: JSON.stringify(value) }));
    if (rows.length > 0) await this.settings.upsert(rows, { conflictPaths: ['key'] });
  }
}
