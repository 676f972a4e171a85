import { Inject, Injectable, Logger } from '@nestjs/common';
import { InvalidInputError } from '../common/domain-errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PodEntity } from '../persistence/entities/pod.entity';
import { resolveGpuTypeId, UnknownGpuTypeError } from '../config/gpu-catalog';
import { CloudSettingsService } from './cloud-settings.service';
import { CloudViewService } from './cloud-view.service';
import { CloudConfigDto, UpdateCloudConfigDto } from './dto/cloud-config.dto';
import { ShutdownResultDto, SpawnResultDto, TerminateResultDto } from './dto/pod.dto';
import { PodLifecycleService } from './pod-lifecycle.service';

/** Operator actions behind the cloud routes: one call per route. */
@Injectable()
export class CloudAdminService {
  private readonly logger = new Logger('CloudAdmin');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly lifecycle: PodLifecycleService,
    private readonly settings: CloudSettingsService,
    private readonly view: CloudViewService,
  ) {}

  async spawn(gpuType: string | undefined, wait: boolean): Promise<SpawnResultDto> {
    let pod = await this.lifecycle.spawn({ gpuType, origin: 'manual' });
    if (wait) {
      // A little past the boot deadline: the control loop fails the pod at the deadline and that ends the wait.
      pod = await this.lifecycle.waitUntilReady(
        pod.name,
        this.config.cloud.bootTimeoutMs + 2 * this.config.cloud.tickIntervalMs,
      );
    }
    return { success: true, pod: this.spawned(pod) };
  }

  async terminate(podId: string): Promise<TerminateResultDto> {
    const pod = await this.lifecycle.terminateById(podId, 'terminated by operator');
    return { success: true, podId: pod.runpodId ?? pod.name, status: pod.state, cost: pod.costUsd };
  }

  async shutdownAll(): Promise<ShutdownResultDto> {
    const result = await this.lifecycle.shutdownAll('emergency shutdown by operator');
    return { success: result.failed.length === 0, ...result };
  }

  async updateConfig(update: UpdateCloudConfigDto): Promise<CloudConfigDto> {
    let gpuTypeId: string | undefined;
    if (update.gpuType !== undefined) {
      try {
        gpuTypeId = resolveGpuTypeId(update.gpuType);
      } catch (error) {
        // Only the catalog's own answer is the caller's business (it names close matches).
        if (error instanceof UnknownGpuTypeError) throw new InvalidInputError(`gpuType: ${error.message}`);
        throw error;
      }
    }
    this.warnIfIgnored(update);
    const settings = await this.settings.update({
      maxPods: update.maxPods,
      idleTimeoutMs: update.idleTimeout,
      autoScaleThreshold: update.autoScaleThreshold,
      preferServerless: update.preferServerless,
      routingPreference: update.routingPreference,
      gpuTypeId,
      dailyBudgetUsd: update.dailyBudgetUsd,
    });
    return this.view.configView(settings);
  }

  /**
   * idleTimeout and autoScaleThreshold are the seed rule's: under CLOUD_POLICY=breakeven they are saved (they
   * apply if the service is switched to the seed rule) but neither reaps nor spawns, which the operator is told,
   * as at startup for CLOUD_IDLE_TIMEOUT and CLOUD_AUTOSCALE_THRESHOLD. idleTimeout is still the idle time that
   * quotes charge a pod (its keep-alive) and that the daily budget counts for a new pod.
   */
  private warnIfIgnored(update: UpdateCloudConfigDto): void {
    if (this.config.cloud.policy !== 'breakeven') return;
    const ignored = (['idleTimeout', 'autoScaleThreshold'] as const).filter(
      (key) => update[key] !== undefined,
    );
    if (ignored.length === 0) return;
    const still =
      update.idleTimeout !== undefined
        ? "; idleTimeout is still a pod's keep-alive in quotes and a new pod's idle time in the daily budget"
        : '';
    this.logger.warn(
      `${ignored.join(' and ')} saved, but CLOUD_POLICY=breakeven does not reap or spawn by ` +
        `${ignored.length > 1 ? 'them' : 'it'} (it measures each pod's idle timeout and spawns by break-even; ` +
        `GET /api/cloud/status shows both)${still}; under CLOUD_POLICY=seed they apply in full`,
    );
  }

  private spawned(pod: PodEntity) {
    return {
      id: pod.runpodId ?? pod.name,
      name: pod.name,
      url: pod.url ?? '',
      status: pod.state === 'busy' ? 'ready' : pod.state,
      costPerHour: pod.costPerHour,
      gpuType: pod.gpuTypeId,
    };
  }
}
