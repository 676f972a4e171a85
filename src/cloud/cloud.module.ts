import { Module } from '@nestjs/common';
import { ComfyUiHealthProbe } from '../comfyui/comfyui-health';
import { CloudAdminService } from './cloud-admin.service';
import { CloudControlLoop } from './cloud-control-loop.service';
import { CLOUD_DEMAND, ManualCloudDemand } from './cloud-demand';
import { CloudSettingsService } from './cloud-settings.service';
import { CloudViewService } from './cloud-view.service';
import { CloudController } from './cloud.controller';
import { CostLedgerService } from './cost-ledger.service';
import { PodLifecycleService } from './pod-lifecycle.service';

@Module({
  controllers: [CloudController],
  providers: [
    CloudSettingsService,
    CostLedgerService,
    PodLifecycleService,
    CloudControlLoop,
    CloudViewService,
    CloudAdminService,
    ComfyUiHealthProbe,
    // Until the jobs/routing module provides real demand, the queue length is fed directly.
    { provide: CLOUD_DEMAND, useClass: ManualCloudDemand },
  ],
  exports: [PodLifecycleService, CloudSettingsService, CostLedgerService, CloudControlLoop, CLOUD_DEMAND],
})
export class CloudModule {}
