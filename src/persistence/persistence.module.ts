import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Client } from 'pg';
import type { AppConfig } from '../config/app-config';
import { TimersModule } from '../common/timers.module';
import { APP_CONFIG } from '../config/config.module';
import { BudgetAdmissionLock } from './budget-admission-lock';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { dataSourceOptions, ENTITIES } from './data-source-options';
import { EnrolmentTokensRepository } from './enrolment-tokens.repository';
import { JobsRepository } from './jobs.repository';
import { LeaderElection } from './leader-election.service';
import { LedgerRepository } from './ledger.repository';
import { LocalWorkersRepository } from './local-workers.repository';
import { ObservabilityRepository } from './observability.repository';
import { PodTransitions } from './pod-transitions';
import { PodsRepository } from './pods.repository';
import { RoutingEstimatesRepository } from './routing-estimates.repository';
import { SettingsRepository } from './settings.repository';

/** PostgreSQL does not create a schema on connect; migrations need it to exist. */
async function ensurePostgresSchema(url: string, schema: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  } finally {
    await client.end();
  }
}

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      name: CLOUD_WORKERS_DATA_SOURCE,
      inject: [APP_CONFIG],
      useFactory: async (config: AppConfig) => {
        if (config.databaseUrl && config.databaseSchema) {
          await ensurePostgresSchema(config.databaseUrl, config.databaseSchema);
        }
        // PostgreSQL may still be starting; a SQLite file that is in use will not free itself by waiting.
        return { ...dataSourceOptions(config), retryAttempts: config.databaseUrl ? 3 : 0, retryDelay: 1000 };
      },
    }),
    TypeOrmModule.forFeature(ENTITIES, CLOUD_WORKERS_DATA_SOURCE),
    TimersModule,
  ],
  providers: [
    PodsRepository,
    PodTransitions,
    LedgerRepository,
    SettingsRepository,
    RoutingEstimatesRepository,
    JobsRepository,
    LocalWorkersRepository,
    EnrolmentTokensRepository,
    ObservabilityRepository,
    LeaderElection,
    BudgetAdmissionLock,
  ],
  exports: [
    PodsRepository,
    PodTransitions,
    LedgerRepository,
    SettingsRepository,
    RoutingEstimatesRepository,
    JobsRepository,
    LocalWorkersRepository,
    EnrolmentTokensRepository,
    ObservabilityRepository,
    LeaderElection,
    BudgetAdmissionLock,
  ],
})
export class PersistenceModule {}
