import type { MigrationInterface, QueryRunner } from 'typeorm';
import { qualifiedTable } from './qualified-table';

/**
 * Enrolment (issue 12): the one-time tokens an installer registers a machine with, and on `local_workers` what
 * an enrolled machine reports about itself plus the hash of its own key (it may remove its registration).
 * Raw DDL that reads the same on SQLite and PostgreSQL; `ADD COLUMN` rather than `queryRunner.addColumn`, which
 * rebuilds the table on SQLite.
 */
export class Enrolment1764260000000 implements MigrationInterface {
  name = 'Enrolment1764260000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const tokens = qualifiedTable(queryRunner, 'enrolment_tokens');
    const workers = qualifiedTable(queryRunner, 'local_workers');
    await queryRunner.query(
      `CREATE TABLE ${tokens} (` +
        '"id" varchar(32) PRIMARY KEY NOT NULL, ' +
        '"token_hash" varchar(64) NOT NULL, ' +
        '"name" varchar(128), ' +
        '"created_at" bigint NOT NULL, ' +
        '"expires_at" bigint NOT NULL, ' +
        '"used_at" bigint, ' +
        '"worker_id" varchar(64))',
    );
    await queryRunner.query(`CREATE UNIQUE INDEX "idx_enrolment_tokens_hash" ON ${tokens} ("token_hash")`);
    await queryRunner.query(`ALTER TABLE ${workers} ADD COLUMN "machine_id" varchar(128)`);
    await queryRunner.query(`ALTER TABLE ${workers} ADD COLUMN "worker_key_hash" varchar(64)`);
    await queryRunner.query(`ALTER TABLE ${workers} ADD COLUMN "reported" text`);
    // NULLs do not collide in a unique index (both databases): workers registered without a machine id stay many.
    await queryRunner.query(`CREATE UNIQUE INDEX "idx_local_workers_machine" ON ${workers} ("machine_id")`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const workers = qualifiedTable(queryRunner, 'local_workers');
    await queryRunner.query(`DROP INDEX ${qualifiedTable(queryRunner, 'idx_local_workers_machine')}`);
    for (const column of ['reported', 'worker_key_hash', 'machine_id'])
      await queryRunner.query(`ALTER TABLE ${workers} DROP COLUMN "${column}"`);
    await queryRunner.query(`DROP TABLE ${qualifiedTable(queryRunner, 'enrolment_tokens')}`);
  }
}
