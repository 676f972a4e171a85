import { Injectable, Logger } from '@nestjs/common';
import { PodLifecycleService } from '../cloud/pod-lifecycle.service';
import { ComfyUiHealthProbe } from '../comfyui/comfyui-health';
import { LocalWorkersService } from '../local/local-workers.service';
import type { JobBackend } from '../persistence/entities/job.entity';
import { PodsRepository } from '../persistence/pods.repository';

export interface WorkerPlacement {
  backend: JobBackend;
  workerId: string;
  url: string | null;
}

/** Gives a worker back after a job: a local slot, or a pod to the idle pool (its idle clock restarts). */
@Injectable()
export class WorkerReleaser {
  private readonly logger = new Logger('Dispatcher');

  constructor(
    private readonly local: LocalWorkersService,
    private readonly lifecycle: PodLifecycleService,
    private readonly pods: PodsRepository,
    private readonly probe: ComfyUiHealthProbe,
  ) {}

  async release(placement: WorkerPlacement, jobCompleted: boolean): Promise<void> {
    switch (placement.backend) {
      case 'local':
        this.local.release(placement.workerId, jobCompleted);
        return;
      case 'pod':
        await this.lifecycle.releasePod(placement.workerId, jobCompleted);
        return;
      case 'serverless':
        return;
    }
  }

  /**
   * The worker failed to run the job. A local worker that stopped answering is marked unhealthy at once; a
   * pod whose ComfyUI stopped answering is terminated (we do not pay for a pod that cannot work).
   */
  async releaseAfterInfrastructureFailure(placement: WorkerPlacement, reason: string): Promise<void> {
    const answering = placement.url ? await this.probe.isUp(placement.url, 3000) : true;
    if (placement.backend === 'local' && !answering) this.local.markUnhealthy(placement.workerId, reason);
    if (placement.backend === 'pod' && !answering) {
      const pod = await this.pods.findByName(placement.workerId);
      if (pod) {
        this.logger.warn(`Pod ${pod.runpodId ?? pod.name} stopped answering (${reason}); terminating it`);
        await this.lifecycle
          .terminate(pod.name, `ComfyUI stopped answering: ${reason}`, 'failed')
          .catch((error: Error) =>
            this.logger.error(`Could not terminate pod ${pod.name}: ${error.message}`),
          );
        return;
      }
    }
    await this.release(placement, false);
  }
}
