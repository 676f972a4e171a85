import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DataSourceOptions } from 'typeorm';
import { type AppConfig } from '../config/app-config';
import { LedgerEntryEntity } from './entities/ledger-entry.entity';
import { PodEntity } from './entities/pod.entity';
import { SettingEntity } from './entities/setting.entity';
import { PodTerminateRequested1764210000000 } from './migrations/1764210000000-pod-terminate-requested';
import { InitialSchema1764180000000 } from './migrations/1764180000000-initial-schema';
import { JobsAndLocalWorkers1764190000000 } from './migrations/1764190000000-jobs-and-local-workers';
import { PodDrain1764200000000 } from './migrations/1764200000000-pod-drain';
import { JobsDispatchOrderIndex1764220000000 } from './migrations/1764220000000-jobs-dispatch-order-index';
import { JobsListIndexes1764230000000 } from './migrations/1764230000000-jobs-list-indexes';
import { JobWebhookUrl1764240000000 } from './migrations/1764240000000-job-webhook-url';
import { JobEntity } from './entities/job.entity';
import { LocalWorkerEntity } from './entities/local-worker.entity';
import { LocalWorkerStateEntity } from './entities/local-worker-state.entity';
import { LocalWorkerStates1764250000000 } from './migrations/1764250000000-local-worker-states';
import { EnrolmentTokenEntity } from './entities/enrolment-token.entity';
import { Enrolment1764260000000 } from './migrations/1764260000000-enrolment';
import { RoutingEstimatesEntity } from './entities/routing-estimates.entity';
import { RoutingEstimates1764270000000 } from './migrations/1764270000000-routing-estimates';
import { JobDeadlines1764280000000 } from './migrations/1764280000000-job-deadlines';
import { JobWorkloadKind1764290000000 } from './migrations/1764290000000-job-workload-kind';
import { JobsListIndexesNotNull1764300000000 } from './migrations/1764300000000-jobs-list-indexes-not-null';
import { PodIdleTimeout1764310000000 } from './migrations/1764310000000-pod-idle-timeout';

export const ENTITIES = [
  PodEntity,
  LedgerEntryEntity,
  SettingEntity,
  JobEntity,
  LocalWorkerEntity,
  LocalWorkerStateEntity,
  EnrolmentTokenEntity,
  RoutingEstimatesEntity,
];
export const MIGRATIONS = [
  InitialSchema1764180000000,
  JobsAndLocalWorkers1764190000000,
  PodDrain1764200000000,
  PodTerminateRequested1764210000000,
  JobsDispatchOrderIndex1764220000000,
  JobsListIndexes1764230000000,
  JobWebhookUrl1764240000000,
  LocalWorkerStates1764250000000,
  Enrolment1764260000000,
  RoutingEstimates1764270000000,
  JobDeadlines1764280000000,
  JobWorkloadKind1764290000000,
  JobsListIndexesNotNull1764300000000,
  PodIdleTimeout1764310000000,
];

interface SqliteHandle {
  pragma(source: string): unknown;
  exec(source: string): unknown;
}

/** A second service instance on the same SQLite file: refused, because only one may run the loops. */
export class SqliteInUseError extends Error {
  constructor(file: string) {
    super(
      `Another instance is using ${file}. SQLite mode runs one instance per DATA_DIR; ` +
        'for several instances set DATABASE_URL to a PostgreSQL database.',
    );
    this.name = 'SqliteInUseError';
  }
}

/**
 * Takes the file for this process alone: exclusive locking mode holds the lock from the first write until the
 * connection closes, and the operating system drops it if the process dies (no stale lock after a crash).
 * WAL in exclusive mode needs no shared-memory file.
 */
export function claimSqliteFile(db: SqliteHandle, file: string): void {
  db.pragma('locking_mode = EXCLUSIVE');
  db.pragma('busy_timeout = 1000');
  try {
    db.pragma('journal_mode = WAL');
    db.exec('BEGIN IMMEDIATE; COMMIT;');
  } catch (error) {
    if (
      /SQLITE_BUSY|database is locked/i.test(
        String((error as { code?: string }).code ?? '') + (error as Error).message,
      )
    ) {
      throw new SqliteInUseError(file);
    }
    throw error;
  }
  db.pragma('busy_timeout = 5000');
  // WAL + NORMAL: a commit survives the process being killed (only a power loss can drop the last ones) and
  // skips an fsync per write, which otherwise dominates the submit path.
  db.pragma('synchronous = NORMAL');
}

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
    prepareDatabase: (db: SqliteHandle) => claimSqliteFile(db, sqliteFile(config)),
  };
}
