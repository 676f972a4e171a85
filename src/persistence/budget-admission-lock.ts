import { Inject, Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AsyncMutex } from '../common/async-mutex';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

function int32(text: string): number {
  return createHash('sha256').update(text).digest().readInt32BE(0);
}

/**
 * Serialises budget admissions (read today's spend and what is in flight, decide, record the new
 * commitment) across concurrent requests and across instances, so a burst cannot start more cloud work
 * than the headroom allows.
 *
 * In process: a mutex, taken first, so an instance holds at most one database connection waiting for the
 * lock (50 requests each holding a pooled connection while waiting would starve the holder's own queries).
 * PostgreSQL: then a transaction-scoped advisory lock on a connection of its own, keyed by schema (the
 * two-key form, a key space apart from the leader's lock). The holder's reads and writes go through the
 * pool and are committed before it releases; a process that dies ends its transaction and PostgreSQL drops
 * the lock. SQLite runs one instance by design: the mutex is the whole lock.
 */
@Injectable()
export class BudgetAdmissionLock {
  private readonly local = new AsyncMutex();
  private readonly key: [number, number];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @InjectDataSource(CLOUD_WORKERS_DATA_SOURCE) private readonly dataSource: DataSource,
  ) {
    this.key = [
      int32('comfyui-cloud-workers:budget-admission'),
      int32(this.config.databaseSchema ?? 'public'),
    ];
  }

  /** Waits for the lock; resolves with the function that releases it (call it exactly once). */
  async acquire(): Promise<() => Promise<void>> {
    const releaseLocal = await this.local.acquire();
    if (!this.config.databaseUrl) return () => Promise.resolve(releaseLocal());
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
      await runner.query('SELECT pg_advisory_xact_lock($1, $2)', this.key);
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => undefined);
      await runner.release().catch(() => undefined);
      releaseLocal();
      throw error;
    }
    return async () => {
      try {
        // Ending the transaction releases the advisory lock; it holds no writes of its own. If the
        // connection broke, the session (and with it the lock) is gone already.
        await runner.commitTransaction().catch(() => undefined);
      } finally {
        await runner.release().catch(() => undefined);
        releaseLocal();
      }
    };
  }
}
