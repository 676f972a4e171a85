import type { MigrationInterface, QueryRunner } from 'typeorm';
import { qualifiedTable } from './qualified-table';

/**
 * `jobs.webhook_url`: the receiver a job's submitter named for that job's completed/failed notification.
 * Plain `ALTER TABLE ... ADD COLUMN` (the same SQL on SQLite and PostgreSQL) rather than `queryRunner.addColumn`:
 * on SQLite TypeORM rebuilds the table for that, and the rebuild drops the hand-written DESC index
 * `idx_jobs_dispatch_order`, leaving the dispatcher's queue read to scan and sort the whole table.
 */
export class JobWebhookUrl1764240000000 implements MigrationInterface {
  name = 'JobWebhookUrl1764240000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE ${qualifiedTable(queryRunner, 'jobs')} ADD COLUMN "webhook_url" varchar(2048)`,
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE ${qualifiedTable(queryRunner, 'jobs')} DROP COLUMN "webhook_url"`);
  }
}
