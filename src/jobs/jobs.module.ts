import { Module } from '@nestjs/common';
import { JobEventStream } from './job-event-stream';
import { JobRerunService } from './job-rerun.service';
import { JobsService } from './jobs.service';
import { JobRequirements } from './job-requirements';
import { OutputLinksService } from './output-links.service';
import { OutputStore } from './output-store';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { LocalModule } from '../local/local.module';
import { RoutingEstimatesModule } from '../routing-estimates/routing-estimates.module';

@Module({
  // WebhookUrlRules: a job's own webhookUrl is checked at submit; LocalWorkersService: what local workers can run;
  // RoutingEstimatesService: each job's estimate at submit, and quotes.
  imports: [WebhooksModule, LocalModule, RoutingEstimatesModule],
  providers: [JobsService, JobRequirements, OutputStore, JobEventStream, JobRerunService, OutputLinksService],
  exports: [JobsService, JobRequirements, OutputStore, JobEventStream, JobRerunService, OutputLinksService],
})
export class JobsModule {}
