import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

/** `jobs.webhook_url`: the receiver a job's submitter named for that job's completed/failed notification. */
export class JobWebhookUrl1764240000000 implements MigrationInterface {
  name = 'JobWebhookUrl1764240000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'jobs',
      new TableColumn({ name: 'webhook_url', type: 'varchar', length: '2048', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('jobs', 'webhook_url');
  }
}
