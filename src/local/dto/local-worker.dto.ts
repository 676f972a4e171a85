import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsOptional, IsString, IsUrl, Max, MaxLength, Min, MinLength } from 'class-validator';

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
