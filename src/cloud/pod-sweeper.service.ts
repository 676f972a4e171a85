import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Clock } from '../common/clock';
import { startLoop } from '../common/loop';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { LeaderElection } from '../persistence/leader-election.service';
import { newPodRow } from '../persistence/pod-row';
import { PodTransitions } from '../persistence/pod-transitions';
import { PodsRepository } from '../persistence/pods.repository';
import { PODS_API, type PodsApi, type RunPodPod } from '../runpod/pods-api';
import {
  CloudEvents,
  type OrphanFoundEvent,
  type PodFailedEvent,
  type PodSpawnedEvent,
} from './cloud.events';
import { PodLifecycleService } from './pod-lifecycle.service';
import { costSinceCreation, decideSweep, type RemotePod } from './policy/sweep.policy';

const INTERVAL_NAME = 'cloud-pod-sweeper';

/** What one sweep found and did (names are ours; orphans and strays by RunPod id). */
export interface SweepReport {
  orphansTerminated: string[];
  orphansAdopted: string[];
  straysTerminated: string[];
  attached: string[];
  neverCreated: string[];
  closedGone: string[];
}

function emptyReport(): SweepReport {
  return {
    orphansTerminated: [],
    orphansAdopted: [],
    straysTerminated: [],
    attached: [],
    neverCreated: [],
    closedGone: [],
  };
}

/**
 * The drift sweeper (Karpenter's garbage collection), apart from the control loop: lists what RunPod has
 * under our name prefix, diffs it with our rows (pure `policy/sweep.policy.ts`) and fixes both sides:
 * orphans are terminated or adopted, write-ahead rows are attached or failed, rows whose pod vanished are
 * closed with their cost settled. Every row change is a compare-and-set, so a sweep never fights a
 * concurrent spawn or termination. Runs once at startup and every CLOUD_SWEEP_INTERVAL.
 */
@Injectable()
export class PodSweeper implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private readonly logger = new Logger('CloudSweeper');
  private running: Promise<SweepReport> | null = null;
  private queued: Promise<SweepReport> | null = null;
  private stopped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PODS_API) private readonly podsApi: PodsApi,
    private readonly pods: PodsRepository,
    private readonly transitions: PodTransitions,
    private readonly lifecycle: PodLifecycleService,
    private readonly clock: Clock,
    private readonly scheduler: SchedulerRegistry,
    private readonly events: EventEmitter2,
    private readonly leader: LeaderElection,
  ) {}

  onApplicationBootstrap(): void {
    if (!this.lifecycle.isAvailable()) return;
    startLoop(
      this.scheduler,
      INTERVAL_NAME,
      this.config.cloud.sweepIntervalMs,
      () => this.sweep(),
      this.logger,
    );
    // Not awaited: a slow or unreachable RunPod must not hold up boot. sweep() never rejects.
    void this.sweep();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.stop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
    await this.settled();
  }

  /** Resolves when no sweep is running or queued (e.g. the startup sweep has finished). */
  async settled(): Promise<void> {
    await this.queued;
    await this.running;
  }

  /**
   * One sweep whose listing is taken after this call. If a sweep is already running (it may have listed
   * before the caller's change), one more runs after it; concurrent callers share that one. Never rejects.
   */
  sweep(): Promise<SweepReport> {
    if (this.stopped || !this.lifecycle.isAvailable() || !this.leader.isLeader())
      return Promise.resolve(emptyReport());
    if (!this.running) {
      this.running = this.runSweep().finally(() => (this.running = null));
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = null;
      return this.sweep();
    });
    return this.queued;
  }

  private async runSweep(): Promise<SweepReport> {
    const report = emptyReport();
    const listedAt = this.clock.now();
    let listing: RunPodPod[];
    try {
      listing = await this.podsApi.listByNamePrefix(`${this.config.cloud.podNamePrefix}-`);
    } catch (error) {
      // Never treat a failed listing as "RunPod has nothing": that would close every row.
      this.logger.warn(`Sweep skipped: could not list pods at RunPod: ${(error as Error).message}`);
      return report;
    }
    try {
      // Rows are read after the listing, so a pod created since has its write-ahead row here.
      const live = await this.pods.findLive();
      const liveNames = new Set(live.map((row) => row.name));
      const ended = await this.pods.findByNames(
        listing.map((pod) => pod.name).filter((name) => !liveNames.has(name)),
      );
      const remote = listing.map(toRemote);
      const now = this.clock.now();
      const decision = decideSweep(
        remote,
        [...live, ...ended],
        listedAt,
        now,
        this.config.cloud.orphanPolicy,
      );
      const byId = new Map(listing.map((pod) => [pod.id, pod]));

      for (const { pod, action } of decision.orphans) {
        const found: OrphanFoundEvent = { podId: pod.id, name: pod.name, action };
        this.events.emit(CloudEvents.OrphanFound, found);
        await this.step(`orphan ${pod.id}`, async () => {
          if (action === 'adopt') {
            await this.adopt(byId.get(pod.id)!, now);
            report.orphansAdopted.push(pod.id);
          } else {
            await this.terminateOrphan(pod, now);
            report.orphansTerminated.push(pod.id);
          }
        });
      }
      for (const { pod, name } of decision.strays) {
        await this.step(`stray ${pod.id}`, async () => {
          this.logger.error(
            `Pod ${pod.id} (${name}) is still running at RunPod although our record says it ended; ` +
              `terminating it (${describeCost(pod, now)})`,
          );
          await this.podsApi.terminate(pod.id);
          report.straysTerminated.push(pod.id);
        });
      }
      for (const { name, pod } of decision.attach) {
        await this.step(`attach ${name}`, async () => {
          if (await this.attach(name, byId.get(pod.id)!, now)) report.attached.push(name);
        });
      }
      for (const name of decision.neverCreated) {
        await this.step(`fail ${name}`, async () => {
          if (await this.failNeverCreated(name, now)) report.neverCreated.push(name);
        });
      }
      for (const name of decision.gone) {
        await this.step(`close ${name}`, async () => {
          if (await this.closeGone(name)) report.closedGone.push(name);
        });
      }
    } catch (error) {
      this.logger.error(`Sweep failed: ${(error as Error).message}`);
    }
    return report;
  }

  /** Each fix fails alone: one pod RunPod will not terminate must not stop the rest of the sweep. */
  private async step(what: string, work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      this.logger.error(`Sweep could not fix ${what}: ${(error as Error).message} (next sweep retries)`);
    }
  }

  private async terminateOrphan(pod: RemotePod, now: number): Promise<void> {
    this.logger.error(
      `Orphan pod ${pod.id} (${pod.name}) runs at RunPod with no record here: ${describeCost(pod, now)}; ` +
        'terminating it (CLOUD_ORPHAN_POLICY=terminate)',
    );
    await this.podsApi.terminate(pod.id);
    this.logger.warn(`Orphan pod ${pod.id} terminated`);
  }

  /** Takes the orphan over: a `starting` row, so readiness, idle reaping and billing from its creation apply. */
  private async adopt(pod: RunPodPod, now: number): Promise<void> {
    const createdAt = pod.createdAt?.getTime() ?? now;
    const row = newPodRow({
      name: pod.name,
      runpodId: pod.id,
      state: 'starting',
      origin: 'adopted',
      gpuTypeId: pod.gpuTypeId ?? 'unknown',
      costPerHour: pod.costPerHour,
      url: this.lifecycle.podUrl(pod.id),
      // The row is written now: the boot deadline counts from adoption, billing from RunPod's creation.
      requestedAt: now,
      createdAt,
      billedThrough: createdAt,
    });
    this.logger.error(
      `Orphan pod ${pod.id} (${pod.name}) runs at RunPod with no record here: ` +
        `${describeCost(toRemote(pod), now)}; adopting it (CLOUD_ORPHAN_POLICY=adopt), billed from its creation`,
    );
    await this.transitions.create(row);
    const spawned: PodSpawnedEvent = {
      podId: pod.id,
      name: pod.name,
      gpuTypeId: row.gpuTypeId,
      costPerHour: row.costPerHour,
      origin: 'adopted',
    };
    this.events.emit(CloudEvents.PodSpawned, spawned);
  }

  /** A write-ahead row whose create did reach RunPod: fill in what RunPod has, as spawn would have. */
  private async attach(name: string, pod: RunPodPod, now: number): Promise<boolean> {
    const createdAt = pod.createdAt?.getTime() ?? now;
    const attached = await this.transitions.markStarting(name, {
      runpodId: pod.id,
      url: this.lifecycle.podUrl(pod.id),
      costPerHour: pod.costPerHour,
      createdAt,
      ...(pod.gpuTypeId ? { gpuTypeId: pod.gpuTypeId } : {}),
    });
    if (attached) {
      this.logger.warn(`Pod ${name} had no RunPod id, but RunPod has it as ${pod.id}; attached`);
    }
    return attached;
  }

  private async failNeverCreated(name: string, now: number): Promise<boolean> {
    const reason = 'never created at RunPod';
    const failed = await this.transitions.markFailedBeforeCreate(name, reason, now);
    if (failed) {
      this.logger.warn(`Pod ${name} was requested but RunPod has no such pod; marked failed (${reason})`);
      const event: PodFailedEvent = { podId: null, name, reason, cost: 0 };
      this.events.emit(CloudEvents.PodFailed, event);
    }
    return failed;
  }

  /**
   * RunPod's listing no longer has the pod. Asked once more by id (a listing can lag), then the row is
   * claimed (compare-and-set to `terminating`) and closed through the normal termination, which is
   * idempotent at RunPod and settles the cost up to now. A job on a busy pod fails and is retried by routing.
   */
  private async closeGone(name: string): Promise<boolean> {
    const row = await this.pods.findByName(name);
    if (!row?.runpodId) return false;
    const remote = await this.podsApi.get(row.runpodId);
    if (remote && remote.status !== 'TERMINATED') return false;
    const claimed = await this.transitions.claimGone(name);
    if (!claimed) return false;
    this.logger.warn(
      `Pod ${row.runpodId} (${name}, ${row.state}) was terminated outside this service; closing it`,
    );
    await this.lifecycle.terminate(name, 'terminated outside this service', 'terminated');
    return true;
  }
}

function toRemote(pod: RunPodPod): RemotePod {
  return {
    id: pod.id,
    name: pod.name,
    alive: pod.status !== 'TERMINATED',
    createdAt: pod.createdAt?.getTime() ?? null,
    costPerHour: pod.costPerHour,
  };
}

function describeCost(pod: RemotePod, now: number): string {
  const since =
    pod.createdAt === null
      ? 'creation time unknown'
      : `$${costSinceCreation(pod, now).toFixed(4)} since ${new Date(pod.createdAt).toISOString()}`;
  return `$${pod.costPerHour.toFixed(4)}/h, ${since}`;
}
