import { ApiProperty } from '@nestjs/swagger';
import { COST_GRANULARITIES } from '../cost-history.range';

export class CostByBackendDto {
  @ApiProperty({ example: 0, description: 'Local workers cost nothing; always 0, present for completeness' })
  local!: number;

  @ApiProperty({ example: 0.0412, description: 'RunPod serverless, USD' })
  serverless!: number;

  @ApiProperty({ example: 0.68, description: 'Our on-demand pods, USD' })
  pods!: number;
}

export class CostTotalsDto extends CostByBackendDto {
  @ApiProperty({ example: 0.7212, description: 'USD over the whole range' })
  total!: number;
}

export class CostBucketDto {
  @ApiProperty({ example: '2026-11-28T00:00:00.000Z', description: 'Start of the UTC hour or day' })
  start!: string;

  @ApiProperty({ example: 0.7212, description: 'USD spent in the bucket (all backends)' })
  total!: number;

  @ApiProperty({ type: CostByBackendDto })
  byBackend!: CostByBackendDto;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { x9k2mq81vd0a3c: 0.68 },
    description: 'USD per pod (RunPod id) billed in the bucket; pods that cost nothing in it are left out',
  })
  byPod!: Record<string, number>;

  @ApiProperty({ example: 12, description: 'Jobs that completed in the bucket, on any backend' })
  jobsCompleted!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 0.0601,
    description: 'total / jobsCompleted; null when no job completed in the bucket',
  })
  costPerJobUsd!: number | null;
}

export class CostHistoryPodDto {
  @ApiProperty({ example: 'x9k2mq81vd0a3c', description: 'RunPod pod id' })
  podId!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'comfyui-worker-3fa9c01b2e',
    description: 'Our name for it; null if its row is gone',
  })
  name!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'NVIDIA RTX A4000' })
  gpuTypeId!: string | null;

  @ApiProperty({ example: 0.68, description: 'USD billed over the range' })
  total!: number;
}

export class CostHistoryBudgetDto {
  @ApiProperty({
    type: Number,
    nullable: true,
    example: 10,
    description: 'CLOUD_DAILY_BUDGET_USD (or its runtime setting); null when there is no limit',
  })
  dailyBudgetUsd!: number | null;

  @ApiProperty({
    example: 0.7212,
    description: 'Spent today (UTC day), including what live pods accrued since the last ledger write',
  })
  spentTodayUsd!: number;
}

export class CostHistoryDto {
  @ApiProperty({
    example: '2026-11-21T00:00:00.000Z',
    description: 'Start of the first bucket (the requested from, rounded down to the bucket)',
  })
  from!: string;

  @ApiProperty({
    example: '2026-11-29T00:00:00.000Z',
    description: 'End of the last bucket, exclusive (the requested to, rounded up to the bucket)',
  })
  to!: string;

  @ApiProperty({ enum: COST_GRANULARITIES, example: 'day' })
  granularity!: string;

  @ApiProperty({ enum: ['USD'], example: 'USD' })
  currency!: 'USD';

  @ApiProperty({ type: CostTotalsDto })
  totals!: CostTotalsDto;

  @ApiProperty({
    type: [CostBucketDto],
    description: 'Every bucket of the range, oldest first, empty ones too',
  })
  buckets!: CostBucketDto[];

  @ApiProperty({ type: [CostHistoryPodDto], description: 'Pods billed in the range, costliest first' })
  pods!: CostHistoryPodDto[];

  @ApiProperty({ type: CostHistoryBudgetDto })
  budget!: CostHistoryBudgetDto;
}
