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
}

export interface CloudDemand {
  current(): Promise<CloudDemandCounts> | CloudDemandCounts;
}

/** Cloud starts remembered for the break-even policy's forecast (its horizon is minutes; this bounds memory). */
const CLOUD_STARTS_KEPT = 10_000;
const HOUR_MS = 3_600_000;

/**
 * Demand published by named sources (the dispatcher; tests), summed for the autoscaler; and when jobs started
 * in the cloud (pods and serverless), the break-even policy's recent arrivals.
 */
export class CloudDemandBoard implements CloudDemand {
  private readonly bySource = new Map<string, CloudDemandCounts>();
  private readonly cloudStarts: number[] = [];

  /** A job started on a pod or serverless at `at` (epoch ms). */
  recordCloudStart(at: number): void {
    this.cloudStarts.push(at);
    if (this.cloudStarts.length > CLOUD_STARTS_KEPT) this.cloudStarts.splice(0, CLOUD_STARTS_KEPT / 10);
  }

  /** Cloud starts at or after `since`; those more than an hour before it are forgotten. */
  cloudStartsSince(since: number): number {
    let forgotten = 0;
    while (forgotten < this.cloudStarts.length && this.cloudStarts[forgotten] < since - HOUR_MS) forgotten++;
    this.cloudStarts.splice(0, forgotten);
    return this.cloudStarts.filter((at) => at >= since).length;
  }

  publish(counts: Partial<CloudDemandCounts>, source = 'jobs'): void {
    const previous = this.bySource.get(source) ?? { waitingForCloud: 0, waitingForPodOnly: 0 };
    this.bySource.set(source, { ...previous, ...counts });
  }

  current(): CloudDemandCounts {
    let waitingForCloud = 0;
    let waitingForPodOnly = 0;
    for (const counts of this.bySource.values()) {
      waitingForCloud += counts.waitingForCloud;
      waitingForPodOnly += counts.waitingForPodOnly;
    }
    return { waitingForCloud, waitingForPodOnly };
  }
}
