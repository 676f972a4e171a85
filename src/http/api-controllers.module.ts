import { Module } from '@nestjs/common';
import { CloudController } from '../cloud/cloud.controller';
import { CloudModule } from '../cloud/cloud.module';
import { CostHistoryController } from '../cloud/cost-history.controller';
import { CostHistoryModule } from '../cloud/cost-history.module';
import { GpuTypesController } from '../cloud/gpu-types.controller';
import { HealthModule } from '../health/health.module';
import { JobControlsController } from '../jobs/job-controls.controller';
import { JobQuoteController } from '../jobs/job-quote.controller';
import { JobsController } from '../jobs/jobs.controller';
import { JobsModule } from '../jobs/jobs.module';
import { EnrolmentController } from '../local/enrolment/enrolment.controller';
import { InstallerFilesController } from '../local/installer/installer-files.controller';
import { LocalWorkersController } from '../local/local-workers.controller';
import { LocalModule } from '../local/local.module';
import { MetricsController } from '../metrics/metrics.controller';
import { StatsController } from '../routing/stats.controller';
import { RoutingModule } from '../routing/routing.module';
import { FleetEventsModule } from '../events/fleet-events.module';
import { EventsController } from './events.controller';
import { FleetEventStreams } from './fleet-event-streams';

/**
 * The service's REST API over the core. Only the HTTP service (AppModule) imports it: a host that embeds
 * CloudWorkersModule gets none of these routes, so it cannot expose our admin endpoints by accident. The
 * feature modules imported here are the same instances CloudWorkersModule holds (static modules are shared).
 */
@Module({
  imports: [
    HealthModule,
    JobsModule,
    CloudModule,
    CostHistoryModule,
    LocalModule,
    RoutingModule,
    FleetEventsModule,
  ],
  controllers: [
    JobsController,
    JobQuoteController,
    JobControlsController,
    CloudController,
    GpuTypesController,
    LocalWorkersController,
    EnrolmentController,
    InstallerFilesController,
    StatsController,
    CostHistoryController,
    EventsController,
    MetricsController,
  ],
  providers: [FleetEventStreams],
})
export class ApiControllersModule {}
