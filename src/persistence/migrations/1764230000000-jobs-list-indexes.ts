import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

/**
 * Indexes for the dashboard's reads of the jobs table at studio scale (100,000 jobs):
 * - the list view pages newest first by (created_at, id) with keyset cursors, filtered by status, backend or
 *   both: one index per filter combination, each ending in (created_at, id), so a page is an index range read
 *   backwards (SQLite and PostgreSQL both scan an ascending index in reverse) with no sort, at any depth;
 * - the cost history counts completed jobs per hour or day by completion time: (status, completed_at) answers
 *   that from the index alone.
 */
const INDEXES = [
  new TableIndex({ name: 'idx_jobs_list', columnNames: ['created_at', 'id'] }),
  new TableIndex({ name: 'idx_jobs_list_status', columnNames: ['status', 'created_at', 'id'] }),
  new TableIndex({ name: 'idx_jobs_list_backend', columnNames: ['backend', 'created_at', 'id'] }),
  new TableIndex({
    name: 'idx_jobs_list_status_backend',
    columnNames: ['status', 'backend', 'created_at', 'id'],
  }),
  new TableIndex({ name: 'idx_jobs_status_completed', columnNames: ['status', 'completed_at'] }),
];

export class JobsListIndexes1764230000000 implements MigrationInterface {
  name = 'JobsListIndexes1764230000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndices('jobs', INDEXES);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const index of [...INDEXES].reverse()) await queryRunner.dropIndex('jobs', index.name!);
  }
}
