import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsInt,
  IsOptional,
  IsString,
  IsUrl,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { OptionalNotNull } from '../../common/validation/optional-not-null';
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

/**
 * The GPU as the installer detected it on the machine (nvidia-smi, rocminfo, sysctl), before ComfyUI ran; null
 * where it is not known (a CPU-only machine has no driver).
 */
export class ReportedGpuDto {
  @ApiPropertyOptional({ type: String, nullable: true, example: 'NVIDIA GeForce RTX 4090', maxLength: 128 })
  @IsOptional()
  @IsString()
  @MaxLength(128)
  name?: string | null;

  @ApiPropertyOptional({ type: Number, nullable: true, example: 25757220864, minimum: 0 })
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  vramBytes?: number | null;

  @ApiPropertyOptional({ type: String, nullable: true, example: '560.35.03', maxLength: 64 })
  @IsOptional()
  @IsString()
  @MaxLength(64)
  driver?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: '12.6',
    maxLength: 32,
    description: 'Highest CUDA version the driver supports',
  })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  cudaVersion?: string | null;

  @ApiPropertyOptional({
    type: String,
    nullable: true,
    example: 'nvidia',
    maxLength: 32,
    description: 'nvidia, amd, apple or cpu',
  })
  @IsOptional()
  @IsString()
  @MaxLength(32)
  kind?: string | null;
}

export class ReportedMachineDto {
  @ApiProperty({ type: ReportedGpuDto, nullable: true })
  gpu!: ReportedGpuDto | null;

  @ApiProperty({ type: [String], example: ['checkpoints/sd_xl_base_1.0.safetensors'] })
  models!: string[];
}

/** What a worker can run, bounded: node classes as a count, at most 100 file names per model folder. */
export class LocalWorkerCapabilitiesDto {
  @ApiProperty({ example: 612, description: 'Node classes its GET /object_info lists' })
  nodeClasses!: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'array', items: { type: 'string' } },
    example: { checkpoints: ['sd_xl_base_1.0.safetensors'], loras: ['detail\\add_detail.safetensors'] },
    description:
      'Model folder (canonical: diffusion_models, not unet) → file names as the worker spells them (first 100)',
  })
  models!: Record<string, string[]>;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    example: { checkpoints: 1, loras: 1 },
    description: 'Model folder → how many files it has (more than `models` shows when over 100)',
  })
  modelCounts!: Record<string, number>;

  @ApiProperty({ example: 1767225600000, description: 'When they were read (ms since the epoch)' })
  fetchedAt!: number;
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

  @ApiProperty({
    type: LocalWorkerCapabilitiesDto,
    nullable: true,
    description:
      'Its node classes and model files (GET /object_info, /models), read on registration, when it turns ' +
      'healthy and every LOCAL_CAPABILITIES_INTERVAL; a failed read keeps the last. Routing sends it only jobs ' +
      'whose models and nodes it has. null until a read succeeded (it may then take any job).',
  })
  capabilities!: LocalWorkerCapabilitiesDto | null;

  @ApiPropertyOptional({
    type: ReportedMachineDto,
    description: 'Registered by the installer: what the machine reported about itself when it registered',
  })
  reported?: ReportedMachineDto;
}

/** The answer to a registration: the worker, and its own key (shown once). */
export class RegisteredLocalWorkerDto extends LocalWorkerDto {
  @ApiProperty({
    example: 'cww_q2R1ZJk1f3m0Vb9n8nN0uQ6xj8mJcXr3v0eQpP5fDkA',
    description:
      "This worker's own key, shown only now (stored hashed): as `Authorization: Bearer <workerKey>` it may " +
      "DELETE /api/local/workers/<this id> and nothing else (the installer's uninstall)",
  })
  workerKey!: string;
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
  @OptionalNotNull()
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
  @OptionalNotNull()
  @IsInt()
  @Min(1)
  @Max(64)
  maxConcurrent?: number;

  @ApiPropertyOptional({
    example: '4c4c4544-0042-3510-8052-b4c04f4d3732',
    maxLength: 128,
    description:
      'A stable id of the machine (the installer sends /etc/machine-id, IOPlatformUUID or MachineGuid): a ' +
      'registration of the same machine is replaced (same worker id) instead of duplicated',
  })
  @OptionalNotNull()
  @IsString()
  @Matches(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/, {
    message: 'machineId must be 1-128 letters, digits, ".", "_", ":" or "-"',
  })
  machineId?: string;

  @ApiPropertyOptional({
    example: 'cww_q2R1ZJk1f3m0Vb9n8nN0uQ6xj8mJcXr3v0eQpP5fDkA',
    maxLength: 128,
    writeOnly: true,
    description:
      "With an enrolment token: the worker key this machine's earlier install received (the installer keeps it). " +
      'Required to replace the registration of the same machineId; never echoed',
  })
  @OptionalNotNull()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  previousWorkerKey?: string;

  @ApiPropertyOptional({ type: ReportedGpuDto, description: 'The GPU as the installer detected it' })
  @OptionalNotNull()
  @ValidateNested()
  @Type(() => ReportedGpuDto)
  gpu?: ReportedGpuDto;

  @ApiPropertyOptional({
    type: [String],
    maxItems: 1000,
    example: ['checkpoints/sd_xl_base_1.0.safetensors'],
    description: 'Model files installed on the machine (folder/filename)',
  })
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(1000)
  @IsString({ each: true })
  @MaxLength(256, { each: true })
  models?: string[];
}

export class UpdateLocalWorkerDto {
  @ApiPropertyOptional({ example: false, description: 'false: take no new jobs (running ones finish)' })
  @OptionalNotNull('leave it out to keep the current value')
  @IsBoolean()
  enabled?: boolean;

  @ApiPropertyOptional({
    example: true,
    description:
      'true: take no new jobs and leave once idle (removed if registered here; disabled if from ' +
      'LOCAL_COMFYUI_URLS). false: stop draining',
  })
  @OptionalNotNull('leave it out to keep the current value')
  @IsBoolean()
  draining?: boolean;
}
