import { Module } from '@nestjs/common';
import { ComfyUiModule } from '../comfyui/comfyui.module';
import { TimersModule } from '../common/timers.module';
import { BreakEvenObservations } from './break-even-observations.service';
import { BudgetService } from './budget.service';
import { CloudAdminService } from './cloud-admin.service';
import { CloudControlLoop } from './cloud-control-loop.service';
import { CLOUD_DEMAND, CloudDemandBoard } from './cloud-demand';
import { CloudSettingsService } from './cloud-settings.service';
import { CloudViewService } from './cloud-view.service';
import { CostLedgerService } from './cost-ledger.service';
import { GpuTypesService } from './gpu-types.service';
import { PodCapabilitiesService } from './pod-capabilities.service';
import { PodLifecycleService } from './pod-lifecycle.service';
import { PodPlacementService } from './pod-placement.service';
import { PodSweeper } from './pod-sweeper.service';
import { ScalingDecisionLog } from './scaling-decisions';

@Module({
  imports: [ComfyUiModule, TimersModule],
  providers: [
    CloudSettingsService,
    CostLedgerService,
    BudgetService,
    PodLifecycleService,
    PodPlacementService,
    PodCapabilitiesService,
    CloudControlLoop,
    PodSweeper,
    CloudViewService,
    CloudAdminService,
    GpuTypesService,
    BreakEvenObservations,
    ScalingDecisionLog,
    // The dispatcher publishes the queue's demand here; the control loop reads it.
    { provide: CLOUD_DEMAND, useClass: CloudDemandBoard },
  ],
  exports: [
    PodSweeper,
    BudgetService,
    PodLifecycleService,
    // What each ready pod can run (for routing).
    PodCapabilitiesService,
    CloudSettingsService,
    CostLedgerService,
    CloudControlLoop,
    CLOUD_DEMAND,
    // The dispatcher plans holds with the parameters the control loop measured.
    ScalingDecisionLog,
    // For the HTTP layer's CloudController.
    CloudViewService,
    CloudAdminService,
    GpuTypesService,
  ],
})
export class CloudModule {}
