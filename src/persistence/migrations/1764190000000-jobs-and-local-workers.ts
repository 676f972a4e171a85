import { type MigrationInterface, type QueryRunner, Table, TableIndex } from 'typeorm';

/** Jobs and run-time registered local workers. Table API, so it runs on SQLite and PostgreSQL. */
export class JobsAndLocalWorkers1764190000000 implements MigrationInterface {
  name = 'JobsAndLocalWorkers1764190000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const ms = (name: string, nullable = true) => ({ name, type: 'bigint', isNullable: nullable });
    await queryRunner.createTable(
      new Table({
        name: 'jobs',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'status', type: 'varchar', length: '16' },
          { name: 'requested_backend', type: 'varchar', length: '16' },
          { name: 'backend', type: 'varchar', length: '16', isNullable: true },
          { name: 'worker_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'priority', type: 'integer', default: 0 },
          { name: 'attempts', type: 'integer', default: 0 },
          { name: 'workflow', type: 'text' },
          { name: 'input_images', type: 'text', default: "'[]'" },
          { name: 'metadata', type: 'text', default: "'{}'" },
          { name: 'progress', type: 'text', isNullable: true },
          { name: 'remote_id', type: 'varchar', length: '128', isNullable: true },
          { name: 'pod_only', type: 'boolean', default: false },
          { name: 'failed_workers', type: 'text', default: "'[]'" },
          { name: 'waiting_reason', type: 'text', isNullable: true },
          { name: 'cancel_requested', type: 'boolean', default: false },
          ms('created_at', false),
          ms('started_at'),
          ms('completed_at'),
          { name: 'cost_usd', type: 'double precision', default: 0 },
          { name: 'outputs', type: 'text', default: "'[]'" },
          { name: 'error', type: 'text', isNullable: true },
        ],
      }),
    );
    await queryRunner.createIndex(
      'jobs',
      new TableIndex({ name: 'idx_jobs_status_priority', columnNames: ['status', 'priority', 'created_at'] }),
    );

    await queryRunner.createTable(
      new Table({
        name: 'local_workers',
        columns: [
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'name', type: 'varchar', length: '128' },
          { name: 'url', type: 'varchar', length: '512', isUnique: true },
          { name: 'max_concurrent', type: 'integer', default: 1 },
          ms('created_at', false),
        ],
      }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('local_workers');
    await queryRunner.dropTable('jobs');
  }
}
