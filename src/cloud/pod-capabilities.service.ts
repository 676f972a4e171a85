import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnModuleDestroy,
} from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { ComfyUiClientFactory } from '../comfyui/comfyui-client.factory';
import { Clock } from '../common/clock';
import { type Loop, startLoop } from '../common/loop';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { PodState } from '../persistence/entities/pod.entity';
import { LeaderElection, LeaderEvents } from '../persistence/leader-election.service';
import { PodsRepository } from '../persistence/pods.repository';
import { fetchCapabilities, type WorkerCapabilities } from '../workflows';
import {
  CloudEvents,
  type PodFailedEvent,
  type PodReadyEvent,
  type PodTerminatedEvent,
} from './cloud.events';

/** Emitted once a pod's capabilities have been read (first time or again): jobs waiting for a capable worker may fit. */
export const POD_CAPABILITIES_READ = 'podCapabilitiesRead';

export interface PodCapabilitiesReadEvent {
  /** RunPod pod id. */
  podId: string;
}

/** Bound on one read (object_info + every model folder), as for local workers. */
const CAPABILITIES_TIMEOUT_MS = 10_000;
/** A pod whose read failed before anything was known about it is tried again this soon (if the interval is longer). */
const UNKNOWN_RETRY_MS = 30_000;
const INTERVAL_NAME = 'pod-capabilities';
/** The pods that can take jobs: the ones whose capabilities routing looks at. */
const ROUTABLE_STATES: readonly PodState[] = ['ready', 'busy'];

/**
 * What each ready pod can run (node classes and model files, `fetchCapabilities` through the pod's URL), in memory
 * on the leader, keyed by RunPod pod id. Read when a pod becomes ready, and by a leader-only pass (every
 * min(CLOUD_POD_CAPABILITIES_INTERVAL, CLOUD_TICK_INTERVAL), and at once when this instance becomes the leader) over
 * the pods in state ready or busy: a pod never read (ready before a restart or a leader failover: PodReady is not
 * emitted again for it) or last read CLOUD_POD_CAPABILITIES_INTERVAL ago (a network volume can gain models while a
 * pod runs) is read again; a pod no longer ready or busy is forgotten.
 *
 * For routing: `get(podId)` is the pod's `WorkerCapabilities` (use with `missingFor`), undefined while unread or
 * when every read failed (treat as unknown = allowed, as local workers are treated); `isReading(podId)` is true
 * only during a pod's first read (a re-read keeps serving what was known); `whenRead(podId)` waits for the read in
 * progress; `POD_CAPABILITIES_READ` is emitted after each successful read.
 */
@Injectable()
export class PodCapabilitiesService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('CloudPods');
  private readonly known = new Map<string, WorkerCapabilities>();
  private readonly urls = new Map<string, string>();
  private readonly reading = new Map<string, Promise<void>>();
  /** When the last read of each pod started (clock time): the pass reads a pod again an interval after. */
  private readonly attemptedAt = new Map<string, number>();
  /** The sequence number of each pod's last read start (see `readsStarted`). */
  private readonly startedSeq = new Map<string, number>();
  /** Reads started so far: a pass forgets only pods whose last read started before it listed the pods. */
  private readsStarted = 0;
  private pass: Promise<number> | null = null;
  private loop?: Loop;
  private stopped = false;

  constructor(
    private readonly clients: ComfyUiClientFactory,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly pods: PodsRepository,
    private readonly leader: LeaderElection,
    private readonly scheduler: SchedulerRegistry,
  ) {}

  onApplicationBootstrap(): void {
    // Looked at more often than the interval: a pod's read falls due by the clock (its last read's start), so it
    // is read within a tick of being due, and a pod ready before this instance led is read within a tick too.
    const cadenceMs = Math.min(this.intervalMs, this.config.cloud.tickIntervalMs);
    this.loop = startLoop(this.scheduler, INTERVAL_NAME, cadenceMs, () => this.refreshDue(), this.logger);
    void this.refreshDue();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    await this.loop?.stop();
    await this.pass;
    // Reads are bounded (CAPABILITIES_TIMEOUT_MS) and never reject.
    await Promise.all([...this.reading.values()]);
  }

  /** A new leader knows nothing of the pods that were ready before: read them now rather than a tick later. */
  @OnEvent(LeaderEvents.Acquired)
  onLeadership(): void {
    void this.refreshDue();
  }

  @OnEvent(CloudEvents.PodReady)
  onPodReady(event: PodReadyEvent): void {
    if (this.stopped) return;
    void this.refresh(event.podId, event.url);
  }

  @OnEvent(CloudEvents.PodTerminated)
  onPodTerminated(event: PodTerminatedEvent): void {
    this.forget(event.podId);
  }

  @OnEvent(CloudEvents.PodFailed)
  onPodFailed(event: PodFailedEvent): void {
    if (event.podId) this.forget(event.podId);
  }

  get(podId: string): WorkerCapabilities | undefined {
    return this.known.get(podId);
  }

  /** Whether any pod's capabilities are known (else routing need not look at a job's requirements). */
  anyKnown(): boolean {
    return this.known.size > 0;
  }

  /**
   * Whether the pod's first read is in progress (at most CAPABILITIES_TIMEOUT_MS): routing gives it no job until
   * then. False during a re-read of a pod whose capabilities are known: what was read stands until the new read.
   */
  isReading(podId: string): boolean {
    return this.reading.has(podId) && !this.known.has(podId);
  }

  /** Whether any pod's first read is in progress (see `isReading`). */
  anyReading(): boolean {
    for (const podId of this.reading.keys()) if (!this.known.has(podId)) return true;
    return false;
  }

  /** The known capabilities of every pod read so far and not ended. */
  allKnown(): WorkerCapabilities[] {
    return [...this.known.values()];
  }

  /** Resolves when the read in progress for this pod (if any) has ended. Never rejects. */
  whenRead(podId: string): Promise<void> {
    return this.reading.get(podId) ?? Promise.resolve();
  }

  /**
   * Reads the pod's capabilities again (at `url`, or the URL it was last read at). A failed read keeps what was
   * known; overlapping calls share the read in progress. Never throws.
   */
  refresh(podId: string, url?: string): Promise<void> {
    const running = this.reading.get(podId);
    if (running) return running;
    const target = url ?? this.urls.get(podId);
    if (!target) return Promise.resolve();
    this.urls.set(podId, target);
    this.attemptedAt.set(podId, this.clock.now());
    this.startedSeq.set(podId, ++this.readsStarted);
    const read = fetchCapabilities(this.clients.create(target), {
      signal: AbortSignal.timeout(CAPABILITIES_TIMEOUT_MS),
      now: () => this.clock.now(),
    })
      .then((capabilities) => {
        if (this.urls.get(podId) !== target) return; // terminated (forgotten) meanwhile
        const before = this.known.get(podId);
        this.known.set(podId, capabilities);
        // Logged on the first read and when a re-read counts otherwise, not on every periodic read.
        if (!before || summary(before) !== summary(capabilities))
          this.logger.log(`Pod ${podId}: ${summary(capabilities)}`);
        this.events.emit(POD_CAPABILITIES_READ, { podId } satisfies PodCapabilitiesReadEvent);
      })
      .catch((error: unknown) => {
        this.logger.warn(
          `Could not read what pod ${podId} can run${this.known.has(podId) ? '; keeping what was known' : ''}: ` +
            (error as Error).message,
        );
      })
      .finally(() => this.reading.delete(podId));
    this.reading.set(podId, read);
    return read;
  }

  /**
   * One pass (leader only; overlapping calls share it): reads every ready or busy pod never read or last read an
   * interval ago (a pod whose reads all failed: UNKNOWN_RETRY_MS ago), and forgets pods no longer ready or busy.
   * Resolves with the number of reads it started, once they have ended. Never rejects.
   */
  refreshDue(): Promise<number> {
    if (this.stopped || !this.leader.isLeader()) return Promise.resolve(0);
    this.pass ??= this.readDue()
      .catch((error: Error) => {
        this.logger.warn(`Could not list the pods whose capabilities to read: ${error.message}`);
        return 0;
      })
      .finally(() => (this.pass = null));
    return this.pass;
  }

  private get intervalMs(): number {
    return this.config.cloud.podCapabilitiesIntervalMs;
  }

  private async readDue(): Promise<number> {
    const listedAfter = this.readsStarted;
    const pods = await this.pods.findInStates(ROUTABLE_STATES);
    const live = new Set<string>();
    const reads: Promise<void>[] = [];
    const now = this.clock.now();
    for (const pod of pods) {
      if (!pod.runpodId || !pod.url) continue;
      live.add(pod.runpodId);
      if (this.due(pod.runpodId, now)) reads.push(this.refresh(pod.runpodId, pod.url));
    }
    // A pod whose read started after the listing (it became ready meanwhile) is not in it, yet live.
    for (const podId of [...this.urls.keys()])
      if (!live.has(podId) && (this.startedSeq.get(podId) ?? 0) <= listedAfter) this.forget(podId);
    await Promise.all(reads);
    return reads.length;
  }

  private due(podId: string, now: number): boolean {
    if (this.reading.has(podId)) return false;
    const last = this.attemptedAt.get(podId);
    if (last === undefined) return true;
    const gap = this.known.has(podId) ? this.intervalMs : Math.min(this.intervalMs, UNKNOWN_RETRY_MS);
    return now - last >= gap;
  }

  private forget(podId: string): void {
    this.known.delete(podId);
    this.urls.delete(podId);
    this.attemptedAt.delete(podId);
    this.startedSeq.delete(podId);
  }
}

function summary(capabilities: WorkerCapabilities): string {
  return `${capabilities.nodeClasses.length} node classes, ${countFiles(capabilities)} model files`;
}

export function countFiles(capabilities: WorkerCapabilities): number {
  return Object.values(capabilities.models).reduce((n, files) => n + files.length, 0);
}
