import type { MigrationInterface, QueryRunner } from 'typeorm';
import { qualifiedTable } from './qualified-table';

/**
 * Issue 11 §3: a job's own constraints (`deadline`, epoch ms; `max_cost_usd`) and the backend its plan chose
 * (`planned_backend`: local, pod or serverless; null when the fixed order decides). Raw `ADD COLUMN`, as in
 * 1764270000000: `queryRunner.addColumn` rebuilds the table on SQLite and drops `idx_jobs_dispatch_order`.
 */
export class JobDeadlines1764280000000 implements MigrationInterface {
  name = 'JobDeadlines1764280000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const jobs = qualifiedTable(queryRunner, 'jobs');
    await queryRunner.query(`ALTER TABLE ${jobs} ADD COLUMN "deadline" bigint`);
    await queryRunner.query(`ALTER TABLE ${jobs} ADD COLUMN "max_cost_usd" double precision`);
    await queryRunner.query(`ALTER TABLE ${jobs} ADD COLUMN "planned_backend" varchar(16)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const jobs = qualifiedTable(queryRunner, 'jobs');
    await queryRunner.query(`ALTER TABLE ${jobs} DROP COLUMN "planned_backend"`);
    await queryRunner.query(`ALTER TABLE ${jobs} DROP COLUMN "max_cost_usd"`);
    await queryRunner.query(`ALTER TABLE ${jobs} DROP COLUMN "deadline"`);
  }
}
