import { ApiExtraModels, ApiProperty, getSchemaPath } from '@nestjs/swagger';
import { JobErrorDto, JobProgressDto } from '../../jobs/dto/job.dto';
import { JOB_BACKENDS, REQUESTED_BACKENDS } from '../../persistence/entities/job.entity';

/**
 * The fleet events on the wire (GET /api/events `data:` lines and GET /api/events/recent items): `id`, `type`
 * and `at`, then the fields src/events/fleet-event.ts lists for that type. One class per type, so the
 * OpenAPI document states each exact shape and the contract test holds every event to it.
 */
export abstract class FleetEventDto {
  @ApiProperty({
    example: 1767268800000001,
    description: 'Monotonic per instance (the same number as the `id:` line of the stream)',
  })
  id!: number;

  @ApiProperty({ format: 'date-time', example: '2026-12-01T12:00:00.000Z' })
  at!: string;
}

export class JobQueuedEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['jobQueued'] })
  type!: 'jobQueued';

  @ApiProperty({ example: 'job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90' })
  jobId!: string;

  @ApiProperty({ example: 0 })
  priority!: number;

  @ApiProperty({ enum: REQUESTED_BACKENDS, example: 'auto', description: 'the backend the job asked for' })
  backend!: string;
}

export class JobStartedEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['jobStarted'] })
  type!: 'jobStarted';

  @ApiProperty({ example: 'job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90' })
  jobId!: string;

  @ApiProperty({ enum: JOB_BACKENDS, example: 'local' })
  backend!: string;

  @ApiProperty({
    example: 'local-3f2a9c1d0b',
    description: 'local worker id, pod id, or the serverless endpoint',
  })
  workerId!: string;

  @ApiProperty({ example: 1 })
  attempt!: number;
}

export class JobProgressEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['jobProgress'] })
  type!: 'jobProgress';

  @ApiProperty({ example: 'job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90' })
  jobId!: string;

  @ApiProperty({ type: JobProgressDto })
  progress!: JobProgressDto;
}

export class JobCompletedEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['jobCompleted'] })
  type!: 'jobCompleted';

  @ApiProperty({ example: 'job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90' })
  jobId!: string;

  @ApiProperty({ enum: JOB_BACKENDS, example: 'local' })
  backend!: string;

  @ApiProperty({ example: 8412 })
  durationMs!: number;

  @ApiProperty({
    example: 0,
    description: "USD (serverless billed seconds; 0 on local and pods, whose cost is the pod's)",
  })
  cost!: number;
}

export class JobFailedEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['jobFailed'] })
  type!: 'jobFailed';

  @ApiProperty({ example: 'job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90' })
  jobId!: string;

  @ApiProperty({ enum: JOB_BACKENDS, nullable: true, example: 'local' })
  backend!: string | null;

  @ApiProperty({ type: JobErrorDto })
  error!: JobErrorDto;
}

export class JobCancelledEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['jobCancelled'] })
  type!: 'jobCancelled';

  @ApiProperty({ example: 'job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90' })
  jobId!: string;
}

export class JobRequeuedEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['jobRequeued'], description: 'back in the queue, to be retried on another worker' })
  type!: 'jobRequeued';

  @ApiProperty({ example: 'job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90' })
  jobId!: string;

  @ApiProperty({ enum: JOB_BACKENDS, example: 'serverless', description: 'where the failed attempt ran' })
  backend!: string;

  @ApiProperty({
    description: 'why that attempt failed',
    example:
      'serverless: serverless endpoint abc123 kept the job in its queue for 600 s without running any job ' +
      '(workers: 0 running, 0 idle, 0 initializing, 3 throttled, 0 unhealthy); cancelled there',
  })
  reason!: string;
}

export class PodSpawnedEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['podSpawned'] })
  type!: 'podSpawned';

  @ApiProperty({ example: 'x7k2m9p4q1w8e5' })
  podId!: string;

  @ApiProperty({ example: 'comfyui-worker-3f9a1c' })
  name!: string;

  @ApiProperty({ example: 'NVIDIA GeForce RTX 3090' })
  gpuTypeId!: string;

  @ApiProperty({ example: 0.22, description: 'USD per hour' })
  costPerHour!: number;

  @ApiProperty({ enum: ['manual', 'autoscale', 'adopted'], example: 'autoscale' })
  origin!: string;
}

export class PodReadyEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['podReady'] })
  type!: 'podReady';

  @ApiProperty({ example: 'x7k2m9p4q1w8e5' })
  podId!: string;

  @ApiProperty({ example: 'https://x7k2m9p4q1w8e5-8188.proxy.runpod.net' })
  url!: string;

  @ApiProperty({ example: 142000, description: 'from the request to ComfyUI answering' })
  bootMs!: number;
}

export class PodTerminatedEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['podTerminated'] })
  type!: 'podTerminated';

  @ApiProperty({ example: 'x7k2m9p4q1w8e5' })
  podId!: string;

  @ApiProperty({ example: 0.0412, description: 'USD this pod cost in all, boot included' })
  cost!: number;

  @ApiProperty({ example: 'idle for 300 s' })
  reason!: string;
}

export class PodFailedEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['podFailed'] })
  type!: 'podFailed';

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'x7k2m9p4q1w8e5',
    description: 'null if RunPod never created it',
  })
  podId!: string | null;

  @ApiProperty({ example: 'comfyui-worker-3f9a1c' })
  name!: string;

  @ApiProperty({ example: 'not ready within CLOUD_BOOT_TIMEOUT' })
  reason!: string;

  @ApiProperty({ example: 0.0367, description: 'USD' })
  cost!: number;
}

export class OrphanFoundEventDto extends FleetEventDto {
  @ApiProperty({
    enum: ['orphanFound'],
    description: 'a pod under our name prefix at RunPod with no record here',
  })
  type!: 'orphanFound';

  @ApiProperty({ example: 'q9w8e7r6t5y4u3' })
  podId!: string;

  @ApiProperty({ example: 'comfyui-worker-77ab01' })
  name!: string;

  @ApiProperty({ enum: ['terminate', 'adopt'], example: 'terminate', description: 'CLOUD_ORPHAN_POLICY' })
  action!: string;
}

export class BudgetExceededEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['budgetExceeded'], description: 'once per UTC day; cloud work stops' })
  type!: 'budgetExceeded';

  @ApiProperty({ example: 10 })
  limitUsd!: number;

  @ApiProperty({ example: 10.0214 })
  spentTodayUsd!: number;
}

export class CostUpdatedEventDto extends FleetEventDto {
  @ApiProperty({ enum: ['costUpdated'] })
  type!: 'costUpdated';

  @ApiProperty({ example: 12.3456, description: 'USD, all time (the ledger total)' })
  totalCost!: number;
}

export class WorkerChangedEventDto extends FleetEventDto {
  @ApiProperty({
    enum: ['workerChanged'],
    description: 'a local worker; GET /api/local/workers has its state',
  })
  type!: 'workerChanged';

  @ApiProperty({ example: 'local-3f2a9c1d0b' })
  workerId!: string;

  @ApiProperty({ enum: ['added', 'removed', 'health', 'state'], example: 'health' })
  change!: string;
}

/** Every fleet event class by its `type`, in the order the documentation lists them. */
export const FLEET_EVENT_DTOS = {
  jobQueued: JobQueuedEventDto,
  jobStarted: JobStartedEventDto,
  jobProgress: JobProgressEventDto,
  jobCompleted: JobCompletedEventDto,
  jobFailed: JobFailedEventDto,
  jobCancelled: JobCancelledEventDto,
  jobRequeued: JobRequeuedEventDto,
  podSpawned: PodSpawnedEventDto,
  podReady: PodReadyEventDto,
  podTerminated: PodTerminatedEventDto,
  podFailed: PodFailedEventDto,
  orphanFound: OrphanFoundEventDto,
  budgetExceeded: BudgetExceededEventDto,
  costUpdated: CostUpdatedEventDto,
  workerChanged: WorkerChangedEventDto,
} as const;

export class EventStreamHelloDto {
  @ApiProperty({
    example: '5d0c8f5e-2b1a-4c6e-9f3d-7a8b9c0d1e2f',
    description: 'this run of this instance; ids from another one mean nothing here',
  })
  instanceId!: string;

  @ApiProperty({
    example: 1767268800000042,
    description: 'the newest event id so far; the events after it follow on this stream',
  })
  lastEventId!: number;
}

export class EventStreamResetDto extends EventStreamHelloDto {
  @ApiProperty({
    example: 'Last-Event-ID 1767268800000001 is older than the 2000 events this instance keeps',
    description:
      'why the missed events cannot be replayed; re-read the snapshots (jobs, pods, workers, cost)',
  })
  reason!: string;
}

const RECENT_TYPES = Object.values(FLEET_EVENT_DTOS).filter((dto) => dto !== JobProgressEventDto);

@ApiExtraModels(...RECENT_TYPES)
export class RecentFleetEventsDto {
  @ApiProperty({
    description: 'newest first; every type but jobProgress',
    example: [
      {
        id: 1767268800000043,
        type: 'podReady',
        at: '2026-12-01T12:02:22.000Z',
        podId: 'x7k2m9p4q1w8e5',
        url: 'https://x7k2m9p4q1w8e5-8188.proxy.runpod.net',
        bootMs: 142000,
      },
      {
        id: 1767268800000042,
        type: 'jobQueued',
        at: '2026-12-01T12:00:00.000Z',
        jobId: 'job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90',
        priority: 0,
        backend: 'auto',
      },
    ],
    type: 'array',
    items: { oneOf: RECENT_TYPES.map((dto) => ({ $ref: getSchemaPath(dto) })) },
  })
  /** The events' wire data (see FLEET_EVENT_DTOS for each shape). */
  events!: Array<Readonly<Record<string, unknown>>>;
}
