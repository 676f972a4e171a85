import type { MigrationInterface, QueryRunner } from 'typeorm';
import { qualifiedTable } from './qualified-table';

/**
 * Issue 11: `routing_estimates`, the run-time estimator's learned state (one JSON document per name), and
 * `jobs.estimate`, the estimate a job was given at submit (JSON: backend, worker class, start, completion, cost).
 * Raw DDL that reads the same on SQLite and PostgreSQL; `ADD COLUMN` rather than `queryRunner.addColumn`, which
 * rebuilds the table on SQLite and drops the hand-written DESC index `idx_jobs_dispatch_order`.
 */
export class RoutingEstimates1764270000000 implements MigrationInterface {
  name = 'RoutingEstimates1764270000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE ${qualifiedTable(queryRunner, 'routing_estimates')} (` +
        '"name" varchar(64) PRIMARY KEY NOT NULL, ' +
        '"state" text NOT NULL, ' +
        '"updated_at" bigint NOT NULL)',
    );
    await queryRunner.query(`ALTER TABLE ${qualifiedTable(queryRunner, 'jobs')} ADD COLUMN "estimate" text`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE ${qualifiedTable(queryRunner, 'jobs')} DROP COLUMN "estimate"`);
    await queryRunner.query(`DROP TABLE ${qualifiedTable(queryRunner, 'routing_estimates')}`);
  }
}
