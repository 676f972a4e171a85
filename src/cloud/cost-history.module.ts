import { Module } from '@nestjs/common';
import { CloudModule } from './cloud.module';
import { CostHistoryService } from './cost-history.service';

/** The cost history read model (GET /api/cloud/cost/history), over the ledger, the pods and the jobs tables. */
@Module({
  imports: [CloudModule],
  providers: [CostHistoryService],
  exports: [CostHistoryService],
})
export class CostHistoryModule {}
