import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateBy,
} from 'class-validator';
import { OptionalNotNull } from '../../common/validation/optional-not-null';
import { ROUTING_PREFERENCES, type RoutingPreference } from '../../config/app-config';

const ROUTING_PREFERENCE_DESCRIPTION =
  'How routing weighs the estimates for jobs without a deadline or maxCostUsd: cost (the cheapest candidate, ' +
  'ties by completion), speed (the earliest completion, ties by cost) or balanced (the fixed order: a free local ' +
  'worker, an idle pod, serverless when preferServerless, else wait for a pod; the default). preferServerless only ' +
  "shapes balanced. A job's own deadline or maxCostUsd always wins. ROUTING_PREFERENCE";

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
    enum: ROUTING_PREFERENCES,
    example: 'balanced',
    description: ROUTING_PREFERENCE_DESCRIPTION,
  })
  routingPreference!: RoutingPreference;

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

/** Longest accepted idle timeout: a week. A pod idle longer than that is a leak, not a setting. */
export const MAX_IDLE_TIMEOUT_MS = 7 * 24 * 60 * 60 * 1000;
export const MAX_DAILY_BUDGET_USD = 1_000_000;

/**
 * A field that may be left out (keep the current value) but not sent as null: null used to pass
 * `@IsOptional()` and then removed the budget or blocked every spawn.
 */
function Settable(): PropertyDecorator {
  return OptionalNotNull('leave it out to keep the current value');
}

/**
 * A USD amount: a finite number with at most 4 decimal places. class-validator's own `maxDecimalPlaces`
 * threw a TypeError (a 500) on numbers JavaScript writes in exponent form, such as 1e-7.
 */
function IsUsdAmount(): PropertyDecorator {
  return ValidateBy({
    name: 'isUsdAmount',
    validator: {
      validate: (value: unknown) =>
        typeof value === 'number' && Number.isFinite(value) && Number(value.toFixed(4)) === value,
      defaultMessage: (args) => `${args?.property} must be a number of USD with at most 4 decimal places`,
    },
  });
}

/** Partial update; every field optional (not null), each validated. Saved, and used from the next tick on. */
export class UpdateCloudConfigDto {
  @ApiPropertyOptional({ example: 3, minimum: 0, maximum: 1000 })
  @Settable()
  @IsInt()
  @Min(0)
  @Max(1000)
  maxPods?: number;

  @ApiPropertyOptional({
    example: 180000,
    minimum: 1000,
    maximum: MAX_IDLE_TIMEOUT_MS,
    description: 'milliseconds',
  })
  @Settable()
  @IsInt()
  @Min(1000)
  @Max(MAX_IDLE_TIMEOUT_MS)
  idleTimeout?: number;

  @ApiPropertyOptional({ example: 5, minimum: 1, maximum: 10000 })
  @Settable()
  @IsInt()
  @Min(1)
  @Max(10000)
  autoScaleThreshold?: number;

  @ApiPropertyOptional({ example: false })
  @Settable()
  @IsBoolean()
  preferServerless?: boolean;

  @ApiPropertyOptional({
    enum: ROUTING_PREFERENCES,
    example: 'speed',
    description: ROUTING_PREFERENCE_DESCRIPTION,
  })
  @Settable()
  @IsIn(ROUTING_PREFERENCES)
  routingPreference?: RoutingPreference;

  @ApiPropertyOptional({
    example: 'NVIDIA RTX 4090',
    description: 'Exact id or display name ("RTX 4090", "NVIDIA RTX 4090")',
    minLength: 2,
    maxLength: 100,
  })
  @Settable()
  @IsString()
  @MinLength(2)
  @MaxLength(100)
  gpuType?: string;

  @ApiPropertyOptional({
    example: 25,
    minimum: 0,
    maximum: MAX_DAILY_BUDGET_USD,
    description: 'USD per UTC day, at most 4 decimal places; 0 = no limit',
  })
  @Settable()
  @IsUsdAmount()
  @Min(0)
  @Max(MAX_DAILY_BUDGET_USD)
  dailyBudgetUsd?: number;
}
