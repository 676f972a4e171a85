import { type MigrationInterface, type QueryRunner, TableColumn } from 'typeorm';

/**
 * `pods.terminate_requested_at`: when we first asked RunPod to terminate the pod. If the service dies after
 * RunPod did it but before we recorded it, the retry finds the pod gone and bills up to this instant.
 */
export class PodTerminateRequested1764210000000 implements MigrationInterface {
  name = 'PodTerminateRequested1764210000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumn(
      'pods',
      new TableColumn({ name: 'terminate_requested_at', type: 'bigint', isNullable: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('pods', 'terminate_requested_at');
  }
}
