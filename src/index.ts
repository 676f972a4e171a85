/**
 * The package's public entry (`dist/index.js`): what another Nest app needs to run ComfyUI workflows on the
 * fleet. Import `CloudWorkersModule.forRoot()` (or `forRootAsync`) once and inject `WorkerRouter`.
 * The HTTP service (`main.ts`) is one host of this core; nothing of its HTTP layer is exported here.
 */
export {
  CloudWorkersModule,
  type CloudWorkersAsyncOptions,
  type CloudWorkersOptions,
} from './cloud-workers.module';

export { JobNotCompletedError, WorkerRouter } from './routing/worker-router.service';
export type { JobSpec } from './jobs/jobs.service';
export type { JobDto, JobErrorDto, JobOutputDto, JobProgressDto } from './jobs/dto/job.dto';
export type {
  JobBackend,
  JobError,
  JobProgress,
  JobStatus,
  RequestedBackend,
} from './persistence/entities/job.entity';

export {
  JobEvents,
  type JobCompletedEvent,
  type JobFailedEvent,
  type JobProgressEvent,
  type JobQueuedEvent,
  type JobStartedEvent,
  type JobStatusEvent,
} from './jobs/job.events';
export {
  CloudEvents,
  type BudgetExceededEvent,
  type CostUpdatedEvent,
  type PodFailedEvent,
  type PodReadyEvent,
  type PodSpawnedEvent,
  type PodTerminatedEvent,
} from './cloud/cloud.events';

export { Clock, FakeClock, SystemClock } from './common/clock';
export { CLOUD_WORKERS_DATA_SOURCE } from './persistence/data-source-name';
export { loadConfig, type AppConfig } from './config/app-config';
export { ConfigError, type Env } from './config/env-parsers';
