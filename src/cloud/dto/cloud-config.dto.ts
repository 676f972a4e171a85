import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsInt, IsNumber, IsOptional, IsString, Max, Min, MinLength } from 'class-validator';

export class CloudConfigDto {
  @ApiProperty({
    example: 5,
    description: 'Most pods alive at once (autoscaled and manual alike). CLOUD_MAX_PODS',
  })
  maxPods!: number;

  @ApiProperty({
    example: 300000,
    description: 'A ready pod with no job for this many ms is terminated. CLOUD_IDLE_TIMEOUT',
  })
  idleTimeout!: number;

  @ApiProperty({
    example: 5,
    description: 'Jobs waiting for cloud capacity per pod before scaling up. CLOUD_AUTOSCALE_THRESHOLD',
  })
  autoScaleThreshold!: number;

  @ApiProperty({
    example: true,
    description: 'Send one-off jobs to serverless before waiting for pods. CLOUD_PREFER_SERVERLESS',
  })
  preferServerless!: boolean;

  @ApiProperty({
    example: 'NVIDIA GeForce RTX 3090',
    description: 'Exact RunPod GPU type id for new pods. RUNPOD_GPU_TYPE',
  })
  gpuType!: string;

  @ApiProperty({
    example: 10,
    description: 'Hard daily (UTC) cloud spend limit, USD; 0 = none. CLOUD_DAILY_BUDGET_USD',
  })
  dailyBudgetUsd!: number;
}

/** Partial update; every field optional, each validated. Saved, and used from the next tick on. */
export class UpdateCloudConfigDto {
  @ApiPropertyOptional({ example: 3, minimum: 0, maximum: 1000 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(1000)
  maxPods?: number;

  @ApiPropertyOptional({ example: 180000, minimum: 1000, description: 'milliseconds' })
  @IsOptional()
  @IsInt()
  @Min(1000)
  idleTimeout?: number;

  @ApiPropertyOptional({ example: 5, minimum: 1 })
  @IsOptional()
  @IsInt()
  @Min(1)
  autoScaleThreshold?: number;

  @ApiPropertyOptional({ example: false })
  @IsOptional()
  @IsBoolean()
  preferServerless?: boolean;

  @ApiPropertyOptional({
    example: 'NVIDIA RTX 4090',
    description: 'Exact id or display name ("RTX 4090", "NVIDIA RTX 4090")',
  })
  @IsOptional()
  @IsString()
  @MinLength(2)
  gpuType?: string;

  @ApiPropertyOptional({ example: 25, minimum: 0, description: 'USD per UTC day; 0 = no limit' })
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 4 })
  @Min(0)
  @Max(1000000)
  dailyBudgetUsd?: number;
}
