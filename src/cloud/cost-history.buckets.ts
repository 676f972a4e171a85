import { roundUsd } from './cost-ledger.service';
import { podCost } from './policy/pod-cost';
import { BUCKET_MS, type CostHistoryRange } from './cost-history.range';

/** A pod's billing as the pods table records it: billed at `costPerHour` over [billedFrom, billedUntil). */
export interface PodBillingInterval {
  podId: string;
  costPerHour: number;
  billedFrom: number;
  billedUntil: number;
}

/** An amount that belongs to one bucket (the bucket's start, epoch ms). */
export interface BucketAmount {
  bucketStart: number;
  amountUsd: number;
}

export interface PodBucketAmount extends BucketAmount {
  podId: string;
}

export interface PodInfo {
  podId: string;
  name: string | null;
  gpuTypeId: string | null;
}

export interface CostHistoryInputs {
  range: CostHistoryRange;
  pods: PodBucketAmount[];
  serverless: BucketAmount[];
  jobsCompleted: Array<{ bucketStart: number; count: number }>;
  podInfo: PodInfo[];
}

export interface CostBucket {
  start: string;
  total: number;
  byBackend: { local: number; serverless: number; pods: number };
  byPod: Record<string, number>;
  jobsCompleted: number;
  /** Spend in the bucket over the jobs completed in it (all backends); null when none completed. */
  costPerJobUsd: number | null;
}

export interface CostHistory {
  totals: { total: number; local: number; serverless: number; pods: number };
  buckets: CostBucket[];
  pods: Array<{ podId: string; name: string | null; gpuTypeId: string | null; total: number }>;
}

/**
 * What each pod cost in each bucket of the range, from its rate and billed interval: the same per-second
 * arithmetic (`podCost`) that writes the ledger's per-day rows, cut at bucket boundaries instead of days, so a
 * day's hourly amounts add up to the pod's ledger row for that day.
 */
export function podCostByBucket(range: CostHistoryRange, intervals: PodBillingInterval[]): PodBucketAmount[] {
  const bucketMs = BUCKET_MS[range.granularity];
  const amounts: PodBucketAmount[] = [];
  for (const pod of intervals) {
    const from = Math.max(pod.billedFrom, range.fromMs);
    const until = Math.min(pod.billedUntil, range.toMs);
    for (let start = Math.floor(from / bucketMs) * bucketMs; start < until; start += bucketMs) {
      const amountUsd = podCost(
        pod.costPerHour,
        Math.max(pod.billedFrom, start),
        Math.min(pod.billedUntil, start + bucketMs),
      );
      if (amountUsd > 0) amounts.push({ podId: pod.podId, bucketStart: start, amountUsd });
    }
  }
  return amounts;
}

/**
 * Lays amounts out on every bucket of the range (empty buckets included, so a chart has no gaps), with totals
 * by backend and by pod. Local workers cost nothing; they are reported as 0 so every backend is present.
 * Amounts outside the range are ignored.
 */
export function buildCostHistory(inputs: CostHistoryInputs): CostHistory {
  const { range } = inputs;
  const bucketMs = BUCKET_MS[range.granularity];
  const count = Math.round((range.toMs - range.fromMs) / bucketMs);
  const index = (bucketStart: number): number | null => {
    const i = Math.floor((bucketStart - range.fromMs) / bucketMs);
    return i >= 0 && i < count ? i : null;
  };
  const podsBy = Array.from({ length: count }, () => new Map<string, number>());
  const serverlessBy = new Array<number>(count).fill(0);
  const jobsBy = new Array<number>(count).fill(0);
  const podTotals = new Map<string, number>();

  for (const amount of inputs.pods) {
    const i = index(amount.bucketStart);
    if (i === null) continue;
    podsBy[i].set(amount.podId, (podsBy[i].get(amount.podId) ?? 0) + amount.amountUsd);
    podTotals.set(amount.podId, (podTotals.get(amount.podId) ?? 0) + amount.amountUsd);
  }
  for (const amount of inputs.serverless) {
    const i = index(amount.bucketStart);
    if (i !== null) serverlessBy[i] += amount.amountUsd;
  }
  for (const row of inputs.jobsCompleted) {
    const i = index(row.bucketStart);
    if (i !== null) jobsBy[i] += row.count;
  }

  let podsTotal = 0;
  let serverlessTotal = 0;
  const buckets: CostBucket[] = [];
  for (let i = 0; i < count; i++) {
    let pods = 0;
    const byPod: Record<string, number> = {};
    for (const [podId, amount] of podsBy[i]) {
      pods += amount;
      byPod[podId] = roundUsd(amount);
    }
    const total = pods + serverlessBy[i];
    podsTotal += pods;
    serverlessTotal += serverlessBy[i];
    buckets.push({
      start: new Date(range.fromMs + i * bucketMs).toISOString(),
      total: roundUsd(total),
      byBackend: { local: 0, serverless: roundUsd(serverlessBy[i]), pods: roundUsd(pods) },
      byPod,
      jobsCompleted: jobsBy[i],
      costPerJobUsd: jobsBy[i] > 0 ? roundUsd(total / jobsBy[i]) : null,
    });
  }

  const info = new Map(inputs.podInfo.map((pod) => [pod.podId, pod]));
  const pods = [...podTotals]
    .map(([podId, total]) => ({
      podId,
      name: info.get(podId)?.name ?? null,
      gpuTypeId: info.get(podId)?.gpuTypeId ?? null,
      total: roundUsd(total),
    }))
    .sort((a, b) => b.total - a.total || a.podId.localeCompare(b.podId));

  return {
    totals: {
      total: roundUsd(podsTotal + serverlessTotal),
      local: 0,
      serverless: roundUsd(serverlessTotal),
      pods: roundUsd(podsTotal),
    },
    buckets,
    pods,
  };
}
