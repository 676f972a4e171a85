import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DataSourceOptions } from 'typeorm';
import { type AppConfig } from '../config/app-config';
import { LedgerEntryEntity } from './entities/ledger-entry.entity';
import { PodEntity } from './entities/pod.entity';
import { SettingEntity } from './entities/setting.entity';
import { InitialSchema1764180000000 } from './migrations/1764180000000-initial-schema';
import { JobsAndLocalWorkers1764190000000 } from './migrations/1764190000000-jobs-and-local-workers';
import { PodDrain1764200000000 } from './migrations/1764200000000-pod-drain';
import { JobEntity } from './entities/job.entity';
import { LocalWorkerEntity } from './entities/local-worker.entity';

export const ENTITIES = [PodEntity, LedgerEntryEntity, SettingEntity, JobEntity, LocalWorkerEntity];
export const MIGRATIONS = [
  InitialSchema1764180000000,
  JobsAndLocalWorkers1764190000000,
  PodDrain1764200000000,
];

export function sqliteFile(config: AppConfig): string {
  return join(resolve(config.dataDir), 'cloud-workers.sqlite');
}

/** SQLite under DATA_DIR by default; PostgreSQL when DATABASE_URL is set. Migrations, never synchronize. */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  const common = {
    entities: ENTITIES,
    migrations: MIGRATIONS,
    migrationsRun: true,
    synchronize: false,
  } as const;
  if (config.databaseUrl) {
    return {
      ...common,
      type: 'postgres',
      url: config.databaseUrl,
      schema: config.databaseSchema,
      extra: { max: 10 },
    };
  }
  mkdirSync(resolve(config.dataDir), { recursive: true });
  return {
    ...common,
    type: 'better-sqlite3',
    database: sqliteFile(config),
    // WAL lets the API read while a tick writes; busy_timeout rides out short write locks.
    prepareDatabase: (db: { pragma(source: string): unknown }) => {
      db.pragma('journal_mode = WAL');
      db.pragma('busy_timeout = 5000');
    },
  };
}
