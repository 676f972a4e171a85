import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/** Pods, cost ledger and runtime settings. Written with the Table API so it runs on SQLite and PostgreSQL. */
export class InitialSchema1764180000000 implements MigrationInterface {
  name = 'InitialSchema1764180000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ms = (name: string, nullable = true) => ({ name, type: 'bigint', isNullable: nullable });
    await queryRunner.createTable(
      new Table({
        name: 'pods',
        columns: [
          { name: 'name', type: 'varchar', length: '64', isPrimary: true },
          { name: 'runpod_id', type: 'varchar', length: '64', isNullable: true, isUnique: true },
          { name: 'state', type: 'varchar', length: '16' },
          { name: 'origin', type: 'varchar', length: '16' },
          { name: 'gpu_type_id', type: 'varchar', length: '128' },
          { name: 'cost_per_hour', type: 'double precision', default: 0 },
          { name: 'url', type: 'varchar', length: '512', isNullable: true },
          ms('requested_at', false),
          ms('created_at'),
          ms('ready_at'),
          ms('last_busy_at'),
          ms('busy_since'),
          ms('idle_marked_at'),
          ms('terminated_at'),
          ms('billed_through'),
          { name: 'cost_usd', type: 'double precision', default: 0 },
          { name: 'jobs_processed', type: 'integer', default: 0 },
          { name: 'failure_reason', type: 'text', isNullable: true },
        ],
      }),
    );
    await queryRunner.createIndex('pods', new TableIndex({ name: 'idx_pods_state', columnNames: ['state'] }));

    await queryRunner.createTable(
      new Table({
        name: 'cost_ledger',
        columns: [
          { name: 'key', type: 'varchar', length: '200', isPrimary: true },
          { name: 'kind', type: 'varchar', length: '16' },
          { name: 'source', type: 'varchar', length: '64' },
          { name: 'day', type: 'varchar', length: '10' },
          { name: 'amount_usd', type: 'double precision' },
          ms('updated_at', false),
        ],
      }),
    );
    await queryRunner.createIndex(
      'cost_ledger',
      new TableIndex({ name: 'idx_cost_ledger_day', columnNames: ['day'] }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'settings',
        columns: [
          { name: 'key', type: 'varchar', length: '64', isPrimary: true },
          { name: 'value', type: 'text' },
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('settings');
    await queryRunner.dropTable('cost_ledger');
    await queryRunner.dropTable('pods');
  }
}
