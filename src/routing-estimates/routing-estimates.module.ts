import { Module } from '@nestjs/common';
import { CloudModule } from '../cloud/cloud.module';
import { LocalModule } from '../local/local.module';
import { RoutingEstimatesService } from './routing-estimates.service';

/** Run-time estimates learned from completed jobs, quotes and each submitted job's estimate. */
@Module({
  imports: [CloudModule, LocalModule],
  providers: [RoutingEstimatesService],
  exports: [RoutingEstimatesService],
})
export class RoutingEstimatesModule {}
