import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { UnavailableError } from '../common/domain-errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { type CreatePodSpec, PODS_API, type PodsApi } from '../runpod/pods-api';

/** What every new pod gets besides its name, image, GPU, cloud and ports. */
export type PodCreateSettings = Pick<
  CreatePodSpec,
  'containerDiskInGb' | 'env' | 'networkVolume' | 'dataCenterIds' | 'templateId'
>;

/**
 * The settings that give pods their models (RUNPOD_NETWORK_VOLUME_ID, RUNPOD_DATA_CENTER_IDS, RUNPOD_TEMPLATE_ID,
 * RUNPOD_POD_ENV, RUNPOD_CONTAINER_DISK_GB), checked against RunPod once.
 *
 * RunPod's one placement rule in reference/: a network volume is "an existing NetworkVolume in the same data center
 * as the pod" (V2OAS NetworkMount.volumeId). So with a volume the service asks RunPod where it is (REST v2
 * getNetworkVolume; GraphQL `myself.networkVolumes`, as runpod-python does before a create) and:
 * - refuses to spawn, with a message naming both settings, when RUNPOD_DATA_CENTER_IDS does not list that data center
 *   (no pod could be placed) or when the account has no such volume;
 * - otherwise sends only the volume's data center (unset RUNPOD_DATA_CENTER_IDS included, as runpod-python does).
 * The check runs at startup (logged; it never stops the service: RunPod may be unreachable) and before the first
 * spawn; a good answer is kept, a refusal is asked again at the next spawn (the operator may have fixed it).
 */
@Injectable()
export class PodPlacementService implements OnApplicationBootstrap {
  private readonly logger = new Logger('CloudPods');
  private resolved?: Promise<string[]>;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PODS_API) private readonly podsApi: PodsApi,
  ) {}

  onApplicationBootstrap(): void {
    const { apiKey, dockerImage, pod } = this.config.runpod;
    if (!apiKey || !dockerImage || !pod.networkVolumeId) return;
    void this.dataCenterIds().then(
      (ids) => this.logger.log(`Network volume ${pod.networkVolumeId}: pods go to data center ${ids.join(', ')}`),
      (error: Error) => this.logger.error(`Pods cannot be spawned yet: ${error.message}`),
    );
  }

  /** The create settings, placement checked. Throws UnavailableError when no pod could be placed as configured. */
  async createSettings(): Promise<PodCreateSettings> {
    const { containerDiskInGb, pod } = this.config.runpod;
    const dataCenterIds = await this.dataCenterIds();
    return {
      containerDiskInGb,
      // A copy: the adapters spread it into their bodies; the config's own object stays frozen.
      env: { ...pod.env },
      ...(pod.networkVolumeId
        ? { networkVolume: { id: pod.networkVolumeId, mountPath: pod.networkVolumeMountPath } }
        : {}),
      ...(dataCenterIds.length ? { dataCenterIds } : {}),
      ...(pod.templateId ? { templateId: pod.templateId } : {}),
    };
  }

  private dataCenterIds(): Promise<string[]> {
    if (!this.resolved) {
      this.resolved = this.resolve();
      this.resolved.catch(() => (this.resolved = undefined));
    }
    return this.resolved;
  }

  private async resolve(): Promise<string[]> {
    const { networkVolumeId, dataCenterIds } = this.config.runpod.pod;
    if (!networkVolumeId) return dataCenterIds;
    const volume = await this.podsApi.getNetworkVolume(networkVolumeId);
    if (!volume) {
      throw new UnavailableError(
        `Pods cannot be spawned: RUNPOD_NETWORK_VOLUME_ID ${networkVolumeId} is not a network volume of this RunPod account`,
      );
    }
    if (!volume.dataCenterId) {
      // RunPod did not say where it is: send what is configured and let RunPod place the pod.
      this.logger.warn(`RunPod did not say which data center network volume ${networkVolumeId} is in`);
      return dataCenterIds;
    }
    if (dataCenterIds.length && !dataCenterIds.includes(volume.dataCenterId)) {
      throw new UnavailableError(
        `Pods cannot be spawned: RUNPOD_NETWORK_VOLUME_ID ${networkVolumeId} is in data center ` +
          `${volume.dataCenterId}, which RUNPOD_DATA_CENTER_IDS (${dataCenterIds.join(', ')}) does not list; ` +
          'a pod with a network volume runs in the volume’s data center',
        { networkVolumeId, volumeDataCenterId: volume.dataCenterId, dataCenterIds },
      );
    }
    return [volume.dataCenterId];
  }
}
