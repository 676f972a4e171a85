import { ApiProperty } from '@nestjs/swagger';
import { CLOUD_POLICIES } from '../../config/app-config';

/** The break-even policy's parameters in force (measured on the control loop's latest tick). */
export class BreakEvenParametersDto {
  @ApiProperty({
    example: 0.34,
    description: 'Pod $/h (RunPod catalogue for the GPU type, else our last pod of it)',
  })
  podPricePerHour!: number;

  @ApiProperty({ example: 0.00034, description: 'Serverless $/s (RUNPOD_SERVERLESS_PRICE_PER_SECOND)' })
  serverlessPricePerSecond!: number;

  @ApiProperty({
    example: 5,
    description: 'Serverless seconds billed per job beyond its run (CLOUD_SERVERLESS_OVERHEAD_SECONDS)',
  })
  serverlessOverheadSeconds!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 3,
    description: 'Jobs serverless runs at once (its max workers); null: unknown, not capped',
  })
  serverlessMaxWorkers!: number | null;

  @ApiProperty({
    enum: ['config', 'runpod', 'unknown'],
    example: 'runpod',
    description:
      "Where serverlessMaxWorkers comes from: RUNPOD_SERVERLESS_MAX_WORKERS, the endpoint's workers.max",
  })
  serverlessMaxWorkersSource!: string;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 0.28,
    description:
      'u* = pod $/s ÷ serverless $/s: above this busy fraction a pod is cheaper (null: no serverless price)',
  })
  breakEvenUtilisation!: number | null;

  @ApiProperty({ example: 148.2, description: 'Mean measured pod boot (creation to ready), or the default' })
  bootSeconds!: number;

  @ApiProperty({ example: 12, description: 'Boots measured (0: CLOUD_POLICY_DEFAULT_BOOT_SECONDS is used)' })
  bootSamples!: number;

  @ApiProperty({ example: 31.4, description: 'Mean measured cloud job run time, or the default' })
  meanJobSeconds!: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'number' },
    example: { image: 6.4, video: 251.3 },
    description:
      "Mean measured cloud run time per job kind (image, video; 'job' for jobs of unknown kind): what the forecast " +
      'and the pod holds count a queued job as. A kind not measured yet counts as meanJobSeconds',
  })
  meanJobSecondsByKind!: Record<string, number>;

  @ApiProperty({ example: 200, description: 'Jobs measured (0: CLOUD_POLICY_DEFAULT_JOB_SECONDS is used)' })
  jobSamples!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 3.2,
    description:
      'Mean RunPod delayTime of recent serverless jobs (its queue + cold start); null before the first',
  })
  serverlessStartDelaySeconds!: number | null;

  @ApiProperty({ example: 40 })
  serverlessStartDelaySamples!: number;

  @ApiProperty({
    example: 226.7,
    description:
      'Ski-rental break-even idle timeout τ*: an idle pod is terminated after this (replaces CLOUD_IDLE_TIMEOUT)',
  })
  idleTimeoutSeconds!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 1,
    description:
      'Pods the latest scaling decision keeps up (most recently busy first); an idle pod beyond them goes after ' +
      'idleReleaseSeconds. null before the first decision',
  })
  podsKept!: number | null;

  @ApiProperty({
    type: [Number],
    nullable: true,
    example: [1800, 226.7],
    description:
      'How long each kept pod (most recently busy first) may idle: idleTimeoutSeconds (τ*), or longer when the ' +
      'idle gaps its rank had in a replay of the last 4 arrival windows were cheaper to idle through than a ' +
      "release (a boot to buy it again, the next job's serverless premium meanwhile), and at least " +
      'arrivalWindowSeconds when that replay values the rank above its price. null before the first decision',
  })
  keptIdleTimeoutsSeconds!: number[] | null;

  @ApiProperty({
    example: 226.7,
    description: 'The window after boot over which a new pod must earn its keep',
  })
  horizonSeconds!: number;

  @ApiProperty({
    example: 30,
    description:
      'A job waits for a pod that starts it within max(this, podWaitPerRun × its run) (CLOUD_POD_WAIT_TARGET_SECONDS)',
  })
  podWaitTargetSeconds!: number;

  @ApiProperty({ example: 0.5, description: 'CLOUD_POD_WAIT_PER_RUN' })
  podWaitPerRun!: number;

  @ApiProperty({
    example: 1800,
    description:
      'The spawn forecast replays the cloud arrivals of this window (CLOUD_POLICY_ARRIVAL_WINDOW_SECONDS)',
  })
  arrivalWindowSeconds!: number;

  @ApiProperty({
    example: 0,
    description: 'Idle pods the forecast does not keep go after this (CLOUD_IDLE_RELEASE_SECONDS)',
  })
  idleReleaseSeconds!: number;

  @ApiProperty({ example: 1, description: 'CLOUD_SPAWN_EVIDENCE_Z' })
  spawnEvidenceZ!: number;
}

export class ScalingDecisionDto {
  @ApiProperty({ example: '2026-01-01T12:04:00.000Z' })
  at!: string;

  @ApiProperty({ enum: CLOUD_POLICIES, example: 'breakeven' })
  policy!: string;

  @ApiProperty({
    enum: ['spawn', 'terminate', 'hold'],
    example: 'spawn',
    description: 'hold: nothing spawned',
  })
  action!: string;

  @ApiProperty({ example: 1, description: 'Pods spawned or terminated' })
  pods!: number;

  @ApiProperty({
    example: 'break-even',
    description: 'break-even | pod-only-job | queue-length (seed) | idle-timeout | max-pods | none',
  })
  reason!: string;

  @ApiProperty({
    example: 'forecast 540s of work beyond live pods (queue 6): a new pod would be 0.71 busy > u* 0.24',
  })
  message!: string;
}

export class ScalingPolicyDto {
  @ApiProperty({ enum: CLOUD_POLICIES, example: 'breakeven', description: 'CLOUD_POLICY' })
  name!: string;

  @ApiProperty({
    type: BreakEvenParametersDto,
    nullable: true,
    description:
      'The break-even parameters in force; null under the seed rule or before the first control-loop tick',
  })
  parameters!: BreakEvenParametersDto | null;

  @ApiProperty({
    type: ScalingDecisionDto,
    nullable: true,
    description: "The autoscaler's latest evaluation, also when it spawned nothing (then it says why)",
  })
  lastEvaluation!: ScalingDecisionDto | null;

  @ApiProperty({
    type: [ScalingDecisionDto],
    description:
      'Recent spawns, idle terminations and spawns held back by CLOUD_MAX_PODS, newest first (up to 20)',
  })
  decisions!: ScalingDecisionDto[];
}
