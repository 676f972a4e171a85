import type { MigrationInterface, QueryRunner } from 'typeorm';
import { qualifiedTable } from './qualified-table';

/**
 * Issue 10: a job's workload kind (`workload_kind`: image or video, from its workflow at submit), the class the
 * break-even policy measures run times by and forecasts queued work with (a 4-minute video is not the mean job).
 * null for jobs submitted before it. Raw `ADD COLUMN`, as in 1764270000000.
 */
export class JobWorkloadKind1764290000000 implements MigrationInterface {
  name = 'JobWorkloadKind1764290000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const jobs = qualifiedTable(queryRunner, 'jobs');
    await queryRunner.query(`ALTER TABLE ${jobs} ADD COLUMN "workload_kind" varchar(8)`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const jobs = qualifiedTable(queryRunner, 'jobs');
    await queryRunner.query(`ALTER TABLE ${jobs} DROP COLUMN "workload_kind"`);
  }
}
