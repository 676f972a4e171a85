import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

/** `pods.drain_requested_at`: a pod past CLOUD_MAX_POD_LIFETIME takes no new work and ends once idle. */
export class PodDrain1764200000000 implements MigrationInterface {
  name = 'PodDrain1764200000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'pods',
      new TableColumn({ name: 'drain_requested_at', type: 'bigint', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('pods', 'drain_requested_at');
  }
}
