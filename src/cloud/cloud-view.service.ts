import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import type { AppConfig, BreakEvenConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { PodEntity } from '../persistence/entities/pod.entity';
import { JobsRepository } from '../persistence/jobs.repository';
import { PodsRepository } from '../persistence/pods.repository';
import { BudgetService } from './budget.service';
import { CloudSettings, CloudSettingsService } from './cloud-settings.service';
import { roundUsd } from './cost-ledger.service';
import { CostLedgerService } from './cost-ledger.service';
import { CloudConfigDto } from './dto/cloud-config.dto';
import { CloudCostDto, CloudStatusDto } from './dto/cloud-status.dto';
import { PodListDto, PodSummaryDto } from './dto/pod.dto';
import { capabilitiesView } from '../local/local-worker-capabilities';
import { PodCapabilitiesService } from './pod-capabilities.service';
import { PodLifecycleService } from './pod-lifecycle.service';
import type { MeasuredParameters } from './measured-parameters';
import { ScalingDecisionLog, type ScalingDecision } from './scaling-decisions';
import type { BreakEvenParametersDto, ScalingDecisionDto, ScalingPolicyDto } from './dto/scaling-policy.dto';
import { podCost } from './policy/pod-cost';

/** Read models for the cloud API, in the seed's field names. */
@Injectable()
export class CloudViewService {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly pods: PodsRepository,
    private readonly jobs: JobsRepository,
    private readonly ledger: CostLedgerService,
    private readonly settings: CloudSettingsService,
    private readonly budget: BudgetService,
    private readonly lifecycle: PodLifecycleService,
    private readonly clock: Clock,
    private readonly scaling: ScalingDecisionLog,
    private readonly podCapabilities: PodCapabilitiesService,
  ) {}

  async status(): Promise<CloudStatusDto> {
    const live = await this.pods.findLive();
    const [totalJobsProcessed, totalCost] = await Promise.all([
      this.totalJobsProcessed(),
      this.ledger.totalUsd(),
    ]);
    return {
      available: this.lifecycle.isAvailable(),
      podsEnabled: this.lifecycle.canSpawnPods(),
      serverlessEnabled: this.lifecycle.isAvailable() && Boolean(this.config.runpod.serverlessEndpointId),
      serverlessEndpoints: this.config.runpod.serverlessEndpoints.map((endpoint, index) => ({
        id: endpoint.id,
        label: endpoint.label,
        pricePerSecond: endpoint.pricePerSecond,
        declaredModels: endpoint.models?.length ?? null,
        primary: index === 0,
      })),
      podApi: this.config.runpod.podApi,
      activePods: live.filter((pod) => pod.state !== 'terminating').length,
      busyPods: live.filter((pod) => pod.state === 'busy').length,
      startingPods: live.filter((pod) => pod.state === 'requested' || pod.state === 'starting').length,
      totalJobsProcessed,
      totalCost: roundUsd(totalCost),
      pods: live.map((pod) => this.summarize(pod)),
      config: this.configView(this.settings.get()),
      gpuBackoff: this.lifecycle.gpuBackoff().map((entry) => ({
        gpuType: entry.gpuType,
        until: new Date(entry.until).toISOString(),
        failures: entry.failures,
      })),
      scalingPolicy: this.scalingPolicy(),
    };
  }

  private scalingPolicy(): ScalingPolicyDto {
    const name = this.config.cloud.policy;
    const parameters = name === 'breakeven' ? this.scaling.parametersInForce() : null;
    const latest = this.scaling.latest();
    return {
      name,
      parameters:
        parameters &&
        parametersView(parameters, this.config.cloud.breakEven, this.scaling.keptIdleTimeouts()),
      lastEvaluation: latest && decisionView(latest),
      decisions: this.scaling.recent().map(decisionView),
    };
  }

  async cost(): Promise<CloudCostDto> {
    const live = await this.pods.findLive();
    const [totalJobsProcessed, totalCost, costByPod, budget] = await Promise.all([
      this.totalJobsProcessed(),
      this.ledger.totalUsd(),
      this.ledger.totalsBySource(),
      this.budget.status(),
    ]);
    return {
      available: this.lifecycle.isAvailable(),
      totalCost: roundUsd(totalCost),
      costByPod,
      activePods: live.filter((pod) => pod.state !== 'terminating').length,
      totalJobsProcessed,
      avgCostPerJob: totalJobsProcessed > 0 ? roundUsd(totalCost / totalJobsProcessed) : 0,
      budget,
    };
  }

  async listPods(includeEnded: boolean, limit: number): Promise<PodListDto> {
    const pods = includeEnded ? await this.pods.findRecent(limit) : await this.pods.findLive();
    return { count: pods.length, pods: pods.map((pod) => this.summarize(pod)) };
  }

  /** Jobs completed in the cloud: on our pods and on serverless. */
  private async totalJobsProcessed(): Promise<number> {
    const [onPods, byBackend] = await Promise.all([
      this.pods.totalJobsProcessed(),
      this.jobs.countBy('backend', { status: 'completed' }),
    ]);
    return onPods + (byBackend.find((row) => row.key === 'serverless')?.count ?? 0);
  }

  configView(settings: CloudSettings): CloudConfigDto {
    return {
      maxPods: settings.maxPods,
      idleTimeout: settings.idleTimeoutMs,
      autoScaleThreshold: settings.autoScaleThreshold,
      preferServerless: settings.preferServerless,
      routingPreference: settings.routingPreference,
      gpuType: settings.gpuTypeId,
      dailyBudgetUsd: settings.dailyBudgetUsd,
    };
  }

  summarize(pod: PodEntity): PodSummaryDto {
    const now = this.clock.now();
    const ended = pod.terminatedAt ?? now;
    const live = pod.state !== 'terminated' && pod.state !== 'failed';
    // While live, show cost up to this moment even between ticks; the ledger catches up on the next tick.
    const costUsd =
      live && pod.createdAt !== null ? podCost(pod.costPerHour, pod.createdAt, now) : pod.costUsd;
    return {
      id: pod.runpodId ?? pod.name,
      name: pod.name,
      status: pod.state === 'busy' ? 'ready' : pod.state,
      state: pod.state,
      busy: pod.state === 'busy',
      gpuType: pod.gpuTypeId,
      jobsProcessed: pod.jobsProcessed,
      costPerHour: pod.costPerHour,
      costUsd: roundUsd(costUsd),
      uptime: pod.createdAt !== null ? Math.max(0, ended - pod.createdAt) : 0,
      idleTime: pod.state === 'ready' && pod.lastBusyAt !== null ? Math.max(0, now - pod.lastBusyAt) : 0,
      idleTimeout: pod.idleTimeoutMs,
      url: pod.url,
      failureReason: pod.failureReason,
      capabilities: this.capabilitiesOf(pod),
    };
  }

  private capabilitiesOf(pod: PodEntity): PodSummaryDto['capabilities'] {
    const capabilities = pod.runpodId ? this.podCapabilities.get(pod.runpodId) : undefined;
    return capabilities ? capabilitiesView(capabilities) : null;
  }
}

const round = (value: number, digits: number) => Number(value.toFixed(digits));

function parametersView(
  p: MeasuredParameters,
  policy: BreakEvenConfig,
  keptIdleTimeoutsS: readonly number[] | null,
): BreakEvenParametersDto {
  return {
    podWaitTargetSeconds: policy.podWaitTargetS,
    podWaitPerRun: policy.podWaitPerRun,
    arrivalWindowSeconds: policy.arrivalWindowS,
    idleReleaseSeconds: policy.idleReleaseS,
    spawnEvidenceZ: policy.spawnEvidenceZ,
    podPricePerHour: p.podPricePerHour,
    serverlessPricePerSecond: p.serverlessPricePerS,
    serverlessOverheadSeconds: p.serverlessOverheadPerJobS,
    serverlessMaxWorkers: Number.isFinite(p.serverlessMaxWorkers) ? p.serverlessMaxWorkers : null,
    serverlessMaxWorkersSource: p.serverlessMaxWorkersSource,
    breakEvenUtilisation: Number.isFinite(p.breakEvenUtilisation) ? round(p.breakEvenUtilisation, 4) : null,
    bootSeconds: round(p.bootS, 1),
    bootSamples: p.bootSamples,
    meanJobSeconds: round(p.meanJobS, 1),
    meanJobSecondsByKind: Object.fromEntries(
      Object.entries(p.byClass).map(([kind, seconds]) => [kind, round(seconds, 1)]),
    ),
    jobSamples: p.jobSamples,
    serverlessStartDelaySeconds: p.serverlessStartDelayS === null ? null : round(p.serverlessStartDelayS, 1),
    serverlessStartDelaySamples: p.serverlessStartDelaySamples,
    idleTimeoutSeconds: round(p.idleTimeoutS, 1),
    podsKept: keptIdleTimeoutsS?.length ?? null,
    keptIdleTimeoutsSeconds: keptIdleTimeoutsS?.map((s) => round(s, 1)) ?? null,
    horizonSeconds: round(p.horizonS, 1),
  };
}

function decisionView(decision: ScalingDecision): ScalingDecisionDto {
  return { ...decision, at: new Date(decision.at).toISOString() };
}
