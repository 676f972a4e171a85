/**
 * How many jobs wait for cloud capacity: the autoscaler's input. The jobs/routing module implements it;
 * until it is wired, `ManualCloudDemand` lets tests and operators feed numbers directly.
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

export class ManualCloudDemand implements CloudDemand {
  private counts: CloudDemandCounts = { waitingForCloud: 0, waitingForPodOnly: 0 };

  set(counts: Partial<CloudDemandCounts>): void {
    this.counts = { ...this.counts, ...counts };
  }

  current(): CloudDemandCounts {
    return this.counts;
  }
}
