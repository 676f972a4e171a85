import { decideScale } from '../cloud/policy/autoscale.policy';
import { mostRecentlyBusyFirst } from '../cloud/policy/breakeven.policy';
import { podsPastBootDeadline } from '../cloud/policy/boot.policy';
import {
  admits,
  budgetReached,
  newPodUsd,
  podJobUsd,
  serverlessJobUsd,
  type BudgetInputs,
} from '../cloud/policy/budget.policy';
import { decideReaping } from '../cloud/policy/reaper.policy';
import type { JobBackend } from '../persistence/entities/job.entity';
import { decideRoute, type FleetSnapshot } from '../routing/routing.policy';
import type { Decision, PodView, QueuedJobView, Route, SimPolicy, SimState } from './policy';

/** The dispatcher reads at most this many queued jobs per pass (dispatch-pass.ts PASS_SIZE). */
export const PASS_SIZE = 500;
const NO_WORKERS: string[] = [];

export interface SeedSettings {
  /** CLOUD_PREFER_SERVERLESS. */
  preferServerless: boolean;
  /** RUNPOD_SERVERLESS_ENDPOINT_ID set. */
  serverlessConfigured: boolean;
  /** RUNPOD_DOCKER_IMAGE set and CLOUD_MAX_PODS > 0. */
  podsConfigured: boolean;
  /** CLOUD_AUTOSCALE_THRESHOLD. */
  autoScaleThreshold: number;
  /** CLOUD_IDLE_TIMEOUT in ms. */
  idleTimeoutMs: number;
  /** CLOUD_BUDGET_JOB_ESTIMATE in ms. */
  budgetJobEstimateMs: number;
}

export const SEED_DEFAULTS: SeedSettings = {
  preferServerless: true,
  serverlessConfigured: true,
  podsConfigured: true,
  autoScaleThreshold: 5,
  idleTimeoutMs: 300_000,
  budgetJobEstimateMs: 300_000,
};

/**
 * The shipped decision code as a simulator policy. Each dispatch pass calls `decideRoute` (routing.policy.ts)
 * per queued job with the FleetSnapshot the service's dispatch pass (DispatchPass) builds, and publishes the
 * same demand counts; each tick runs the control loop's order: boot deadline (`podsPastBootDeadline`), then the
 * budget stop (`budgetReached`) or autoscale (`decideScale`), then two-step reaping (`decideReaping`, whose
 * marks this adapter keeps like the pods table does). Only glue lives here: which idle pod a job gets mirrors
 * PodLifecycleService.reserveIdlePod (most recently busy first), which is not a pure function in the service.
 */
export class SeedPolicy implements SimPolicy {
  private demand = { waitingForCloud: 0, waitingForPodOnly: 0 };
  /**
   * The last pass's jobs left waiting but not for the cloud, which the dispatcher does not publish as cloud
   * demand: those waiting for a busy local worker with their model loaded (`waitsForWarmWorker`), for a local
   * worker only (a plan to local, or the budget's stop: a `wait` not `forPod`), or refused by the budget.
   */
  protected notCloudDemand: ReadonlySet<number> = new Set();
  private readonly idleMarks = new Map<string, number>();

  constructor(
    readonly name: string,
    private readonly settings: SeedSettings = SEED_DEFAULTS,
  ) {}

  decide(state: SimState, now: number): Decision {
    return state.trigger === 'dispatch' ? this.dispatch(state) : this.tick(state, now);
  }

  /** Seam for policies that keep the seed's routing but scale differently. */
  protected idleTimeoutFor(_pod: PodView, _now: number): number {
    return this.settings.idleTimeoutMs;
  }

  /**
   * Seam: the pod's own idle timeout as the budget counts it (BudgetService); undefined: the settings' (the seed
   * rule reaps every pod at it).
   */
  protected ownIdleTimeoutMs(_pod: PodView): number | undefined {
    return undefined;
  }

  /**
   * Seam for the router measurement (router-policy.ts): the idle local workers a job may take, best first (the
   * dispatcher's BackendCapabilities.capableFirst). The seed: all of them, in order (the first free one).
   */
  protected localWorkersFor(_job: QueuedJobView, idle: string[], _state: SimState): string[] {
    return idle;
  }

  /**
   * Seam for the router measurement: whether the job, routed to the idle local worker `workerId`, waits instead
   * for a busy worker with its model loaded (the dispatcher's LocalHolds.warmWorkerFor). The seed: never.
   */
  protected waitsForWarmWorker(_job: QueuedJobView, _workerId: string, _state: SimState): boolean {
    return false;
  }

  /** Seam for the router measurement: the backend the job's plan chose (its deadline); null: the fixed order. */
  protected plannedBackendFor(_job: QueuedJobView, _state: SimState): JobBackend | null {
    return null;
  }

  protected get seedSettings(): SeedSettings {
    return this.settings;
  }

  protected dispatch(state: SimState): Decision {
    const { model } = state;
    const podsPossible = this.settings.podsConfigured && model.maxPods > 0;
    const serverlessAvailable = this.settings.serverlessConfigured;
    const budget = this.budgetInputs(state);
    const base: Omit<FleetSnapshot, 'idleLocalWorkers' | 'idlePods'> = {
      localWorkersExist: state.local.length > 0,
      podsPossible,
      serverlessAvailable,
      preferServerless: this.settings.preferServerless,
      cloudBlockedReason:
        (podsPossible || serverlessAvailable) && budget && budgetReached(budget)
          ? 'daily cloud budget reached'
          : null,
    };
    const freeLocal = new Set(state.local.filter((worker) => !worker.busy).map((worker) => worker.id));
    // reserveIdlePod: ready pods, most recently busy first.
    const idlePods = podsPossible
      ? mostRecentlyBusyFirst(state.pods.filter((pod) => pod.state === 'ready')).map((pod) => pod.name)
      : [];
    const route: Route[] = [];
    let admittedUsd = 0;
    let waitingForCloud = 0;
    let waitingForPodOnly = 0;
    // decideRoute is pure: within a pass, jobs with the same inputs get the same answer (a backlog of 500
    // jobs waiting for pods asks it twice, not 500 times).
    const memo = new Map<string, ReturnType<typeof decideRoute>>();
    const notCloudDemand = new Set<number>();
    for (const job of state.queue.slice(0, PASS_SIZE)) {
      const idleLocalWorkers =
        freeLocal.size === 0
          ? NO_WORKERS
          : this.localWorkersFor(
              job,
              [...freeLocal].filter((id) => !job.failedWorkers.includes(id)),
              state,
            );
      const plannedBackend = this.plannedBackendFor(job, state);
      const key =
        (idleLocalWorkers.length === 0 && idlePods.length === 0 && base.cloudBlockedReason === null
          ? job.podOnly
            ? 'pod-only'
            : 'any'
          : `${job.podOnly}|${idleLocalWorkers.join(',')}|${idlePods.length}|${base.cloudBlockedReason}`) +
        (plannedBackend === null ? '' : `|planned:${plannedBackend}`);
      let decision = memo.get(key);
      if (!decision) {
        decision = decideRoute(
          { requestedBackend: 'auto', podOnly: job.podOnly, plannedBackend },
          { ...base, idleLocalWorkers, idlePods: idlePods.length },
        );
        memo.set(key, decision);
      }
      switch (decision.kind) {
        case 'local':
          if (this.waitsForWarmWorker(job, decision.workerId, state)) {
            notCloudDemand.add(job.id);
            break;
          }
          freeLocal.delete(decision.workerId);
          route.push({ jobId: job.id, to: 'local', workerId: decision.workerId });
          break;
        case 'pod':
        case 'serverless': {
          if (budget) {
            const costUsd = decision.kind === 'pod' ? podJobUsd(budget) : serverlessJobUsd(budget);
            if (!admits(budget, admittedUsd, costUsd)) {
              base.cloudBlockedReason = 'daily cloud budget would be crossed';
              notCloudDemand.add(job.id);
              break;
            }
            admittedUsd += costUsd;
          }
          if (decision.kind === 'pod') route.push({ jobId: job.id, to: 'pod', pod: idlePods.shift()! });
          else route.push({ jobId: job.id, to: 'serverless' });
          break;
        }
        case 'wait':
          if (decision.forPod) waitingForCloud++;
          else notCloudDemand.add(job.id);
          if (decision.podOnly) waitingForPodOnly++;
          break;
        case 'reject':
          route.push({ jobId: job.id, to: 'reject', reason: decision.reason });
          break;
      }
    }
    this.demand = { waitingForCloud, waitingForPodOnly };
    this.notCloudDemand = notCloudDemand;
    return { spawn: 0, reap: [], route };
  }

  protected tick(state: SimState, now: number): Decision {
    const { model } = state;
    const reap: Decision['reap'] = [];
    const asShipped = [...state.pods];
    for (const name of podsPastBootDeadline(asShipped, now, model.bootTimeoutS * 1000)) {
      reap.push({ pod: name, reason: 'boot deadline' });
    }
    let spawn = 0;
    const budget = this.budgetInputs(state);
    if (budget && budgetReached(budget)) {
      // stopForBudget: pods that are not working go at once.
      for (const pod of state.pods) {
        if ((pod.state === 'starting' || pod.state === 'ready') && !reap.some((r) => r.pod === pod.name)) {
          reap.push({ pod: pod.name, reason: 'daily budget reached' });
        }
      }
    } else if (this.settings.podsConfigured) {
      const live = state.pods.filter((pod) => !reap.some((r) => r.pod === pod.name));
      spawn = this.podsToSpawn(state, live, now);
      if (budget && spawn > 0) {
        // PodLifecycleService.spawn admits each pod against the budget; the first refusal ends the round.
        let admitted = 0;
        const podUsd = newPodUsd(model.podPricePerHour, budget);
        while (admitted < spawn && admits(budget, admitted * podUsd, podUsd)) admitted++;
        spawn = admitted;
      }
    }
    reap.push(...this.reapIdle(state, now, reap));
    return { spawn, reap, route: [] };
  }

  /** Seam for policies that keep the seed's routing, budget and reaping but decide spawns differently. */
  protected podsToSpawn(state: SimState, live: readonly PodView[], _now: number): number {
    return decideScale(
      {
        ...this.demand,
        starting: live.filter((pod) => pod.state === 'starting').length,
        ready: live.filter((pod) => pod.state === 'ready').length,
        busy: live.filter((pod) => pod.state === 'busy').length,
      },
      { maxPods: state.model.maxPods, autoScaleThreshold: this.settings.autoScaleThreshold },
    ).spawn;
  }

  private reapIdle(state: SimState, now: number, alreadyReaped: Decision['reap']): Decision['reap'] {
    const reap: Decision['reap'] = [];
    const live = new Set(state.pods.map((pod) => pod.name));
    for (const name of this.idleMarks.keys()) if (!live.has(name)) this.idleMarks.delete(name);
    for (const pod of state.pods) {
      if (alreadyReaped.some((r) => r.pod === pod.name)) continue;
      // A pod that got work since its mark had the mark cleared by reserveIdlePod.
      const mark = this.idleMarks.get(pod.name);
      const idleMarkedAt =
        mark !== undefined && (pod.lastBusyAt ?? 0) <= mark && pod.state === 'ready' ? mark : null;
      const decision = decideReaping(
        [{ name: pod.name, state: pod.state, lastBusyAt: pod.lastBusyAt, idleMarkedAt }],
        now,
        this.idleTimeoutFor(pod, now),
      );
      if (decision.mark.length > 0) this.idleMarks.set(pod.name, now);
      if (decision.unmark.length > 0 || (mark !== undefined && idleMarkedAt === null))
        this.idleMarks.delete(pod.name);
      for (const { name, idleMs } of decision.terminate) {
        this.idleMarks.delete(name);
        reap.push({ pod: name, reason: `idle for ${Math.round(idleMs / 1000)}s` });
      }
    }
    return reap;
  }

  private budgetInputs(state: SimState): BudgetInputs | null {
    const { model } = state;
    if (model.dailyBudgetUsd <= 0) return null;
    return {
      limitUsd: model.dailyBudgetUsd,
      spentTodayUsd: state.spentTodayUsd,
      livePods: state.pods.map((pod) => ({
        state: pod.state,
        costPerHour: pod.costPerHour,
        requestedAt: pod.requestedAt,
        lastBusyAt: pod.lastBusyAt,
        idleTimeoutMs: this.ownIdleTimeoutMs(pod),
      })),
      serverlessInFlight: state.serverless.inFlight,
      serverlessPricePerSecond: model.serverlessPricePerSecond,
      tickIntervalMs: model.tickS * 1000,
      jobEstimateMs: this.settings.budgetJobEstimateMs,
      bootTimeoutMs: model.bootTimeoutS * 1000,
      idleTimeoutMs: this.settings.idleTimeoutMs,
      now: state.now,
    };
  }
}
