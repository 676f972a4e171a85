import { UNKNOWN_JOB_CLASS, type BreakEvenQueuedJob, type JobClass } from './policy/breakeven.policy';

/**
 * How many jobs wait for cloud capacity: the autoscaler's input. The dispatcher publishes the counts on
 * every pass (`CloudDemandBoard`); the control loop reads them.
 */
export const CLOUD_DEMAND = Symbol('CLOUD_DEMAND');

/** A job waiting for cloud capacity, as the break-even forecast sees it. */
export interface QueuedCloudJob {
  /** Its id, when the source lists it: a re-planned job's place in the queue (RoutingEstimatesService). */
  jobId?: string;
  /** When it arrived (epoch ms): the forecast replays recent arrivals. */
  arrivedAt: number;
  /** Its class (`jobClassOf`: image or video): its expected run. */
  jobClass: JobClass;
  /** Only a pod may run it. */
  podOnly: boolean;
}

export interface CloudDemandCounts {
  /** Jobs waiting for a pod. */
  waitingForCloud: number;
  /** Jobs among them that only a pod can run. */
  waitingForPodOnly: number;
  /** Break-even: jobs among them held for a pod that is not started yet (the next scaling pass should start it). */
  heldForNewPod: number;
  /**
   * Break-even: each job waiting for cloud capacity, in queue order: when it arrived (the spawn forecast's replay)
   * and its class (its expected run). A source may publish counts alone; the jobs it does not list are of unknown
   * class (the mean job) and are not replayed.
   */
  queuedJobs: readonly QueuedCloudJob[];
  /** Break-even: jobs among them a local worker may still take (they are drained locally first). */
  mayRunLocally: number;
  /** Break-even: slots of the local workers that take jobs (healthy, enabled, not draining). */
  localSlots: number;
}

/**
 * The break-even forecast's queue from the published demand: the pod-only jobs, then the others, those a local
 * worker may take first and those held for a new pod last (those counts are per pass, not per job). Each job
 * has the class its source listed it with; one counted but not listed is of unknown class (the mean job).
 */
export function breakEvenQueue(counts: CloudDemandCounts): BreakEvenQueuedJob[] {
  const waitingForAny = Math.max(0, counts.waitingForCloud - counts.waitingForPodOnly);
  const heldForNewPod = Math.min(waitingForAny, counts.heldForNewPod);
  const classes = (podOnly: boolean, count: number): JobClass[] => {
    const listed = counts.queuedJobs.filter((job) => job.podOnly === podOnly).map((job) => job.jobClass);
    return Array.from({ length: count }, (_, i) => listed[i] ?? UNKNOWN_JOB_CLASS);
  };
  return [
    ...classes(true, counts.waitingForPodOnly).map((jobClass) => ({ jobClass, podOnly: true })),
    ...classes(false, waitingForAny).map((jobClass, i) => ({
      jobClass,
      podOnly: false,
      mayRunLocally: i < counts.mayRunLocally,
      heldForNewPod: i >= waitingForAny - heldForNewPod,
    })),
  ];
}

export interface CloudDemand {
  current(): Promise<CloudDemandCounts> | CloudDemandCounts;
}

/**
 * Cloud starts remembered for the break-even policy's forecast and its gap window (2 h at the default arrival
 * window; 50,000 is 400 cloud jobs a minute over it, a few MB). This bounds memory.
 */
const CLOUD_STARTS_KEPT = 50_000;
/** Starts older than this before the oldest window asked for are forgotten. */
const KEEP_BEYOND_WINDOW_MS = 3_600_000;

/** The longest the autoscaler waits for a dispatch pass to publish fresh counts. */
const SETTLE_MAX_WAIT_MS = 5_000;

const NO_DEMAND: CloudDemandCounts = {
  waitingForCloud: 0,
  waitingForPodOnly: 0,
  heldForNewPod: 0,
  queuedJobs: [],
  mayRunLocally: 0,
  localSlots: 0,
};

/**
 * Demand published by named sources (the dispatcher; tests), summed for the autoscaler; and the jobs that started
 * in the cloud (pods and serverless), with when they arrived: the break-even policy's recent arrivals.
 */
export class CloudDemandBoard implements CloudDemand {
  private readonly bySource = new Map<string, CloudDemandCounts>();
  private readonly cloudStarts: Array<{ at: number; arrivedAt: number; jobClass: JobClass }> = [];
  private passesUnderWay = 0;
  private settledWaiters: Array<() => void> = [];
  private reads = 0;
  private readonly routedListeners: Array<(read: number) => void> = [];

  /**
   * A dispatch pass begins; call the returned function when it has ended. Until it publishes, the counts of the
   * pass before may be stale in a way that costs money: a job counted as waiting for a pod may be starting on the
   * pod that just became free, and a scaling pass reading the pod as busy and the job as still waiting would start
   * a second pod for it. The autoscaler reads the pods, then `settled()`, then the counts.
   */
  passBegins(): () => void {
    this.passesUnderWay++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.passesUnderWay--;
      if (this.passesUnderWay > 0) return;
      const waiters = this.settledWaiters.splice(0);
      for (const wake of waiters) wake();
    };
  }

  /** How many times a dispatch pass has read the queue in this process: the number of the last read. */
  get queueReads(): number {
    return this.reads;
  }

  /**
   * A dispatch pass reads the queue; call the returned function once it has routed what it read (each job then
   * started, or waits where the pass counted it). A pass that can start nothing may skip the read.
   */
  queueRead(): () => void {
    const read = ++this.reads;
    return () => {
      for (const listener of this.routedListeners) listener(read);
    };
  }

  /** `listener(read)` when the pass of queue read number `read` has routed the jobs queued before that read. */
  onQueueRouted(listener: (read: number) => void): void {
    this.routedListeners.push(listener);
  }

  /**
   * Resolves when no dispatch pass is under way (at once when none is), or after `maxWaitMs` (a pass stuck on
   * its database must not stop the reaper): then the counts are read as they are, as before this existed.
   */
  settled(maxWaitMs = SETTLE_MAX_WAIT_MS): Promise<void> {
    if (this.passesUnderWay === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, maxWaitMs);
      timer.unref?.();
      const waiters = this.settledWaiters;
      function done() {
        clearTimeout(timer);
        const index = waiters.indexOf(done);
        if (index >= 0) waiters.splice(index, 1);
        resolve();
      }
      waiters.push(done);
    });
  }

  /** A job of `jobClass` that arrived at `arrivedAt` started on a pod or serverless at `at` (epoch ms). */
  recordCloudStart(at: number, arrivedAt: number, jobClass: JobClass = UNKNOWN_JOB_CLASS): void {
    this.cloudStarts.push({ at, arrivedAt, jobClass });
    if (this.cloudStarts.length > CLOUD_STARTS_KEPT) this.cloudStarts.splice(0, CLOUD_STARTS_KEPT / 10);
  }

  /**
   * The jobs that started in the cloud and arrived at or after `since`: when they arrived (epoch ms) and their
   * class. Starts well before `since` are forgotten.
   */
  cloudArrivalsSince(since: number): Array<{ arrivedAt: number; jobClass: JobClass }> {
    let forgotten = 0;
    while (
      forgotten < this.cloudStarts.length &&
      this.cloudStarts[forgotten].at < since - KEEP_BEYOND_WINDOW_MS
    )
      forgotten++;
    this.cloudStarts.splice(0, forgotten);
    return this.cloudStarts
      .filter((start) => start.arrivedAt >= since)
      .map(({ arrivedAt, jobClass }) => ({ arrivedAt, jobClass }));
  }

  publish(counts: Partial<CloudDemandCounts>, source = 'jobs'): void {
    const previous = this.bySource.get(source) ?? NO_DEMAND;
    this.bySource.set(source, { ...previous, ...counts });
  }

  current(): CloudDemandCounts {
    let waitingForCloud = 0;
    let waitingForPodOnly = 0;
    let heldForNewPod = 0;
    let mayRunLocally = 0;
    let localSlots = 0;
    const queuedJobs: QueuedCloudJob[] = [];
    for (const counts of this.bySource.values()) {
      waitingForCloud += counts.waitingForCloud;
      waitingForPodOnly += counts.waitingForPodOnly;
      heldForNewPod += counts.heldForNewPod;
      mayRunLocally += counts.mayRunLocally;
      localSlots += counts.localSlots;
      queuedJobs.push(...counts.queuedJobs);
    }
    return { waitingForCloud, waitingForPodOnly, heldForNewPod, queuedJobs, mayRunLocally, localSlots };
  }
}
