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

/** Demand published by named sources (the dispatcher; tests), summed for the autoscaler. */
export class CloudDemandBoard implements CloudDemand {
  private readonly bySource = new Map<string, CloudDemandCounts>();

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
