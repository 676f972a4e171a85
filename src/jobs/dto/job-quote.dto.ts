import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { JOB_BACKENDS } from '../../persistence/entities/job.entity';

export class QuoteCandidateDto {
  @ApiProperty({ enum: JOB_BACKENDS, example: 'pod' })
  backend!: string;

  @ApiProperty({
    enum: ['local', 'ready-pod', 'booting-pod', 'new-pod', 'serverless'],
    example: 'booting-pod',
    description:
      'How it would take the job: a local worker, a ready (idle or busy) pod, a booting pod, a new pod, serverless',
  })
  kind!: string;

  @ApiProperty({
    example: 'pod:NVIDIA GeForce RTX 4090',
    description: 'The run-time class: a local worker id, pod:<gpuType> or serverless:<endpointId>',
  })
  workerClass!: string;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'comfyui-worker-1a2b3c',
    description: 'Local worker id, pod name or endpoint id; null for a pod not created yet',
  })
  workerId!: string | null;

  @ApiProperty({ example: '2026-11-26T12:01:10.000Z', description: 'When it would start' })
  startAt!: string;

  @ApiProperty({
    example: '2026-11-26T12:01:16.000Z',
    description: 'When it would complete (start + median run)',
  })
  completeAt!: string;

  @ApiProperty({ example: 6, description: 'Estimated run seconds (median) on that class' })
  runSeconds!: number;

  @ApiProperty({
    example: 0.0021,
    description:
      "USD: local 0; serverless price per second × (run + billed overhead); a pod's marginal cost (its run, plus " +
      'the idle time it had used of its keep-alive; a new pod: boot + run + keep-alive)',
  })
  costUsd!: number;
}

export class QuotePickDto {
  @ApiPropertyOptional({
    type: QuoteCandidateDto,
    nullable: true,
    description:
      'The candidate the router would use; null when it would reject the job or waits on the budget',
  })
  candidate!: QuoteCandidateDto | null;

  @ApiProperty({ enum: ['local', 'pod', 'serverless', 'wait', 'reject'], example: 'wait' })
  decision!: string;

  @ApiProperty({
    example:
      'the cheapest candidate that can complete by 2026-11-29T12:05:00.000Z: serverless completing at ' +
      '2026-11-29T12:01:10.000Z for $0.0123',
    description:
      "Why: the planner's rule (deadline, maxCostUsd, ROUTING_PREFERENCE cost or speed) and its candidate, or " +
      'the fixed order (ROUTING_PREFERENCE=balanced) and its decision, or (break-even policy) a wait for a busy ' +
      'local worker expected to start it within LOCAL_WAIT_TARGET_SECONDS / LOCAL_WAIT_PER_RUN',
  })
  why!: string;
}

export class JobQuoteDto {
  @ApiProperty({ type: [QuoteCandidateDto], description: 'Every backend the job could use now' })
  candidates!: QuoteCandidateDto[];

  @ApiProperty({ type: QuotePickDto })
  pick!: QuotePickDto;

  @ApiProperty({
    example: 'a3f1c2e4b5d6a7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f70',
    description: "The workflow's signature (structure, models, sizes, steps; not seeds or prompt text)",
  })
  signature!: string;

  @ApiProperty({
    enum: ['observed', 'transferred', 'default'],
    example: 'default',
    description:
      "Where the pick's run time comes from: timings of this workflow on that class, on another class scaled by " +
      'GPU speed, or published defaults scaled by size',
  })
  runTimeSource!: string;
}
