import { ApiProperty } from '@nestjs/swagger';
import { JOB_BACKENDS } from '../../persistence/entities/job.entity';

export class BestOptionDto {
  @ApiProperty({ enum: JOB_BACKENDS, example: 'serverless' })
  backend!: string;

  @ApiProperty({
    enum: ['local', 'ready-pod', 'booting-pod', 'new-pod', 'serverless'],
    example: 'serverless',
  })
  kind!: string;

  @ApiProperty({
    example: 'serverless:abc123xyz',
    description: 'Local worker id, pod:<gpuType> or serverless:<endpointId>',
  })
  workerClass!: string;

  @ApiProperty({ example: '2026-11-29T12:01:10.000Z', description: 'When it would complete' })
  completeAt!: string;

  @ApiProperty({ example: 0.0123, description: 'What it would cost, USD' })
  costUsd!: number;
}

/** 422 of POST /api/jobs: no backend can meet the job's deadline or maxCostUsd. */
export class InfeasibleJobErrorDto {
  @ApiProperty({ example: 422 })
  statusCode!: number;

  @ApiProperty({ example: 'Unprocessable Entity' })
  error!: string;

  @ApiProperty({
    example:
      'No backend can complete by 2026-11-29T12:00:30.000Z; the best option is serverless completing at ' +
      '2026-11-29T12:01:10.000Z for $0.0123',
  })
  message!: string;

  @ApiProperty({
    type: BestOptionDto,
    nullable: true,
    description:
      'The fastest candidate (its completion time and cost); null when no backend can take the job now',
  })
  bestOption!: BestOptionDto | null;
}
