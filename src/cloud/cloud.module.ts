import { Module } from '@nestjs/common';
import { ComfyUiModule } from '../comfyui/comfyui.module';
import { BudgetService } from './budget.service';
import { CloudAdminService } from './cloud-admin.service';
import { CloudControlLoop } from './cloud-control-loop.service';
import { CLOUD_DEMAND, CloudDemandBoard } from './cloud-demand';
import { CloudSettingsService } from './cloud-settings.service';
import { CloudViewService } from './cloud-view.service';
import { CloudController } from './cloud.controller';
import { CostLedgerService } from './cost-ledger.service';
import { PodLifecycleService } from './pod-lifecycle.service';
import { PodSweeper } from './pod-sweeper.service';

@Module({
  imports: [ComfyUiModule],
  controllers: [CloudController],
  providers: [
    CloudSettingsService,
    CostLedgerService,
    BudgetService,
    PodLifecycleService,
    CloudControlLoop,
    PodSweeper,
    CloudViewService,
    CloudAdminService,
    // The dispatcher publishes the queue's demand here; the control loop reads it.
    { provide: CLOUD_DEMAND, useClass: CloudDemandBoard },
  ],
  exports: [
    PodSweeper,
    BudgetService,
    PodLifecycleService,
    CloudSettingsService,
    CostLedgerService,
    CloudControlLoop,
    CLOUD_DEMAND,
  ],
})
export class CloudModule {}
