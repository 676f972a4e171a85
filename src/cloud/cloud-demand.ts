/**
 * How many jobs wait for cloud capacity: the autoscaler's input. The dispatcher publishes the counts on
 * every pass (`CloudDemandBoard`); the control loop reads them.
 */
export const CLOUD_DEMAND = Symbol('CLOUD_DEMAND');

export interface CloudDemandCounts {
  /** Jobs waiting for a pod. */
  waitingForCloud: number;
  /** Jobs among them that only a pod can run. */
  waitingForPodOnly: number;
  /** Break-even: jobs among them held for a pod that is not started yet (the next scaling pass should start it). */
  heldForNewPod: number;
  /** Break-even: when each job waiting for cloud capacity arrived (epoch ms), for the spawn forecast's replay. */
  queuedArrivals: readonly number[];
  /** Break-even: jobs among them a local worker may still take (they are drained locally first). */
  mayRunLocally: number;
  /** Break-even: slots of the local workers that take jobs (healthy, enabled, not draining). */
  localSlots: number;
}

export interface CloudDemand {
  current(): Promise<CloudDemandCounts> | CloudDemandCounts;
}

/** Cloud starts remembered for the break-even policy's forecast (its window is minutes; this bounds memory). */
const CLOUD_STARTS_KEPT = 10_000;
/** Starts older than this before the oldest window asked for are forgotten. */
const KEEP_BEYOND_WINDOW_MS = 3_600_000;

/** The longest the autoscaler waits for a dispatch pass to publish fresh counts. */
const SETTLE_MAX_WAIT_MS = 5_000;

const NO_DEMAND: CloudDemandCounts = {
  waitingForCloud: 0,
  waitingForPodOnly: 0,
  heldForNewPod: 0,
  queuedArrivals: [],
  mayRunLocally: 0,
  localSlots: 0,
};

/**
 * Demand published by named sources (the dispatcher; tests), summed for the autoscaler; and the jobs that started
 * in the cloud (pods and serverless), with when they arrived: the break-even policy's recent arrivals.
 */
export class CloudDemandBoard implements CloudDemand {
  private readonly bySource = new Map<string, CloudDemandCounts>();
  private readonly cloudStarts: Array<{ at: number; arrivedAt: number }> = [];
  private passesUnderWay = 0;
  private settledWaiters: Array<() => void> = [];

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

  /** A job that arrived at `arrivedAt` started on a pod or serverless at `at` (epoch ms). */
  recordCloudStart(at: number, arrivedAt: number): void {
    this.cloudStarts.push({ at, arrivedAt });
    if (this.cloudStarts.length > CLOUD_STARTS_KEPT) this.cloudStarts.splice(0, CLOUD_STARTS_KEPT / 10);
  }

  /**
   * When the jobs that started in the cloud and arrived at or after `since` arrived (epoch ms). Starts well
   * before `since` are forgotten.
   */
  cloudArrivalsSince(since: number): number[] {
    let forgotten = 0;
    while (
      forgotten < this.cloudStarts.length &&
      this.cloudStarts[forgotten].at < since - KEEP_BEYOND_WINDOW_MS
    )
      forgotten++;
    this.cloudStarts.splice(0, forgotten);
    return this.cloudStarts.filter((start) => start.arrivedAt >= since).map((start) => start.arrivedAt);
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
    const queuedArrivals: number[] = [];
    for (const counts of this.bySource.values()) {
      waitingForCloud += counts.waitingForCloud;
      waitingForPodOnly += counts.waitingForPodOnly;
      heldForNewPod += counts.heldForNewPod;
      mayRunLocally += counts.mayRunLocally;
      localSlots += counts.localSlots;
      queuedArrivals.push(...counts.queuedArrivals);
    }
    return { waitingForCloud, waitingForPodOnly, heldForNewPod, queuedArrivals, mayRunLocally, localSlots };
  }
}
