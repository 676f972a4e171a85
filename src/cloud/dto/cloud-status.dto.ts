import { ApiProperty } from '@nestjs/swagger';
import { CloudConfigDto } from './cloud-config.dto';
import { PodSummaryDto } from './pod.dto';
import { ScalingPolicyDto } from './scaling-policy.dto';

export class GpuBackoffDto {
  @ApiProperty({ example: 'NVIDIA GeForce RTX 4090', description: 'RunPod GPU type id' })
  gpuType!: string;

  @ApiProperty({
    example: '2026-01-01T12:04:00.000Z',
    description: 'Spawns skip this type until then (it answered "no capacity")',
  })
  until!: string;

  @ApiProperty({
    example: 3,
    description: '"No capacity" answers in a row; the wait doubles each time (1 min, capped at 30 min)',
  })
  failures!: number;
}

export class ServerlessEndpointDto {
  @ApiProperty({ example: 'abc123xyz', description: 'RunPod serverless endpoint id' })
  id!: string;

  @ApiProperty({
    example: 'A100 80GB',
    nullable: true,
    type: String,
    description: 'The label it was configured with',
  })
  label!: string | null;

  @ApiProperty({ example: 0.00076, description: 'USD per billed second of one worker' })
  pricePerSecond!: number;

  @ApiProperty({
    example: 12,
    nullable: true,
    type: Number,
    description: 'Model files it declares (only jobs naming those go there); null: not declared, any job may',
  })
  declaredModels!: number | null;

  @ApiProperty({
    example: true,
    description:
      'The primary endpoint (RUNPOD_SERVERLESS_ENDPOINT_ID): the scaling policy weighs pods against its price',
  })
  primary!: boolean;
}

export class CloudStatusDto {
  @ApiProperty({
    example: true,
    description: 'false without RUNPOD_API_KEY: cloud is off, local work goes on',
  })
  available!: boolean;

  @ApiProperty({
    example: true,
    description: 'Pods can be spawned (RUNPOD_API_KEY and RUNPOD_DOCKER_IMAGE set)',
  })
  podsEnabled!: boolean;

  @ApiProperty({ example: true, description: 'A serverless endpoint is configured' })
  serverlessEnabled!: boolean;

  @ApiProperty({
    type: [ServerlessEndpointDto],
    description:
      'The serverless endpoints, the primary first; a job goes to the cheapest that declares its models',
  })
  serverlessEndpoints!: ServerlessEndpointDto[];

  @ApiProperty({ example: 'rest', enum: ['rest', 'graphql'] })
  podApi!: string;

  @ApiProperty({ example: 2, description: 'Pods requested, starting, ready or busy' })
  activePods!: number;

  @ApiProperty({ example: 1 })
  busyPods!: number;

  @ApiProperty({ example: 0, description: 'Pods requested or booting' })
  startingPods!: number;

  @ApiProperty({ example: 156 })
  totalJobsProcessed!: number;

  @ApiProperty({ example: 2.34, description: 'USD, all time (pods + serverless)' })
  totalCost!: number;

  @ApiProperty({ type: [PodSummaryDto] })
  pods!: PodSummaryDto[];

  @ApiProperty({ type: CloudConfigDto })
  config!: CloudConfigDto;

  @ApiProperty({
    type: [GpuBackoffDto],
    description:
      'GPU types skipped for now after RunPod had no capacity for them (in memory: a restart clears it)',
  })
  gpuBackoff!: GpuBackoffDto[];

  @ApiProperty({
    type: ScalingPolicyDto,
    description:
      'The scaling policy (CLOUD_POLICY), its parameters in force and the reason for each recent decision',
  })
  scalingPolicy!: ScalingPolicyDto;
}

export class BudgetDto {
  @ApiProperty({ example: 10, description: 'CLOUD_DAILY_BUDGET_USD (0 = no limit)' })
  limitUsd!: number;

  @ApiProperty({ example: 2.34, description: 'USD spent today (UTC), pods and serverless' })
  spentTodayUsd!: number;

  @ApiProperty({ type: Number, example: 7.66, nullable: true, description: 'null when there is no limit' })
  remainingUsd!: number | null;
}

export class CloudCostDto {
  @ApiProperty({ example: true })
  available!: boolean;

  @ApiProperty({ example: 2.34, description: 'USD, all time' })
  totalCost!: number;

  @ApiProperty({
    example: { x9k2mq81vd0a3c: 1.2, b7d0e4r2t9y1u3: 0.89, serverless: 0.25 },
    description: 'USD per RunPod pod id, and `serverless`',
    type: 'object',
    additionalProperties: { type: 'number' },
  })
  costByPod!: Record<string, number>;

  @ApiProperty({ example: 2 })
  activePods!: number;

  @ApiProperty({ example: 156 })
  totalJobsProcessed!: number;

  @ApiProperty({ example: 0.015, description: 'totalCost / totalJobsProcessed (0 before the first job)' })
  avgCostPerJob!: number;

  @ApiProperty({ type: BudgetDto })
  budget!: BudgetDto;
}
