import { costHistoryCsv } from './cost-history.csv';

describe('cost history CSV', () => {
  it('writes a header and one row per bucket, cost per job empty when no job completed', () => {
    const bucket = (start: string, total: number, jobs: number, perJob: number | null) => ({
      start,
      total,
      byBackend: { local: 0, serverless: 0.1, pods: total - 0.1 },
      byPod: { 'pod-a': total - 0.1 },
      jobsCompleted: jobs,
      costPerJobUsd: perJob,
    });
    expect(
      costHistoryCsv([
        bucket('2026-11-28T00:00:00.000Z', 0.6, 3, 0.2),
        bucket('2026-11-29T00:00:00.000Z', 0.1, 0, null),
      ]),
    ).toBe(
      'start,total,local,serverless,pods,jobs_completed,cost_per_job\r\n' +
        '2026-11-28T00:00:00.000Z,0.6,0,0.1,0.5,3,0.2\r\n' +
        '2026-11-29T00:00:00.000Z,0.1,0,0.1,0,0,\r\n',
    );
  });
});
