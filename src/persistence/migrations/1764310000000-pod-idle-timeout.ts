import type { MigrationInterface, QueryRunner } from 'typeorm';
import { qualifiedTable } from './qualified-table';

/**
 * A pod's own idle timeout (`idle_timeout_ms`), as the leader's reaper sets it. It lived only in the leader's
 * memory, so another instance's budget admission counted an idle pod's commitment at CLOUD_IDLE_TIMEOUT while
 * the leader counted its τ* (measured 178 s against 300 s): two answers for one admission, and under a timeout
 * longer than CLOUD_IDLE_TIMEOUT (a pod worth keeping) too little. null for pods the reaper has not seen yet.
 * Raw `ADD COLUMN`, as in 1764270000000.
 */
export class PodIdleTimeout1764310000000 implements MigrationInterface {
  name = 'PodIdleTimeout1764310000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const pods = qualifiedTable(queryRunner, 'pods');
    await queryRunner.query(`ALTER TABLE ${pods} ADD COLUMN "idle_timeout_ms" integer`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    const pods = qualifiedTable(queryRunner, 'pods');
    await queryRunner.query(`ALTER TABLE ${pods} DROP COLUMN "idle_timeout_ms"`);
  }
}
