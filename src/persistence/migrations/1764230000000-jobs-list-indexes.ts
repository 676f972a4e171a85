import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

/** Ended statuses, where nearly all of 100,000 jobs are; spelled out in SQL (enum values, never input). */
export const ENDED_STATUSES_SQL = `"status" IN ('completed', 'failed', 'cancelled')`;

/**
 * Indexes for the dashboard's reads of the jobs table at studio scale (100,000 jobs):
 * - the list view pages newest first by (created_at, id) with keyset cursors, filtered by status, backend or
 *   both: an index per filter combination ending in (created_at, id), so a page is an index range read
 *   backwards (SQLite and PostgreSQL both scan an ascending index in reverse) with no sort, at any depth.
 *   The two that lead with status are partial, over ended jobs only: a full (status, ...) index also matches
 *   the dispatcher's `WHERE status = ?` queue read, and SQLite's planner (no statistics) took it over
 *   idx_jobs_dispatch_order and sorted the queue. The list names an ended status as a literal so the partial
 *   index applies; queued and running jobs are few and come from idx_jobs_dispatch_order.
 * - the cost history counts completed jobs per hour or day by completion time: (completed_at, status) answers
 *   that from the index alone.
 */
const INDEXES = [
  new TableIndex({ name: 'idx_jobs_list', columnNames: ['created_at', 'id'] }),
  new TableIndex({
    name: 'idx_jobs_list_status',
    columnNames: ['status', 'created_at', 'id'],
    where: ENDED_STATUSES_SQL,
  }),
  new TableIndex({ name: 'idx_jobs_list_backend', columnNames: ['backend', 'created_at', 'id'] }),
  new TableIndex({
    name: 'idx_jobs_list_status_backend',
    columnNames: ['status', 'backend', 'created_at', 'id'],
    where: ENDED_STATUSES_SQL,
  }),
  new TableIndex({ name: 'idx_jobs_completed_status', columnNames: ['completed_at', 'status'] }),
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
