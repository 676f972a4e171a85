import type { CostBucket } from './cost-history.buckets';

export const COST_HISTORY_CSV_HEADER = 'start,total,local,serverless,pods,jobs_completed,cost_per_job';

/**
 * One row per bucket, in the columns of COST_HISTORY_CSV_HEADER. Every cell is an ISO time or a number, so
 * nothing needs quoting; cost_per_job is empty when no job completed in the bucket.
 */
export function costHistoryCsv(buckets: readonly CostBucket[]): string {
  const rows = buckets.map((bucket) =>
    [
      bucket.start,
      bucket.total,
      bucket.byBackend.local,
      bucket.byBackend.serverless,
      bucket.byBackend.pods,
      bucket.jobsCompleted,
      bucket.costPerJobUsd ?? '',
    ].join(','),
  );
  return [COST_HISTORY_CSV_HEADER, ...rows].join('\r\n') + '\r\n';
}
