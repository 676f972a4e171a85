import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { ComfyUiClientFactory } from '../comfyui/comfyui-client.factory';
import { Clock } from '../common/clock';
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

/**
 * What each ready pod can run (node classes and model files, `fetchCapabilities` through the pod's URL), read when
 * it becomes ready, in memory on the instance that saw it become ready (the leader), keyed by RunPod pod id.
 *
 * For routing: `get(podId)` is the pod's `WorkerCapabilities` (use with `missingFor`), undefined while unread or
 * when the read failed (treat as unknown = allowed, as local workers are treated); `whenRead(podId)` waits for the
 * read in progress; `POD_CAPABILITIES_READ` is emitted after each successful read.
 */
@Injectable()
export class PodCapabilitiesService {
  private readonly logger = new Logger('CloudPods');
  private readonly known = new Map<string, WorkerCapabilities>();
  private readonly urls = new Map<string, string>();
  private readonly reading = new Map<string, Promise<void>>();

  constructor(
    private readonly clients: ComfyUiClientFactory,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
  ) {}

  @OnEvent(CloudEvents.PodReady)
  onPodReady(event: PodReadyEvent): void {
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

  /** Whether a read of the pod's capabilities is in progress (at most CAPABILITIES_TIMEOUT_MS). */
  isReading(podId: string): boolean {
    return this.reading.has(podId);
  }

  /** Whether any pod's read is in progress. */
  anyReading(): boolean {
    return this.reading.size > 0;
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
    const read = fetchCapabilities(this.clients.create(target), {
      signal: AbortSignal.timeout(CAPABILITIES_TIMEOUT_MS),
      now: () => this.clock.now(),
    })
      .then((capabilities) => {
        if (this.urls.get(podId) !== target) return; // terminated (forgotten) meanwhile
        this.known.set(podId, capabilities);
        this.logger.log(
          `Pod ${podId}: ${capabilities.nodeClasses.length} node classes, ${countFiles(capabilities)} model files`,
        );
        this.events.emit(POD_CAPABILITIES_READ, { podId } satisfies PodCapabilitiesReadEvent);
      })
      .catch((error: unknown) => {
        this.logger.warn(`Could not read what pod ${podId} can run: ${(error as Error).message}`);
      })
      .finally(() => this.reading.delete(podId));
    this.reading.set(podId, read);
    return read;
  }

  private forget(podId: string): void {
    this.known.delete(podId);
    this.urls.delete(podId);
  }
}

export function countFiles(capabilities: WorkerCapabilities): number {
  return Object.values(capabilities.models).reduce((n, files) => n + files.length, 0);
}
