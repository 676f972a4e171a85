import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Max,
  MaxLength,
  Min,
  MinLength,
} from 'class-validator';
import { LOCAL_WORKER_STATES, type LocalWorkerState } from '../local-worker-state';

export class LocalWorkerGpuDto {
  @ApiProperty({ type: String, nullable: true, example: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync' })
  name!: string | null;

  @ApiProperty({ type: String, nullable: true, example: 'cuda', description: 'torch device type' })
  type!: string | null;

  @ApiProperty({ type: Number, nullable: true, example: 25393692672 })
  vramTotalBytes!: number | null;

  @ApiProperty({ type: Number, nullable: true, example: 24000000000 })
  vramFreeBytes!: number | null;
}

export class LocalWorkerDto {
  @ApiProperty({ example: 'local-3fa9c01b2e' })
  id!: string;

  @ApiProperty({ example: 'studio-4090' })
  name!: string;

  @ApiProperty({ example: 'http://127.0.0.1:8188' })
  url!: string;

  @ApiProperty({
    enum: ['env', 'api'],
    example: 'api',
    description: 'env = LOCAL_COMFYUI_URLS; api = registered here',
  })
  source!: string;

  @ApiProperty({ example: true, description: 'Answered GET /system_stats on the last health check' })
  healthy!: boolean;

  @ApiProperty({ example: 1, description: 'Jobs running on it now' })
  running!: number;

  @ApiProperty({ example: 1 })
  maxConcurrent!: number;

  @ApiProperty({ example: 42 })
  jobsCompleted!: number;

  @ApiPropertyOptional({ type: String, example: null, nullable: true })
  lastError!: string | null;

  @ApiProperty({
    enum: LOCAL_WORKER_STATES,
    example: 'active',
    description:
      'active: takes jobs; disabled: takes no new jobs (running ones finish); draining: takes no new jobs and ' +
      'leaves once idle (a registered worker is removed; one from LOCAL_COMFYUI_URLS ends disabled)',
  })
  state!: LocalWorkerState;

  @ApiProperty({
    type: LocalWorkerGpuDto,
    nullable: true,
    description: 'Its primary device as GET /system_stats last reported it; null until it has answered once',
  })
  gpu!: LocalWorkerGpuDto | null;
}

export class LocalWorkerListDto {
  @ApiProperty({ type: [LocalWorkerDto] })
  workers!: LocalWorkerDto[];
}

export class RegisterLocalWorkerDto {
  @ApiProperty({ example: 'http://127.0.0.1:8188', description: 'Base URL of a ComfyUI server' })
  @IsUrl({ require_tld: false, require_protocol: true, protocols: ['http', 'https'] })
  url!: string;

  @ApiPropertyOptional({ example: 'studio-4090' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  name?: string;

  @ApiPropertyOptional({
    example: 1,
    minimum: 1,
    maximum: 64,
    description: 'Jobs at once (default LOCAL_WORKER_CONCURRENCY)',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(64)
  maxConcurrent?: number;
}

export class UpdateLocalWorkerDto {
  @ApiPropertyOptional({ example: false, description: 'false: take no new jobs (running ones finish)' })
  @IsOptional()
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    example: true,
    description:
      'true: take no new jobs and leave once idle (removed if registered here; disabled if from ' +
      'LOCAL_COMFYUI_URLS). false: stop draining',
  })
  @IsOptional()
  @IsBoolean()
  draining?: boolean;
}
