import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsString, MinLength } from 'class-validator';
import { OptionalNotNull } from '../../common/validation/optional-not-null';
import { LocalWorkerCapabilitiesDto } from '../../local/dto/local-worker.dto';
import { POD_STATES, PodState } from '../../persistence/entities/pod.entity';

/** One pod as the seed reports it, plus what an operator needs to find it at RunPod. */
export class PodSummaryDto {
  @ApiProperty({
    example: 'x9k2mq81vd0a3c',
    description: 'RunPod pod id (our name until RunPod assigned one)',
  })
  id!: string;

  @ApiProperty({ example: 'comfyui-worker-3fa9c01b2e' })
  name!: string;

  @ApiProperty({
    example: 'ready',
    description:
      'Seed status: requested, starting, ready, terminating, terminated, failed (busy pods are "ready" with busy=true)',
  })
  status!: string;

  @ApiProperty({ enum: POD_STATES, example: 'busy', description: 'Lifecycle state, busy included' })
  state!: PodState;

  @ApiProperty({ example: true })
  busy!: boolean;

  @ApiProperty({ example: 'NVIDIA GeForce RTX 3090' })
  gpuType!: string;

  @ApiProperty({ example: 89 })
  jobsProcessed!: number;

  @ApiProperty({ example: 0.34, description: 'USD per hour, as RunPod bills it' })
  costPerHour!: number;

  @ApiProperty({ example: 1.2, description: 'USD this pod has cost so far, boot included' })
  costUsd!: number;

  @ApiProperty({ example: 3600000, description: 'ms since RunPod created the pod' })
  uptime!: number;

  @ApiProperty({ example: 0, description: 'ms since the pod last worked (0 while busy or booting)' })
  idleTime!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 231900,
    description:
      'ms of idling after which the reaper terminates this pod, as its latest pass set it (CLOUD_IDLE_TIMEOUT ' +
      "under the seed's rule; under break-even τ*, its rank's longer gap timeout, or the release delay for a pod " +
      'the forecast does not keep); null until a pass has seen it ready or busy',
  })
  idleTimeout!: number | null;

  @ApiPropertyOptional({
    type: String,
    example: 'https://x9k2mq81vd0a3c-8188.proxy.runpod.net',
    nullable: true,
  })
  url!: string | null;

  @ApiPropertyOptional({ type: String, example: null, nullable: true })
  failureReason!: string | null;

  @ApiProperty({
    type: LocalWorkerCapabilitiesDto,
    nullable: true,
    description:
      'Its node classes and model files (GET /object_info, /models through the pod URL), read when it became ' +
      'ready, on the instance that saw it (the leader). null until a read succeeded.',
  })
  capabilities!: LocalWorkerCapabilitiesDto | null;
}

export class PodListDto {
  @ApiProperty({ example: 1 })
  count!: number;

  @ApiProperty({ type: [PodSummaryDto] })
  pods!: PodSummaryDto[];
}

export class SpawnPodDto {
  @ApiPropertyOptional({
    example: 'NVIDIA RTX 4090',
    description:
      'GPU type: exact RunPod id or display name. Default: the configured gpuType; CLOUD_GPU_FALLBACKS follow.',
  })
  @OptionalNotNull()
  @IsString()
  @MinLength(2)
  gpuType?: string;
}

export class SpawnedPodDto {
  @ApiProperty({ example: 'x9k2mq81vd0a3c' })
  id!: string;

  @ApiProperty({ example: 'comfyui-worker-3fa9c01b2e' })
  name!: string;

  @ApiProperty({ example: 'https://x9k2mq81vd0a3c-8188.proxy.runpod.net' })
  url!: string;

  @ApiProperty({ example: 'ready', description: '"ready" when waited for; "starting" with ?wait=false' })
  status!: string;

  @ApiProperty({ example: 0.34 })
  costPerHour!: number;

  @ApiProperty({ example: 'NVIDIA GeForce RTX 3090' })
  gpuType!: string;
}

export class SpawnResultDto {
  @ApiProperty({ example: true })
  success!: boolean;

  @ApiProperty({ type: SpawnedPodDto })
  pod!: SpawnedPodDto;
}

export class TerminateResultDto {
  @ApiProperty({ example: true })
  success!: boolean;

  @ApiProperty({ example: 'x9k2mq81vd0a3c' })
  podId!: string;

  @ApiProperty({ example: 'terminated' })
  status!: string;

  @ApiProperty({ example: 0.0283, description: 'What the pod cost in total, USD' })
  cost!: number;
}

export class ShutdownFailureDto {
  @ApiProperty({ example: 'x9k2mq81vd0a3c' })
  id!: string;

  @ApiProperty({ example: 'RunPod did not answer' })
  error!: string;
}

export class ShutdownResultDto {
  @ApiProperty({
    example: true,
    description: 'false when some pod could not be terminated yet (it is retried every tick)',
  })
  success!: boolean;

  @ApiProperty({ example: ['x9k2mq81vd0a3c'], type: [String] })
  terminated!: string[];

  @ApiProperty({ type: [ShutdownFailureDto] })
  failed!: ShutdownFailureDto[];
}
