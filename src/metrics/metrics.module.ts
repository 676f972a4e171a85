import { Global, Module } from '@nestjs/common';
import { CloudModule } from '../cloud/cloud.module';
import { COMFY_CALL_OBSERVER } from '../comfyui/comfyui-client.factory';
import { RUNPOD_CALL_OBSERVER } from '../runpod/runpod.module';
import { CloudWorkersMetrics } from './cloud-workers-metrics';
import { FleetGauges } from './fleet-gauges';
import { MetricsEventListener } from './metrics-event.listener';
import { comfyCallObserver, runpodCallObserver } from './outbound-call-metrics';

/**
 * Metrics collection, part of the embeddable core: it exposes `CloudWorkersMetrics` (its `registry` or
 * `scrape()`) and serves nothing. The HTTP service adds `GET /metrics` (MetricsController); a host that embeds
 * the core can merge `registry` into its own (`Registry.merge`) or serve it itself.
 *
 * Global because the call hooks it provides are optional injections of the RunPod and ComfyUI layers.
 */
@Global()
@Module({
  imports: [CloudModule],
  providers: [
    CloudWorkersMetrics,
    FleetGauges,
    MetricsEventListener,
    { provide: RUNPOD_CALL_OBSERVER, inject: [CloudWorkersMetrics], useFactory: runpodCallObserver },
    { provide: COMFY_CALL_OBSERVER, inject: [CloudWorkersMetrics], useFactory: comfyCallObserver },
  ],
  exports: [CloudWorkersMetrics, RUNPOD_CALL_OBSERVER, COMFY_CALL_OBSERVER],
})
export class MetricsModule {}
