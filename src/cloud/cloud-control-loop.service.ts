import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Clock } from '../common/clock';
import { startLoop } from '../common/loop';
import { ShutdownState } from '../common/shutdown-state';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { LeaderElection } from '../persistence/leader-election.service';
import type { PodEntity } from '../persistence/entities/pod.entity';
import { PodTransitions } from '../persistence/pod-transitions';
import { PodsRepository } from '../persistence/pods.repository';
import { breakEvenQueue, CLOUD_DEMAND, type CloudDemandBoard } from './cloud-demand';
import { BudgetExceededError, BudgetService } from './budget.service';
import { CloudSettingsService } from './cloud-settings.service';
import { CostLedgerService } from './cost-ledger.service';
import { BreakEvenObservations } from './break-even-observations.service';
import type { MeasuredParameters } from './measured-parameters';
import { decideScale } from './policy/autoscale.policy';
import {
  decideBreakEvenScale,
  idlePodTimeoutsS,
  keptPodIdleTimeoutS,
  GAP_WINDOW_ARRIVAL_WINDOWS,
  type BreakEvenDecision,
} from './policy/breakeven.policy';
import { decideLifetime, decideReaping } from './policy/reaper.policy';
import { PodLifecycleService } from './pod-lifecycle.service';
import { type ScalingDecision, ScalingDecisionLog } from './scaling-decisions';

const INTERVAL_NAME = 'cloud-control-loop';

/**
 * The cloud's reconcile loop. Each tick: advance booting pods, enforce the boot deadline, retry stuck
 * terminations, accrue cost, autoscale, reap idle pods. Decisions come from the pure policies in
 * `policy/`; this class gathers their inputs and applies their outputs. The interval only calls `tick()`.
 */
@Injectable()
export class CloudControlLoop
  implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly logger = new Logger('CloudControlLoop');
  private ticking: Promise<void> | null = null;
  private stopped = false;
  /** Break-even: when this instance's loop first scaled (the forecast's window grows from here). */
  private leadingSince: number | null = null;
  /** Break-even: pods the latest scaling decision keeps (the others are released); null when it did not run. */
  private podsWorthKeeping: number | null = null;
  /** Break-even: the latest decision's `gapTimeoutsS` (a kept pod waits the longer of its rank's and τ*). */
  private gapTimeoutsS: Array<number | null> = [];
  private priceUnknownWarned = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOUD_DEMAND) private readonly demand: CloudDemandBoard,
    private readonly lifecycle: PodLifecycleService,
    private readonly ledger: CostLedgerService,
    private readonly pods: PodsRepository,
    private readonly transitions: PodTransitions,
    private readonly settings: CloudSettingsService,
    private readonly budget: BudgetService,
    private readonly leader: LeaderElection,
    private readonly shutdown: ShutdownState,
    private readonly clock: Clock,
    private readonly scheduler: SchedulerRegistry,
    private readonly observations: BreakEvenObservations,
    private readonly decisions: ScalingDecisionLog,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.lifecycle.isAvailable()) {
      this.logger.warn('RUNPOD_API_KEY is not set: cloud workers are off; local work goes on');
      return;
    }
    const ignored = this.config.cloud.seedSettingsSet;
    if (this.config.cloud.policy === 'breakeven' && ignored.length > 0) {
      this.logger.warn(
        `${ignored.join(' and ')} ${ignored.length > 1 ? 'are' : 'is'} set but CLOUD_POLICY=breakeven does not ` +
          `reap or spawn by ${ignored.length > 1 ? 'them' : 'it'} (it measures its own idle timeout and spawns ` +
          'by break-even); set CLOUD_POLICY=seed to keep the seed rule',
      );
    }
    startLoop(
      this.scheduler,
      INTERVAL_NAME,
      this.config.cloud.tickIntervalMs,
      () => this.tick(),
      this.logger,
    );
  }

  /** Stops the loop and waits for a tick in progress, so shutdown does not race a spawn. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
    await this.ticking;
  }

  /**
   * On SIGTERM/SIGINT: stop the loop first (no spawn may start behind our back), then terminate our pods
   * unless CLOUD_TERMINATE_ON_SHUTDOWN=false. A plain `app.close()` (no signal) leaves pods running.
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    await this.stop();
    if (!signal || !this.lifecycle.isAvailable()) return;
    // Jobs first: a pod is not terminated under a job that may still finish in the grace period.
    await this.shutdown.whenJobsDrained(this.config.jobs.shutdownGraceMs + 5000);
    if (!this.config.cloud.terminateOnShutdown) {
      this.logger.warn(`${signal}: leaving pods running (CLOUD_TERMINATE_ON_SHUTDOWN=false)`);
      return;
    }
    this.logger.log(`${signal}: terminating our pods before exit`);
    const { terminated, failed } = await this.lifecycle.shutdownAll(`service shutdown (${signal})`);
    this.logger.log(`Shutdown: ${terminated.length} pod(s) terminated, ${failed.length} failed`);
    for (const failure of failed)
      this.logger.error(`Pod ${failure.id} could not be terminated: ${failure.error}`);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  /** One reconcile pass. Overlapping calls share the pass in progress instead of running twice. */
  tick(): Promise<void> {
    // Only the leader (PostgreSQL advisory lock; always, with SQLite) runs the loop.
    if (this.stopped || !this.lifecycle.isAvailable()) return Promise.resolve();
    if (!this.leader.isLeader()) {
      // The forecast's window restarts when this instance leads again: it saw no arrivals meanwhile.
      this.leadingSince = null;
      return Promise.resolve();
    }
    this.ticking ??= this.runTick().finally(() => (this.ticking = null));
    return this.ticking;
  }

  private async runTick(): Promise<void> {
    await this.step('refresh booting pods', () => this.lifecycle.refreshBooting());
    await this.step('boot deadline', () => this.lifecycle.enforceBootDeadline());
    await this.step('retry terminations', () => this.lifecycle.retryTerminating());
    await this.step('accrue cost', async () =>
      this.ledger.accrueAll(
        (await this.pods.findLive()).filter((pod) => pod.runpodId !== null).map((pod) => pod.name),
        this.clock.now(),
      ),
    );
    // The break-even policy's parameters, measured once per tick for the autoscaler and the reaper.
    let parameters: MeasuredParameters | null = null;
    this.podsWorthKeeping = null;
    this.gapTimeoutsS = [];
    if (this.config.cloud.policy === 'breakeven') {
      await this.step('measure policy parameters', async () => {
        parameters = await this.observations.parameters();
        this.decisions.setParameters(parameters);
      });
    }
    const overBudget = await this.budget.checkReached().catch(() => false);
    if (overBudget) await this.step('budget', () => this.stopForBudget());
    else await this.step('autoscale', () => this.autoscale(parameters));
    await this.step('reap idle pods', () => this.reapIdle(parameters));
    await this.step('pod lifetime', () => this.enforceLifetime());
  }

  /** Each step fails alone: a RunPod outage while scaling must not stop the reaper. */
  private async step(name: string, work: () => Promise<unknown>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.logger.error(`Tick step "${name}" failed: ${(error as Error).message}`);
    }
  }

  /**
   * Spawns what the scaling policy asks for: CLOUD_POLICY=seed, the seed's queue-length rule; otherwise the
   * break-even policy with the parameters measured this tick (without them, e.g. the database failed, nothing is
   * spawned this tick). Each decision that acts is recorded with its reason for GET /api/cloud/status.
   */
  async autoscale(parameters: MeasuredParameters | null): Promise<void> {
    if (this.config.cloud.policy === 'seed') await this.autoscaleBySeedRule();
    else if (parameters && parameters.podPricePerS > 0) await this.autoscaleByBreakEven(parameters);
    else if (parameters) {
      // No pod price (RunPod's catalogue unreachable, no earlier pod of this GPU type): break-even cannot weigh
      // pods against serverless, and a price of 0 would make every pod look free. The seed rule decides meanwhile.
      if (!this.priceUnknownWarned)
        this.logger.warn(
          `No price known for ${this.settings.get().gpuTypeId}: the seed rule scales until RunPod quotes one`,
        );
      this.priceUnknownWarned = true;
      await this.autoscaleBySeedRule();
      return;
    }
    this.priceUnknownWarned = false;
  }

  private async autoscaleBySeedRule(): Promise<void> {
    const settings = this.settings.get();
    const live = await this.pods.findLive();
    await this.demand.settled(); // counts no older than the pods just read (see passBegins)
    const counts = this.demand.current();
    const decision = decideScale(
      {
        ...counts,
        starting: live.filter((pod) => pod.state === 'requested' || pod.state === 'starting').length,
        ready: live.filter((pod) => pod.state === 'ready').length,
        busy: live.filter((pod) => pod.state === 'busy').length,
      },
      settings,
    );
    const now = this.clock.now();
    if (decision.spawn === 0) {
      if (decision.cappedByMaxPods) {
        this.logger.debug(
          `Queue wants ${decision.wanted} pod(s) but CLOUD_MAX_PODS (${settings.maxPods}) is reached`,
        );
        this.decisions.record({
          at: now,
          policy: 'seed',
          action: 'hold',
          pods: 0,
          reason: 'max-pods',
          message: `queue of ${counts.waitingForCloud} wants ${decision.wanted} pod(s); CLOUD_MAX_PODS (${settings.maxPods}) reached`,
        });
      }
      return;
    }
    if (!this.lifecycle.canSpawnPods()) return;
    this.logger.log(
      `Auto-scaling: Queue length ${counts.waitingForCloud}, spawning ${decision.spawn} pod(s)`,
    );
    this.decisions.record({
      at: now,
      policy: 'seed',
      action: 'spawn',
      pods: decision.spawn,
      reason: decision.reason,
      message:
        decision.reason === 'pod-only-job'
          ? 'a job only a pod can run waits and no pod is starting or ready'
          : `queue length ${counts.waitingForCloud} > CLOUD_AUTOSCALE_THRESHOLD (${settings.autoScaleThreshold})`,
    });
    await this.spawnPods(decision.spawn);
  }

  private async autoscaleByBreakEven(parameters: MeasuredParameters): Promise<void> {
    const settings = this.settings.get();
    const now = this.clock.now();
    const everyLive = await this.pods.findLive();
    const live = everyLive.filter((pod) => pod.state !== 'terminating');
    // A terminating pod still counts against CLOUD_MAX_PODS (the spawn's write-ahead counts it) until it is gone.
    const terminating = everyLive.length - live.length;
    await this.demand.settled(); // counts no older than the pods just read (see passBegins)
    const counts = this.demand.current();
    // Serverless absorbs overflow only when the operator lets jobs go there (CLOUD_PREFER_SERVERLESS).
    const serverlessAvailable = Boolean(this.config.runpod.serverlessEndpointId) && settings.preferServerless;
    const policy = this.config.cloud.breakEven;
    // The forecast replays the cloud arrivals of the last window, and kept pods' idle timeouts are learned from a
    // few windows; until this instance has led that long, the windows are what it has seen (never shorter than a
    // horizon).
    this.leadingSince ??= now;
    const ledS = Math.max(parameters.horizonS, (now - this.leadingSince) / 1000);
    const windowS = Math.min(policy.arrivalWindowS, ledS);
    const gapWindowS = Math.min(GAP_WINDOW_ARRIVAL_WINDOWS * policy.arrivalWindowS, ledS);
    const since = now - gapWindowS * 1000;
    const recentArrivals = [...this.demand.cloudArrivalsSince(since), ...counts.queuedJobs].map(
      ({ arrivedAt, jobClass }) => ({ agoS: Math.max(0, now - arrivedAt) / 1000, jobClass }),
    );
    const decision = decideBreakEvenScale({
      podPricePerS: parameters.podPricePerS,
      serverlessPricePerS: parameters.serverlessPricePerS,
      serverlessAvailable,
      serverlessConcurrency: parameters.serverlessMaxWorkers,
      serverlessOverheadPerJobS: parameters.serverlessOverheadPerJobS,
      bootS: parameters.bootS,
      horizonS: parameters.horizonS,
      observedDurationS: parameters.byClass,
      defaultDurationS: parameters.meanJobS,
      queue: breakEvenQueue(counts),
      localSlots: counts.localSlots,
      recentArrivals,
      arrivalWindowS: windowS,
      gapWindowS,
      podWaitTargetS: policy.podWaitTargetS,
      podWaitPerRun: policy.podWaitPerRun,
      spawnEvidenceZ: policy.spawnEvidenceZ,
      pods: live.map((pod) => ({
        state: pod.state === 'ready' || pod.state === 'busy' ? pod.state : 'starting',
      })),
      maxPods: Math.max(0, settings.maxPods - terminating),
    });
    this.podsWorthKeeping = decision.podsWorthKeeping;
    this.gapTimeoutsS = decision.gapTimeoutsS;
    this.decisions.noteKeptIdleTimeouts(
      Array.from({ length: decision.podsWorthKeeping }, (_, rank) =>
        keptPodIdleTimeoutS(parameters.idleTimeoutS, decision.gapTimeoutsS[rank]),
      ),
    );
    const message = breakEvenMessage(decision, counts.waitingForCloud, serverlessAvailable);
    const evaluation: ScalingDecision = {
      at: now,
      policy: 'breakeven',
      action: decision.spawn > 0 ? 'spawn' : 'hold',
      pods: decision.spawn,
      reason: decision.spawn > 0 ? decision.reason : decision.cappedByMaxPods ? 'max-pods' : 'none',
      message,
    };
    this.decisions.noteEvaluation(evaluation);
    if (decision.spawn === 0) {
      if (decision.cappedByMaxPods) {
        this.logger.debug(`Break-even wants more pods but CLOUD_MAX_PODS (${settings.maxPods}) is reached`);
        this.decisions.record(evaluation);
      }
      return;
    }
    if (!this.lifecycle.canSpawnPods()) return;
    this.logger.log(`Auto-scaling (break-even): ${message}; spawning ${decision.spawn} pod(s)`);
    this.decisions.record(evaluation);
    await this.spawnPods(decision.spawn);
  }

  private async spawnPods(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      try {
        await this.lifecycle.spawn({ origin: 'autoscale' });
      } catch (error) {
        // Each spawn is admitted against the budget on its own (counting the ones just requested): the
        // first refusal ends the round.
        if (error instanceof BudgetExceededError) this.logger.warn(`Auto-scaling stopped: ${error.message}`);
        else this.logger.error(`Auto-scaling spawn failed: ${(error as Error).message}`);
        break;
      }
    }
  }

  /**
   * Today's spend reached CLOUD_DAILY_BUDGET_USD: pods that are not working are terminated at once; busy pods
   * finish their job (the dispatcher gives them no new one) and go on the next tick.
   */
  async stopForBudget(): Promise<void> {
    // `requested` rows are left alone: their create may be in flight; once attached they are `starting`.
    for (const pod of await this.pods.findInStates(['starting', 'ready'])) {
      if (!(await this.transitions.claimForBudget(pod.name, pod.state as 'starting' | 'ready'))) continue;
      await this.lifecycle
        .terminate(pod.name, 'daily budget reached', 'terminated')
        .catch((error: Error) =>
          this.logger.error(
            `Could not terminate ${pod.runpodId ?? pod.name} at the budget limit: ${error.message} (will retry)`,
          ),
        );
    }
  }

  /**
   * CLOUD_MAX_POD_LIFETIME: a ready pod past it is claimed (compare-and-set ready -> terminating, so a
   * router reserving it at the same moment wins or loses cleanly) and terminated; a busy one is marked
   * draining (the router skips it) and goes on the first tick after its job ends.
   */
  async enforceLifetime(): Promise<void> {
    const maxLifetimeMs = this.config.cloud.maxPodLifetimeMs;
    if (maxLifetimeMs === undefined) return;
    const now = this.clock.now();
    const pods = await this.pods.findInStates(['ready', 'busy']);
    const decision = decideLifetime(pods, now, maxLifetimeMs);
    const lifetime = `${Math.round(maxLifetimeMs / 1000)}s`;
    for (const name of decision.drain) {
      if (await this.transitions.markDraining(name, now)) {
        this.logger.log(
          `Pod ${name} is older than CLOUD_MAX_POD_LIFETIME (${lifetime}); draining after its job`,
        );
      }
    }
    for (const name of decision.terminate) {
      const pod = pods.find((candidate) => candidate.name === name)!;
      if (!(await this.transitions.claimExpired(name))) continue;
      this.logger.log(
        `Pod ${pod.runpodId} is older than CLOUD_MAX_POD_LIFETIME (${lifetime}), terminating...`,
      );
      await this.lifecycle
        .terminate(name, `reached CLOUD_MAX_POD_LIFETIME (${lifetime})`, 'terminated')
        .catch((error: Error) =>
          this.logger.error(
            `Could not terminate pod ${pod.runpodId} at its lifetime: ${error.message} (will retry)`,
          ),
        );
    }
  }

  /**
   * Two-step idle reaping. The timeout is CLOUD_IDLE_TIMEOUT under the seed's rule and the measured ski-rental
   * break-even τ* under the break-even policy (CLOUD_IDLE_TIMEOUT when it could not be measured this tick).
   */
  async reapIdle(parameters: MeasuredParameters | null = null): Promise<void> {
    const now = this.clock.now();
    const candidates = await this.pods.findInStates(['ready', 'busy']);
    const breakEven = this.config.cloud.policy === 'breakeven' && parameters !== null;
    const idleTimeoutMs = breakEven
      ? Math.round(parameters.idleTimeoutS * 1000)
      : this.settings.get().idleTimeoutMs;
    // Break-even: the pods the scaling decision keeps wait τ*; the others go after CLOUD_IDLE_RELEASE_SECONDS.
    // Without a decision this tick (over budget, or it failed), every pod waits τ*.
    const perPodMs =
      breakEven && this.podsWorthKeeping !== null
        ? this.releaseTimeoutsMs(
            candidates,
            this.podsWorthKeeping,
            parameters.idleTimeoutS,
            this.gapTimeoutsS,
          )
        : undefined;
    const timeoutOfMs = new Map(
      candidates.map((pod) => [pod.name, Math.round(perPodMs?.[pod.name] ?? idleTimeoutMs)]),
    );
    // Stored where it changed: every instance's budget admission and pod list read it.
    for (const pod of candidates) {
      const timeoutMs = timeoutOfMs.get(pod.name)!;
      if (pod.idleTimeoutMs !== timeoutMs) await this.transitions.setIdleTimeout(pod.name, timeoutMs);
    }
    const decision = decideReaping(candidates, now, idleTimeoutMs, perPodMs);
    for (const name of decision.mark) await this.transitions.markIdle(name, now);
    for (const name of decision.unmark) await this.transitions.clearIdleMark(name);
    for (const { name, idleMs } of decision.terminate) {
      const pod = candidates.find((candidate) => candidate.name === name)!;
      // The re-check: only a pod still ready and still carrying the same mark is taken. A router that
      // reserved it since the mark cleared the mark, so this compare-and-set fails and the pod lives.
      const claimed = await this.transitions.claimIdle(name, pod.idleMarkedAt!);
      if (!claimed) continue;
      this.logger.log(`Pod ${pod.runpodId} idle for ${Math.round(idleMs / 1000)}s, terminating...`);
      this.decisions.record({
        at: now,
        policy: this.config.cloud.policy,
        action: 'terminate',
        pods: 1,
        reason: 'idle-timeout',
        message: `pod ${pod.runpodId} idle ${Math.round(idleMs / 1000)}s${
          breakEven ? this.reapedBecause(timeoutOfMs.get(name)!, idleTimeoutMs) : ' ≥ CLOUD_IDLE_TIMEOUT'
        }`,
      });
      await this.lifecycle
        .terminate(name, `idle for ${Math.round(idleMs / 1000)}s`, 'terminated')
        .catch((error: Error) =>
          this.logger.error(`Could not terminate idle pod ${pod.runpodId}: ${error.message} (will retry)`),
        );
    }
  }

  /** Why the break-even reaper took an idle pod whose timeout was `timeoutMs` (τ* is `idleTimeoutMs`). */
  private reapedBecause(timeoutMs: number, idleTimeoutMs: number): string {
    if (timeoutMs < idleTimeoutMs)
      return `: the forecast keeps ${this.podsWorthKeeping} pod(s) busy enough, not this one`;
    if (timeoutMs > idleTimeoutMs)
      return ` ≥ ${Math.round(timeoutMs / 1000)}s, the idle timeout its last two hours of jobs call for`;
    return ` ≥ break-even τ* ${Math.round(idleTimeoutMs / 1000)}s`;
  }

  /**
   * Each pod's idle timeout (ms) from the shipped `idlePodTimeoutsS`: kept pods τ* or their rank's longer gap
   * timeout, the others the release delay; pods spawned by hand τ*.
   */
  private releaseTimeoutsMs(
    pods: readonly PodEntity[],
    podsWorthKeeping: number,
    idleTimeoutS: number,
    gapTimeoutsS: ReadonlyArray<number | null>,
  ): Record<string, number> {
    const timeoutsS = idlePodTimeoutsS(
      pods.map((pod) => ({
        name: pod.name,
        state: pod.state === 'ready' || pod.state === 'busy' ? pod.state : 'starting',
        lastBusyAt: pod.lastBusyAt,
      })),
      podsWorthKeeping,
      idleTimeoutS,
      this.config.cloud.breakEven.idleReleaseS,
      gapTimeoutsS,
    );
    // A pod an operator spawned by hand was wanted by a person: it gets τ* like a kept one, never the release.
    for (const pod of pods) if (pod.origin === 'manual') timeoutsS[pod.name] = idleTimeoutS;
    return Object.fromEntries(Object.entries(timeoutsS).map(([name, s]) => [name, Math.round(s * 1000)]));
  }
}

/** The numbers behind a break-even decision, for the log and the status. */
function breakEvenMessage(decision: BreakEvenDecision, queued: number, serverlessAvailable: boolean): string {
  const work = `forecast ${Math.round(decision.excessWorkS)}s of work beyond live pods (queue ${queued})`;
  if (decision.reason === 'pod-only-job')
    return `a job only a pod can run waits and no pod is starting or ready`;
  if (decision.reason === 'held-for-new-pod')
    return `jobs wait for a pod the next pass starts (cheaper than serverless)`;
  if (!serverlessAvailable) return `${work}; no serverless overflow, so pods take it`;
  const busy = decision.firstPodBusyFraction.toFixed(2);
  const uStar = decision.breakEvenUtilisation.toFixed(2);
  return decision.firstPodBusyFraction > decision.breakEvenUtilisation
    ? `${work}: a new pod would be ${busy} busy > u* ${uStar}`
    : `${work}: below break-even u* ${uStar}; serverless is cheaper`;
}
