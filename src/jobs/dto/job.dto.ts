import { ApiProperty, ApiPropertyOptional, OmitType, PickType } from '@nestjs/swagger';
import { JOB_BACKENDS, JOB_STATUSES, REQUESTED_BACKENDS } from '../../persistence/entities/job.entity';

export class JobOutputDto {
  @ApiProperty({ example: 'ComfyUI_00001_.png' })
  filename!: string;

  @ApiProperty({ example: 'image/png' })
  contentType!: string;

  @ApiProperty({ example: 104233, description: 'bytes' })
  size!: number;

  @ApiProperty({ example: '/api/jobs/job-7f0c.../outputs/ComfyUI_00001_.png' })
  url!: string;
}

export class JobProgressDto {
  @ApiProperty({ example: 12 })
  value!: number;

  @ApiProperty({ example: 20 })
  max!: number;

  @ApiProperty({ example: 60 })
  percent!: number;

  @ApiPropertyOptional({ type: String, example: '3', nullable: true })
  nodeId?: string | null;
}

export class JobErrorDto {
  @ApiProperty({ example: 'Prompt outputs failed validation: Value not in list: ckpt_name' })
  message!: string;

  @ApiProperty({ enum: ['workflow', 'infrastructure', 'cancelled', 'unroutable'], example: 'workflow' })
  kind!: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true, example: { node_errors: {} } })
  details?: Record<string, unknown>;
}

export class JobDto {
  @ApiProperty({ example: 'job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90' })
  id!: string;

  @ApiProperty({ enum: JOB_STATUSES, example: 'completed' })
  status!: string;

  @ApiProperty({ enum: REQUESTED_BACKENDS, example: 'auto', description: 'What the caller asked for' })
  requestedBackend!: string;

  @ApiPropertyOptional({
    enum: JOB_BACKENDS,
    example: 'local',
    nullable: true,
    description: 'Where it runs or ran',
  })
  backend!: string | null;

  @ApiPropertyOptional({ type: String, example: 'local-3fa9c01b2e', nullable: true })
  workerId!: string | null;

  @ApiProperty({ example: 1 })
  attempts!: number;

  @ApiProperty({ example: 0 })
  priority!: number;

  @ApiPropertyOptional({ type: JobProgressDto, nullable: true })
  progress!: JobProgressDto | null;

  @ApiPropertyOptional({ type: String, example: 'waiting for a pod to become ready', nullable: true })
  waitingReason!: string | null;

  @ApiProperty({ example: '2026-11-26T12:00:00.000Z' })
  createdAt!: string;

  @ApiPropertyOptional({ type: String, example: '2026-11-26T12:00:01.000Z', nullable: true })
  startedAt!: string | null;

  @ApiPropertyOptional({ type: String, example: '2026-11-26T12:00:19.000Z', nullable: true })
  completedAt!: string | null;

  @ApiPropertyOptional({ type: Number, example: 18000, nullable: true })
  durationMs!: number | null;

  @ApiProperty({
    example: 0.0061,
    description: 'USD (serverless billed seconds; local and pod jobs show 0: pods are billed per pod)',
  })
  costUsd!: number;

  @ApiProperty({ type: [JobOutputDto] })
  outputs!: JobOutputDto[];

  @ApiPropertyOptional({ type: JobErrorDto, nullable: true })
  error!: JobErrorDto | null;

  @ApiProperty({ type: 'object', additionalProperties: true, example: {} })
  metadata!: Record<string, unknown>;
}

export class JobErrorSummaryDto extends PickType(JobErrorDto, ['message', 'kind'] as const) {}

/**
 * A job in a list: what a dashboard shows, without the parts that grow with the job (metadata, every
 * output, error details). GET /api/jobs/{id} has the full job.
 */
export class JobSummaryDto extends OmitType(JobDto, ['outputs', 'error', 'metadata'] as const) {
  @ApiProperty({ example: 1, description: 'Files the job produced (GET /api/jobs/{id} lists them)' })
  outputCount!: number;

  @ApiPropertyOptional({ type: JobErrorSummaryDto, nullable: true })
  error!: JobErrorSummaryDto | null;
}

export class JobListDto {
  @ApiProperty({ example: 1 })
  count!: number;

  @ApiProperty({ type: [JobSummaryDto], description: 'Summaries; GET /api/jobs/{id} for the full job' })
  jobs!: JobSummaryDto[];

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'MTc2NDIzMDAwMDEyMzpqb2ItN2YwYzJlOWE',
    description:
      'Opaque; pass it as ?cursor= (with the same filters) for the next, older page; null on the last page',
  })
  nextCursor!: string | null;
}
