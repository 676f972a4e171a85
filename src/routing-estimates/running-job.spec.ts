import { expectedEnd } from './running-job';

describe('expectedEnd (a job running on a local worker or a pod)', () => {
  const run = { workerId: 'w1', startedAt: 0, medianS: 10, p90S: 20 };

  it('is the median while the job is within it, then the p90', () => {
    expect(expectedEnd(run, 5_000)).toBe(10_000);
    expect(expectedEnd(run, 10_000)).toBe(10_000);
    expect(expectedEnd(run, 15_000)).toBe(20_000);
  });

  it('past the p90, is as long again as the job has run (the longer it overruns, the later)', () => {
    expect(expectedEnd(run, 30_000)).toBe(60_000);
    expect(expectedEnd(run, 100_000)).toBe(200_000);
  });
});
