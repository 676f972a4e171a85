import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { randomBytes } from 'node:crypto';
import { KeyedMutex } from '../common/async-mutex';
import { Clock } from '../common/clock';
import { ConflictError, InvalidInputError, NotFoundError, UnavailableError } from '../common/domain-errors';
import { ComfyUiHealthProbe } from '../comfyui/comfyui-health';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { PodEntity, PodOrigin } from '../persistence/entities/pod.entity';
import { newPodRow } from '../persistence/pod-row';
import { type PodAttachment, PodTransitions } from '../persistence/pod-transitions';
import { PodsRepository } from '../persistence/pods.repository';
import { resolveGpuTypeId } from '../config/gpu-catalog';
import { type CreatePodSpec, PODS_API, type PodsApi, type RunPodPod } from '../runpod/pods-api';
import { GpuCapacityError, RunPodUnavailableError } from '../runpod/runpod.errors';
import {
  CloudEvents,
  PodFailedEvent,
  PodReadyEvent,
  PodSpawnedEvent,
  PodTerminatedEvent,
} from './cloud.events';
import { BudgetService } from './budget.service';
import { CloudSettingsService } from './cloud-settings.service';
import { CostLedgerService } from './cost-ledger.service';
import { podsPastBootDeadline } from './policy/boot.policy';
import { type GpuBackoffEntry, GpuCapacityBackoff } from './policy/capacity-backoff.policy';
import { type PodCreateSettings, PodPlacementService } from './pod-placement.service';
import { PodReadinessWaiters } from './pod-readiness-waiters';

/** The port ComfyUI listens on inside our pods, exposed through RunPod's HTTP proxy. */
const COMFYUI_PORT = '8188/http';
const MAX_CREATE_ATTEMPTS = 3;

/** RunPod failed mid-create and could not be asked afterwards: the pod may or may not exist. */
export class SpawnOutcomeUnknownError extends UnavailableError {}

export interface SpawnRequest {
  /** Display name or exact id; default: the configured GPU type. */
  gpuType?: string;
  origin: PodOrigin;
}

/**
 * Pod lifecycle: spawn (write-ahead row, then RunPod create with GPU fallbacks), readiness (RunPod runtime
 * AND ComfyUI answering), boot deadline, busy/idle bookkeeping for the router, and termination with the
 * cost settled. Every state change goes to the database first; deadlines derive from stored timestamps.
 */
@Injectable()
export class PodLifecycleService {
  private readonly logger = new Logger('CloudPods');
  private readonly terminations = new KeyedMutex();
  private readonly waiters = new PodReadinessWaiters();
  /** GPU types that answered "no capacity" lately. In memory: a restart forgets it (one extra try per type). */
  private readonly capacity = new GpuCapacityBackoff();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PODS_API) private readonly podsApi: PodsApi,
    private readonly pods: PodsRepository,
    private readonly transitions: PodTransitions,
    private readonly settings: CloudSettingsService,
    private readonly ledger: CostLedgerService,
    private readonly budget: BudgetService,
    private readonly probe: ComfyUiHealthProbe,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
    private readonly placement: PodPlacementService,
  ) {}

  /** Cloud features need RUNPOD_API_KEY; without it the service runs local work only. */
  isAvailable(): boolean {
    return Boolean(this.config.runpod.apiKey);
  }

  canSpawnPods(): boolean {
    return this.isAvailable() && Boolean(this.config.runpod.dockerImage);
  }

  /** GPU types spawns skip for now because RunPod had no capacity for them. */
  gpuBackoff(): GpuBackoffEntry[] {
    return this.capacity.active(this.clock.now());
  }

  podUrl(runpodId: string): string {
    return this.config.runpod.podUrlTemplate.replace('{podId}', runpodId);
  }

  /**
   * Creates a pod and returns once RunPod accepted it (state `starting`). Throws ConflictError at
   * CLOUD_MAX_PODS, BudgetExceededError (a ConflictError) when the pod would cross the daily budget,
   * UnavailableError when no GPU type in the fallback list has capacity.
   */
  async spawn(request: SpawnRequest): Promise<PodEntity> {
    if (!this.isAvailable())
      throw new UnavailableError('Cloud workers are not available: RUNPOD_API_KEY is not set');
    if (!this.config.runpod.dockerImage) {
      throw new UnavailableError(
        'Pods cannot be spawned: RUNPOD_DOCKER_IMAGE is not set (an image serving ComfyUI on 8188)',
      );
    }
    // Volume, data centers, template, env: checked against RunPod before anything is committed.
    const settings = await this.placement.createSettings();
    // Prices may come from RunPod's catalog: read them before taking the admission lock.
    const { gpuTypeIds: candidates, ratePerHour: rate } = await this.budget.newPodPricing(
      this.gpuCandidates(request.gpuType),
    );
    // The write-ahead row (`requested`, at the admitted rate) is the commitment: written inside the
    // admission, so every later admission, on any instance, counts this pod before RunPod has even answered.
    const row = await this.budget.admit(async (admission) => {
      admission.require('a new pod', admission.newPodUsd(rate));
      return this.writeAhead(candidates[0], request.origin, rate);
    });
    this.logger.log(`Spawning new cloud pod... (${row.name}, ${candidates.join(' -> ')})`);

    let created: RunPodPod;
    try {
      created = await this.createWithFallback(row, candidates, settings);
    } catch (error) {
      if (error instanceof SpawnOutcomeUnknownError) {
        // Keep the row `requested`: the boot deadline looks the name up again and terminates what it finds.
        this.logger.error(`${error.message}; ${row.name} stays recorded and will be resolved by name`);
        throw error;
      }
      await this.fail(row, `spawn failed: ${(error as Error).message}`);
      throw error;
    }
    return this.attach(row, created, request.origin);
  }

  /**
   * Resolves when the pod is ready; rejects when it fails or `timeoutMs` passes. Also reads the pod's row every
   * second: with several instances, the leader (another process) may be the one that marks it ready.
   */
  async waitUntilReady(name: string, timeoutMs: number): Promise<PodEntity> {
    const pending = this.waiters.wait(name, timeoutMs);
    const poll = setInterval(() => void this.settleWaiterFromRow(name), 1000);
    try {
      await this.settleWaiterFromRow(name);
      return await pending;
    } finally {
      clearInterval(poll);
    }
  }

  private async settleWaiterFromRow(name: string): Promise<void> {
    const pod = await this.pods.findByName(name).catch(() => undefined);
    if (pod === undefined) return;
    if (pod?.state === 'ready' || pod?.state === 'busy') this.waiters.resolve(name, pod);
    else if (!pod || pod.state === 'failed' || pod.state === 'terminated') {
      this.waiters.reject(
        name,
        new UnavailableError(`Pod ${name} did not come up: ${pod?.failureReason ?? 'gone'}`),
      );
    }
  }

  /** Polls booting pods: ready when RunPod reports a runtime and ComfyUI answers /system_stats. */
  async refreshBooting(): Promise<void> {
    for (const pod of await this.pods.findInStates(['starting'])) {
      let remote: RunPodPod | null;
      try {
        remote = await this.podsApi.get(pod.runpodId!);
      } catch (error) {
        this.logger.warn(`Could not check pod ${pod.runpodId}: ${(error as Error).message}`);
        continue;
      }
      if (!remote || remote.status === 'TERMINATED') {
        await this.closeGone(pod, 'pod disappeared at RunPod while booting');
        continue;
      }
      if (remote.status === 'EXITED' || remote.status === 'ERROR') {
        await this.terminate(pod.name, `pod ${remote.status.toLowerCase()} while booting`, 'failed');
        continue;
      }
      if (pod.costPerHour === 0 && remote.costPerHour > 0) {
        await this.transitions.recordCostPerHour(pod.name, remote.costPerHour);
      }
      if (remote.status === 'RUNNING' && remote.hasRuntime && (await this.probe.isUp(pod.url!))) {
        await this.markReady(pod);
      }
    }
  }

  /** Terminates and fails pods not ready within CLOUD_BOOT_TIMEOUT: we do not pay for pods that never come up. */
  async enforceBootDeadline(): Promise<void> {
    const now = this.clock.now();
    const booting = await this.pods.findInStates(['requested', 'starting']);
    for (const name of podsPastBootDeadline(booting, now, this.config.cloud.bootTimeoutMs)) {
      const seconds = Math.round(this.config.cloud.bootTimeoutMs / 1000);
      this.logger.warn(`Pod ${name} not ready after ${seconds}s (CLOUD_BOOT_TIMEOUT); terminating`);
      await this.terminate(name, `boot timeout: not ready within ${seconds}s`, 'failed').catch(
        (error: Error) =>
          this.logger.error(`Could not terminate ${name} after boot timeout: ${error.message}`),
      );
    }
  }

  /** Pods left in `terminating` (RunPod failed to answer) are retried every tick: no pod is left billing. */
  async retryTerminating(): Promise<void> {
    for (const pod of await this.pods.findInStates(['terminating'])) {
      await this.terminate(
        pod.name,
        pod.failureReason ?? 'retrying termination',
        pod.failureReason ? 'failed' : 'terminated',
      ).catch((error: Error) =>
        this.logger.warn(`Termination of ${pod.runpodId ?? pod.name} still failing: ${error.message}`),
      );
    }
  }

  /** Terminates a pod we own, by RunPod id or name. NotFoundError for a pod that is not ours. */
  async terminateById(idOrName: string, reason: string): Promise<PodEntity> {
    const pod = await this.pods.findByIdOrName(idOrName);
    if (!pod) throw new NotFoundError(`No pod ${idOrName} is managed by this service`);
    return this.terminate(pod.name, reason, 'terminated');
  }

  /**
   * Terminates at RunPod (idempotent there), settles the cost to this moment and records the final state.
   * If RunPod cannot be reached the row stays `terminating` and the next tick tries again.
   */
  async terminate(name: string, reason: string, finalState: 'terminated' | 'failed'): Promise<PodEntity> {
    // The reaper, the boot deadline, an operator and shutdown may all reach for one pod at once: one wins,
    // the others then find it ended.
    return this.terminations.run(name, () => this.terminateOnce(name, reason, finalState));
  }

  private async terminateOnce(
    name: string,
    reason: string,
    finalState: 'terminated' | 'failed',
  ): Promise<PodEntity> {
    const pod = await this.pods.findByName(name);
    if (!pod) throw new NotFoundError(`No pod ${name} is managed by this service`);
    if (pod.state === 'terminated' || pod.state === 'failed') return pod;

    const failureReason = finalState === 'failed' ? reason : null;
    // A row that already carries a request is a retry (a failed call, or a crash after RunPod acted).
    const retrying = pod.terminateRequestedAt !== null;
    const terminateRequestedAt = pod.terminateRequestedAt ?? this.clock.now();
    await this.transitions.beginTermination(name, { failureReason, terminateRequestedAt });
    pod.state = 'terminating';
    if (!pod.runpodId) {
      const found = await this.podsApi
        .listByNamePrefix(pod.name)
        .then((list) => list.find((p) => p.name === pod.name));
      if (found) {
        await this.transitions.recordFoundRunPodId(
          name,
          found.id,
          found.createdAt?.getTime() ?? pod.requestedAt,
        );
        Object.assign(pod, { runpodId: found.id, createdAt: found.createdAt?.getTime() ?? pod.requestedAt });
      }
    }
    let terminatedAt: number;
    if (pod.runpodId && retrying && (await this.isGoneAtRunPod(pod.runpodId))) {
      // RunPod terminated it when we first asked (we died before recording that): billing stopped then.
      terminatedAt = terminateRequestedAt;
    } else {
      if (pod.runpodId) await this.podsApi.terminate(pod.runpodId);
      terminatedAt = this.clock.now();
    }
    const cost = await this.ledger.settlePod(name, terminatedAt);
    await this.transitions.finishTermination(name, finalState);
    Object.assign(pod, { state: finalState, terminatedAt, failureReason, costUsd: cost });
    const podId = pod.runpodId ?? pod.name;
    this.logger.log(`Pod ${podId} terminated. Cost: $${cost.toFixed(4)}`);
    const terminated: PodTerminatedEvent = { podId, cost, reason };
    this.events.emit(CloudEvents.PodTerminated, terminated);
    if (finalState === 'failed') this.emitFailed(pod, reason, cost);
    this.waiters.reject(name, new UnavailableError(`Pod ${podId} was terminated: ${reason}`));
    await this.ledger.reportTotal();
    return pod;
  }

  private async isGoneAtRunPod(runpodId: string): Promise<boolean> {
    const remote = await this.podsApi.get(runpodId);
    return remote === null || remote.status === 'TERMINATED';
  }

  /** Terminates every pod we own (the seed's emergency shutdown). */
  async shutdownAll(
    reason: string,
  ): Promise<{ terminated: string[]; failed: Array<{ id: string; error: string }> }> {
    const live = await this.pods.findLive();
    const results = await Promise.allSettled(
      live.map((pod) => this.terminate(pod.name, reason, 'terminated')),
    );
    const terminated: string[] = [];
    const failed: Array<{ id: string; error: string }> = [];
    results.forEach((result, index) => {
      const id = live[index].runpodId ?? live[index].name;
      if (result.status === 'fulfilled') terminated.push(id);
      else failed.push({ id, error: (result.reason as Error).message });
    });
    return { terminated, failed };
  }

  /**
   * Claims an idle ready pod for one job (compare-and-set, so the reaper cannot take it at the same time).
   * Prefers the most recently used pod so the others can go idle and be reaped.
   */
  async reserveIdlePod(accepts: (pod: PodEntity) => boolean = () => true): Promise<PodEntity | null> {
    // A draining pod (past CLOUD_MAX_POD_LIFETIME) takes no new work.
    const ready = (await this.pods.findInStates(['ready']))
      .filter((pod) => pod.drainRequestedAt === null && accepts(pod))
      .sort((a, b) => (b.lastBusyAt ?? 0) - (a.lastBusyAt ?? 0));
    for (const pod of ready) {
      const now = this.clock.now();
      if (await this.transitions.reserve(pod.name, now)) {
        return { ...pod, state: 'busy', busySince: now, idleMarkedAt: null };
      }
    }
    return null;
  }

  /** Returns a pod to the idle pool after a job; its idle clock restarts now. */
  async releasePod(name: string, jobCompleted: boolean): Promise<void> {
    const pod = await this.pods.findByName(name);
    if (!pod) return;
    const jobsProcessed = pod.jobsProcessed + (jobCompleted ? 1 : 0);
    const now = this.clock.now();
    await this.transitions.release(name, now, jobsProcessed);
  }

  private gpuCandidates(requested: string | undefined): string[] {
    let first: string;
    try {
      first = requested ? resolveGpuTypeId(requested) : this.settings.get().gpuTypeId;
    } catch (error) {
      throw new InvalidInputError(`gpuType: ${(error as Error).message}`);
    }
    const candidates = [...new Set([first, ...this.config.cloud.gpuFallbacks])];
    const now = this.clock.now();
    const available = candidates.filter((gpuTypeId) => !this.capacity.isBackedOff(gpuTypeId, now));
    if (available.length === 0) {
      // Fail fast: RunPod said "no capacity" for every type lately; asking again now would only hammer it.
      const backedOff = this.capacity.active(now).filter((entry) => candidates.includes(entry.gpuType));
      const list = backedOff.map(
        (entry) => `${entry.gpuType} (until ${new Date(entry.until).toISOString()})`,
      );
      throw new UnavailableError(`No GPU capacity at RunPod for: ${list.join(', ')}`, {
        gpuTypesTried: [],
        gpuBackoff: backedOff.map((entry) => ({ ...entry, until: new Date(entry.until).toISOString() })),
      });
    }
    return available;
  }

  /** Called inside the budget admission, which also makes this CLOUD_MAX_PODS check atomic across instances. */
  private async writeAhead(gpuTypeId: string, origin: PodOrigin, admittedRate: number): Promise<PodEntity> {
    const { maxPods } = this.settings.get();
    const live = await this.pods.findLive();
    if (live.length >= maxPods) {
      throw new ConflictError(`CLOUD_MAX_PODS reached: ${live.length} of ${maxPods} pods are live`, {
        livePods: live.length,
        maxPods,
      });
    }
    const row = newPodRow({
      name: `${this.config.cloud.podNamePrefix}-${randomBytes(5).toString('hex')}`,
      state: 'requested',
      origin,
      gpuTypeId,
      // RunPod's own rate replaces it once the pod is created.
      costPerHour: admittedRate,
      requestedAt: this.clock.now(),
    });
    await this.transitions.create(row);
    return row;
  }

  private async createWithFallback(
    row: PodEntity,
    candidates: string[],
    settings: PodCreateSettings,
  ): Promise<RunPodPod> {
    const noCapacity: string[] = [];
    for (const gpuTypeId of candidates) {
      if (gpuTypeId !== row.gpuTypeId) {
        await this.transitions.recordGpuType(row.name, gpuTypeId);
        row.gpuTypeId = gpuTypeId;
      }
      try {
        const created = await this.createConfirmingAbsence({
          name: row.name,
          imageName: this.config.runpod.dockerImage!,
          gpuTypeId,
          cloudType: this.config.runpod.cloudType,
          ports: [COMFYUI_PORT],
          ...settings,
        });
        this.capacity.recordSuccess(gpuTypeId);
        return created;
      } catch (error) {
        if (!(error instanceof GpuCapacityError)) throw error;
        noCapacity.push(gpuTypeId);
        const backoff = this.capacity.recordNoCapacity(gpuTypeId, this.clock.now());
        this.logger.warn(
          `Skipping ${gpuTypeId} for spawns until ${new Date(backoff.until).toISOString()} (no capacity ${backoff.failures} time(s) in a row)`,
        );
        this.logger.warn(
          `No RunPod capacity for ${gpuTypeId}${candidates.length > noCapacity.length ? '; trying the next GPU type' : ''}`,
        );
      }
    }
    throw new UnavailableError(`No GPU capacity at RunPod for: ${noCapacity.join(', ')}`, {
      gpuTypesTried: noCapacity,
    });
  }

  /**
   * The transport does not repeat a create after a timeout or 500/502/504, because RunPod may have created
   * the pod before failing to answer. Here we look the unique name up first and only create again when
   * RunPod confirms it has no such pod. If even the lookup fails, the outcome is unknown.
   */
  private async createConfirmingAbsence(spec: CreatePodSpec): Promise<RunPodPod> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.podsApi.create(spec);
      } catch (error) {
        if (!(error instanceof RunPodUnavailableError)) throw error;
        let existing: RunPodPod | undefined;
        try {
          existing = (await this.podsApi.listByNamePrefix(spec.name)).find((pod) => pod.name === spec.name);
        } catch {
          throw new SpawnOutcomeUnknownError(
            `Create of ${spec.name} failed (${error.message}) and RunPod could not be asked whether it exists`,
          );
        }
        if (existing) {
          this.logger.warn(
            `Create of ${spec.name} failed (${error.message}) but RunPod has it as ${existing.id}; attaching`,
          );
          return existing;
        }
        if (attempt >= MAX_CREATE_ATTEMPTS) throw error;
        this.logger.warn(
          `Create of ${spec.name} failed (${error.message}); RunPod has no such pod, trying again`,
        );
      }
    }
  }

  private async attach(row: PodEntity, created: RunPodPod, origin: PodOrigin): Promise<PodEntity> {
    const createdAt = created.createdAt?.getTime() ?? this.clock.now();
    const attachment: PodAttachment = {
      runpodId: created.id,
      url: this.podUrl(created.id),
      costPerHour: created.costPerHour,
      createdAt,
      gpuTypeId: created.gpuTypeId ?? row.gpuTypeId,
    };
    if (!(await this.transitions.markStarting(row.name, attachment))) {
      // A sweep attached it first, or the boot deadline closed the row while the create was in flight (that
      // termination looks the name up at RunPod; the sweeper ends a pod whose row has ended).
      this.logger.warn(`Pod ${row.name} was no longer requested when RunPod created it as ${created.id}`);
    }
    Object.assign(row, { ...attachment, state: 'starting', billedThrough: createdAt });
    const spawned: PodSpawnedEvent = {
      podId: created.id,
      name: row.name,
      gpuTypeId: row.gpuTypeId,
      costPerHour: row.costPerHour,
      origin,
    };
    this.events.emit(CloudEvents.PodSpawned, spawned);
    return row;
  }

  private async markReady(pod: PodEntity): Promise<void> {
    const now = this.clock.now();
    if (!(await this.transitions.markReady(pod.name, now))) return;
    Object.assign(pod, { state: 'ready', readyAt: now, lastBusyAt: now });
    this.logger.log(`Pod ${pod.runpodId} spawned and ready`);
    const ready: PodReadyEvent = { podId: pod.runpodId!, url: pod.url!, bootMs: now - pod.requestedAt };
    this.events.emit(CloudEvents.PodReady, ready);
    this.waiters.resolve(pod.name, pod);
  }

  /** RunPod no longer has the pod (terminated outside this service): settle its cost and close the row. */
  private async closeGone(pod: PodEntity, reason: string): Promise<void> {
    const cost = await this.ledger.settlePod(pod.name, this.clock.now());
    // Another writer (the boot deadline, a termination) already closed the row: it has said and emitted so.
    if (!(await this.transitions.markVanishedWhileBooting(pod.name, reason))) return;
    this.logger.warn(`Pod ${pod.runpodId} closed: ${reason}. Cost: $${cost.toFixed(4)}`);
    this.emitFailed(pod, reason, cost);
    this.waiters.reject(pod.name, new UnavailableError(`Pod ${pod.runpodId} failed: ${reason}`));
  }

  private async fail(row: PodEntity, reason: string): Promise<void> {
    await this.transitions.markFailedBeforeCreate(row.name, reason, this.clock.now());
    this.emitFailed(row, reason, 0);
  }

  private emitFailed(pod: PodEntity, reason: string, cost: number): void {
    const failed: PodFailedEvent = { podId: pod.runpodId, name: pod.name, reason, cost };
    this.events.emit(CloudEvents.PodFailed, failed);
  }
}
