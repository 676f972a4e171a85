import { Inject, Injectable } from '@nestjs/common';
import { CloudSettingsService } from '../cloud/cloud-settings.service';
import { PodLifecycleService } from '../cloud/pod-lifecycle.service';
import { expectedRunOfKind, holdForLiveOrNewPods, podsFreeInS } from '../cloud/policy/breakeven.policy';
import { ScalingDecisionLog } from '../cloud/scaling-decisions';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { JobEntity } from '../persistence/entities/job.entity';
import { PodsRepository } from '../persistence/pods.repository';
import { RoutingEstimatesService } from '../routing-estimates/routing-estimates.service';

/** Which of a pass's jobs wait for a pod rather than go to serverless. */
export interface PodHoldPlan {
  /** Job ids held for a live or booting pod, or for one the next scaling pass may start. */
  held: Set<string>;
  /** Those held only for a pod not started yet: the autoscaler is told, so that it starts it. */
  forNewPod: Set<string>;
}

const NOTHING_HELD: PodHoldPlan = { held: new Set(), forNewPod: new Set() };

/**
 * The dispatcher's wait for a pod (break-even policy): gathers the shipped `holdForLiveOrNewPods`'s inputs. When
 * each serving pod can take its next job: a ready pod now, a booting one after the measured boot, a busy one
 * when the run-time estimates say its job ends (`RoutingEstimatesService.podBusyUntil`: a pod running a
 * 4-minute video is not free 30 s after its start); and the pods the next scaling pass may still start (up in a
 * boot and a tick), with the parameters the control loop measured on its latest tick (none yet: nothing is held).
 * Each job's expected run is its kind's measured mean (image or video).
 */
@Injectable()
export class PodHolds {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scaling: ScalingDecisionLog,
    private readonly pods: PodsRepository,
    private readonly lifecycle: PodLifecycleService,
    private readonly settings: CloudSettingsService,
    private readonly estimates: RoutingEstimatesService,
    private readonly clock: Clock,
  ) {}

  /** Which of `jobs` (the rest of a pass's queue, in order) wait for a pod. */
  async plan(jobs: readonly JobEntity[]): Promise<PodHoldPlan> {
    const parameters = this.scaling.parametersInForce();
    if (!parameters) return NOTHING_HELD;
    const now = this.clock.now();
    const policy = this.config.cloud.breakEven;
    // Terminating pods count against CLOUD_MAX_PODS until they are gone, as the spawn's write-ahead counts them.
    const live = await this.pods.findLive();
    const serving = live.filter((pod) => pod.state !== 'terminating' && pod.drainRequestedAt === null);
    const busyUntil = this.estimates.podBusyUntil();
    const freeInS = podsFreeInS(
      serving.map((pod) => ({
        state: pod.state === 'ready' || pod.state === 'busy' ? pod.state : 'starting',
        createdAt: pod.createdAt ?? pod.requestedAt,
        busySince: pod.busySince,
        busyUntil: pod.state === 'busy' ? busyUntil.get(pod.name) : undefined,
      })),
      now,
      parameters.bootS,
      parameters.meanJobS,
    );
    const candidates = jobs.filter(
      (job) =>
        job.podOnly ||
        (!job.plannedBackend && (job.requestedBackend === 'auto' || job.requestedBackend === 'cloud')),
    );
    const spawnable = this.lifecycle.canSpawnPods()
      ? Math.max(0, this.settings.get().maxPods - live.length)
      : 0;
    const { hold, forNewPod } = holdForLiveOrNewPods(
      candidates.map((job) => ({
        // Its kind's measured mean run: a video may wait longer for a pod than an image (podWaitAllowanceS).
        durationS: expectedRunOfKind(job.workloadKind, parameters),
        podOnly: job.podOnly,
        waitedS: Math.max(0, now - job.createdAt) / 1000,
      })),
      freeInS,
      spawnable,
      parameters.bootS + this.config.cloud.tickIntervalMs / 1000,
      undefined,
      policy.podWaitTargetS,
      policy.podWaitPerRun,
    );
    return {
      held: new Set(candidates.filter((_, i) => hold[i]).map((job) => job.id)),
      forNewPod: new Set(candidates.filter((_, i) => forNewPod[i]).map((job) => job.id)),
    };
  }
}
