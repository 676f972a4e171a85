import { Injectable } from '@nestjs/common';
import { type HealthIndicatorResult, HealthIndicatorService } from '@nestjs/terminus';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from '../persistence/data-source-name';
import { ShutdownState } from '../common/shutdown-state';

/**
 * A database that takes longer than this to answer `SELECT 1` counts as unreachable: a load balancer should stop
 * sending requests that would hang on it.
 */
export const DATABASE_CHECK_TIMEOUT_MS = 3000;

/** What readiness is made of: the database answers, and this instance is not draining for shutdown. */
@Injectable()
export class ReadinessIndicators {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @InjectDataSource(CLOUD_WORKERS_DATA_SOURCE) private readonly dataSource: DataSource,
    private readonly shutdown: ShutdownState,
  ) {}

  database(): PromiseLike<HealthIndicatorResult<'database'>> {
    return this.indicators
      .check('database')
      .attempt(async () => {
        await this.dataSource.query('SELECT 1');
      })
      .withTimeout(DATABASE_CHECK_TIMEOUT_MS);
  }

  shutdownState(): HealthIndicatorResult<'shutdown'> {
    const session = this.indicators.check('shutdown');
    return this.shutdown.isDraining
      ? session.down({ message: 'draining: this instance takes no new work and is shutting down' })
      : session.up();
  }
}
