import { Module } from '@nestjs/common';
import { CloudModule } from '../cloud/cloud.module';
import { ComfyUiModule } from '../comfyui/comfyui.module';
import { TimersModule } from '../common/timers.module';
import { JobsModule } from '../jobs/jobs.module';
import { LocalModule } from '../local/local.module';
import { RoutingEstimatesModule } from '../routing-estimates/routing-estimates.module';
import { BackendCapabilities } from './backend-capabilities.service';
import { DeadlineReplanner } from './deadline-replanner.service';
import { DispatchPasses } from './dispatch-pass';
import { Dispatcher } from './dispatcher.service';
import { ComfyExecutor } from './executors/comfy-executor';
import { ServerlessExecutor } from './executors/serverless-executor';
import { JobRecovery } from './job-recovery.service';
import { JobRunner } from './job-runner.service';
import { LocalHolds } from './local-holds.service';
import { PodHolds } from './pod-holds.service';
import { StatsService } from './stats.service';
import { WorkerReleaser } from './worker-releaser';
import { WorkerRouter } from './worker-router.service';

/** Routing: where each job runs. Exports `WorkerRouter` for other Nest modules, `StatsService` for the HTTP layer. */
@Module({
  imports: [JobsModule, LocalModule, CloudModule, ComfyUiModule, TimersModule, RoutingEstimatesModule],
  providers: [
    BackendCapabilities,
    DeadlineReplanner,
    Dispatcher,
    DispatchPasses,
    JobRunner,
    JobRecovery,
    LocalHolds,
    PodHolds,
    ComfyExecutor,
    ServerlessExecutor,
    WorkerReleaser,
    WorkerRouter,
    StatsService,
  ],
  exports: [WorkerRouter, StatsService],
})
export class RoutingModule {}
