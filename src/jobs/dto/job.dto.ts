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

/** Where the router would run the job when it was submitted, and when and at what cost it would end there. */
export class JobEstimateDto {
  @ApiProperty({ enum: JOB_BACKENDS, example: 'pod' })
  backend!: string;

  @ApiProperty({
    example: 'pod:NVIDIA GeForce RTX 4090',
    description: 'The run-time class: a local worker id, pod:<gpuType> or serverless:<endpointId>',
  })
  workerClass!: string;

  @ApiProperty({ example: '2026-11-26T12:00:01.000Z' })
  startAt!: string;

  @ApiProperty({ example: '2026-11-26T12:00:07.000Z' })
  completeAt!: string;

  @ApiProperty({ example: 6, description: 'Estimated run seconds (median) on that class' })
  runSeconds!: number;

  @ApiProperty({
    example: 0.0021,
    description: 'USD: 0 local, price × seconds serverless, marginal pod cost',
  })
  costUsd!: number;
}

/** What the job really took, once it ended. */
export class JobActualDto {
  @ApiPropertyOptional({ enum: JOB_BACKENDS, example: 'pod', nullable: true })
  backend!: string | null;

  @ApiPropertyOptional({ type: String, example: '2026-11-26T12:00:01.000Z', nullable: true })
  startedAt!: string | null;

  @ApiProperty({ example: '2026-11-26T12:00:08.000Z' })
  completedAt!: string;

  @ApiPropertyOptional({ type: Number, example: 6.8, nullable: true, description: 'Seconds it ran' })
  runSeconds!: number | null;

  @ApiProperty({ example: 0.0023, description: 'USD, as costUsd' })
  costUsd!: number;

  @ApiPropertyOptional({
    type: Boolean,
    example: true,
    nullable: true,
    description: 'Whether it completed by its deadline; null when it had none, or did not complete',
  })
  deadlineMet!: boolean | null;
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
    description:
      "USD: serverless billed seconds; on a pod, an attribution (the pod's hourly price × the job's run seconds; " +
      'the pod itself is billed in the cost ledger, boot and idle time included, and this is not added to it); ' +
      'local 0',
  })
  costUsd!: number;

  @ApiPropertyOptional({
    type: JobEstimateDto,
    nullable: true,
    description:
      'The estimate made at submit (as POST /api/jobs/quote answers for `pick`); null when none was made',
  })
  estimate!: JobEstimateDto | null;

  @ApiPropertyOptional({
    type: JobActualDto,
    nullable: true,
    description: 'Once the job ended: where it ran, its times and cost, to compare with `estimate`',
  })
  actual!: JobActualDto | null;

  @ApiPropertyOptional({
    type: String,
    format: 'date-time',
    example: '2026-11-29T18:00:00.000Z',
    nullable: true,
    description: 'Complete by, as the caller asked; null for none',
  })
  deadline!: string | null;

  @ApiPropertyOptional({
    type: Number,
    example: 0.05,
    nullable: true,
    description: 'At most this cost (USD), as asked',
  })
  maxCostUsd!: number | null;

  @ApiPropertyOptional({
    enum: JOB_BACKENDS,
    example: 'serverless',
    nullable: true,
    description:
      "The backend the job's plan chose (its deadline or maxCostUsd, or ROUTING_PREFERENCE cost/speed; re-planned " +
      'when a queued job with a deadline slips): routing sends it only there. null: the fixed order decides',
  })
  plannedBackend!: string | null;

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
