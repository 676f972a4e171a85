import { type MigrationInterface, type QueryRunner, TableIndex } from 'typeorm';

/**
 * Two of the jobs list's indexes lead with a column a queued job leaves null: `backend` (set when the job starts)
 * and `completed_at` (set when it ends). Their readers never want those rows: the list filtered by backend
 * (`backend = ?`) and the cost history's completed jobs (`completed_at >= ? AND completed_at < ?`), and both
 * planners (SQLite and PostgreSQL) see that such a condition implies `IS NOT NULL`, so the indexes become partial
 * over the rows that have the column. A submit then writes three index entries, not five: the insert is the
 * largest part of the submit path, and each index it touches adds a page to the commit's WAL write (with 8,000
 * jobs queued, the insert took 143 us against 195 us, paired batches of 1,000 submits in one process). A job gets
 * its entries when it starts and ends, as before, but no longer moves them from the null end of each index.
 */
/** Each index, partial over the rows that have its leading column. */
const PARTIAL_INDEXES = [
  { name: 'idx_jobs_list_backend', columnNames: ['backend', 'created_at', 'id'] },
  { name: 'idx_jobs_completed_status', columnNames: ['completed_at', 'status'] },
];

export class JobsListIndexesNotNull1764300000000 implements MigrationInterface {
  name = 'JobsListIndexesNotNull1764300000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    for (const { name, columnNames } of PARTIAL_INDEXES) {
      await queryRunner.dropIndex('jobs', name);
      await queryRunner.createIndex(
        'jobs',
        new TableIndex({ name, columnNames, where: `"${columnNames[0]}" IS NOT NULL` }),
      );
    }
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    for (const { name, columnNames } of PARTIAL_INDEXES) {
      await queryRunner.dropIndex('jobs', name);
      await queryRunner.createIndex('jobs', new TableIndex({ name, columnNames }));
    }
  }
}
