import type { MigrationInterface, QueryRunner } from 'typeorm';
import { qualifiedTable } from './qualified-table';

/**
 * The dispatcher reads the queue as `ORDER BY priority DESC, created_at ASC LIMIT n`. An index in ascending
 * order on both columns cannot serve that mixed order, so every pass sorted the whole queue (SQLite: "USE TEMP
 * B-TREE FOR LAST TERM OF ORDER BY"; 0.9 ms per pass at 4,000 queued jobs, 40x the indexed read). TypeORM's
 * TableIndex cannot express a descending column, hence the raw DDL; it is the same in SQLite and PostgreSQL.
 */
export class JobsDispatchOrderIndex1764220000000 implements MigrationInterface {
  name = 'JobsDispatchOrderIndex1764220000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('jobs', 'idx_jobs_status_priority');
    await queryRunner.query(
      `CREATE INDEX "idx_jobs_dispatch_order" ON ${qualifiedTable(queryRunner, 'jobs')} ("status", "priority" DESC, "created_at" ASC)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('jobs', 'idx_jobs_dispatch_order');
    await queryRunner.query(
      `CREATE INDEX "idx_jobs_status_priority" ON ${qualifiedTable(queryRunner, 'jobs')} ("status", "priority", "created_at")`,
    );
  }
}
