import type { RunResult } from './engine';
import { groupBySeed, toCsv, toMarkdown, type BenchRow } from './report';
import { meanCi, seedRange, tQuantile975 } from './seeds';

function row(policy: string, seed: number, costUsd: number, lbUsd: number, waitP95: number): BenchRow {
  const result = {
    policy,
    workload: 'w',
    jobs: 10,
    completed: 10,
    lost: 0,
    rejected: 0,
    costUsd,
    breakdown: {
      podBoot: 0,
      podBusy: costUsd,
      podIdle: 0,
      serverlessCold: 0,
      serverlessBusy: 0,
      serverlessIdle: 0,
      serverlessActive: 0,
    },
    waits: [],
    waitP50: 0,
    waitP95,
    waitMax: waitP95,
    imageWaitP95: waitP95,
    podLaunches: 1,
    podBootFailures: 0,
    coldStarts: 0,
    utilisation: 1,
    serverlessShare: 0,
    deadlineMisses: 0,
    invalidActions: 0,
    decideCalls: 1,
    decideP99Us: 1,
    simulatedS: 1,
    wallMs: 1,
  } satisfies RunResult;
  return { result, lbUsd, ubUsd: lbUsd * 2, waitBudgetS: 120, seed };
}

describe('--seeds: mean ± 95% CI over seeds', () => {
  it('uses Student t with n - 1 degrees of freedom', () => {
    expect(tQuantile975(1)).toBe(12.706);
    expect(tQuantile975(29)).toBe(2.045);
    expect(tQuantile975(60)).toBeCloseTo(2.0003, 3);
    expect(tQuantile975(1e6)).toBeCloseTo(1.96, 3);
    // mean 2, sample sd 1: half-width t(0.975, 2) / √3.
    const ci = meanCi([1, 2, 3]);
    expect(ci.mean).toBe(2);
    expect(ci.ci95).toBeCloseTo(4.303 / Math.sqrt(3), 9);
    expect(meanCi([5]).ci95).toBeNaN();
    expect(meanCi([NaN, 4, 4]).mean).toBe(4);
    expect(seedRange(3, 3)).toEqual([3, 4, 5]);
    expect(() => seedRange(1, 0)).toThrow(/positive integer/);
  });

  it('keeps one CSV row per seed plus mean and ci95 rows, with cost/LB averaged per seed (LB is per trace)', () => {
    const rows = [row('a', 1, 2, 1, 10), row('a', 2, 6, 2, 30), row('b', 1, 1, 1, 5), row('b', 2, 1, 2, 5)];
    const [a] = groupBySeed(rows);
    // cost/LB per seed: 2 and 3, so 2.5 (not 8 / 3).
    expect(a.stats.cost_over_lb.mean).toBe(2.5);
    const csv = toCsv(rows).trim().split('\n');
    expect(csv[0].split(',').slice(0, 4)).toEqual(['workload', 'policy', 'seed', 'jobs']);
    expect(csv.slice(1).map((line) => line.split(',').slice(1, 3).join(' '))).toEqual([
      'a 1',
      'a 2',
      'b 1',
      'b 2',
      'a mean',
      'a ci95',
      'b mean',
      'b ci95',
    ]);
    const header = csv[0].split(',');
    const meanA = csv[5].split(',');
    expect(meanA[header.indexOf('cost_usd')]).toBe('4.0000');
    expect(meanA[header.indexOf('wait_p95_s')]).toBe('20.0');
    // Two seeds 2 and 6: sd 2√2, half-width 12.706 · 2√2 / √2 = 25.412.
    expect(csv[6].split(',')[header.indexOf('cost_usd')]).toBe('25.4120');
    expect(toMarkdown(rows)).toContain('| w | a | 2 | 4.000 ± 25.412 | 2.50 ± 6.35 |');
  });

  it('a single seed keeps the one-row-per-run table', () => {
    const csv = toCsv([row('a', 1, 2, 1, 10)])
      .trim()
      .split('\n');
    expect(csv).toHaveLength(2);
    expect(toMarkdown([row('a', 1, 2, 1, 10)])).toContain('| w | a | 2.0000 | 2.000 |');
  });
});
