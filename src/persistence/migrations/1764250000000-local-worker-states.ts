import { type MigrationInterface, type QueryRunner, Table } from 'typeorm';

/** `local_worker_states`: enabled / draining set by an operator on a local worker (env or registered). */
export class LocalWorkerStates1764250000000 implements MigrationInterface {
  name = 'LocalWorkerStates1764250000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createTable(
      new Table({
        name: 'local_worker_states',
        columns: [
          { name: 'worker_id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'enabled', type: 'boolean', default: true },
          { name: 'draining', type: 'boolean', default: false },
          { name: 'updated_at', type: 'bigint' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('local_worker_states');
  }
}
