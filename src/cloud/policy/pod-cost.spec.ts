import { HOUR, MINUTE, SECOND } from '../../common/clock';
import { podCost, podCostByDay, utcDay } from './pod-cost';

describe('pod cost arithmetic', () => {
  it('bills per second at the hourly rate', () => {
    expect(podCost(0.34, 0, HOUR)).toBeCloseTo(0.34, 10);
    expect(podCost(0.34, 0, 5 * MINUTE)).toBeCloseTo(0.028333, 6); // the seed's "$0.0283" for a 5-minute pod
    expect(podCost(0.69, 0, 1 * SECOND)).toBeCloseTo(0.69 / 3600, 12);
    expect(podCost(0.34, 10, 5)).toBe(0);
  });

  it('splits a pod that runs across UTC midnight into one amount per day, summing to the whole', () => {
    const start = Date.UTC(2026, 10, 25, 23, 30);
    const end = Date.UTC(2026, 10, 26, 1, 0);
    const days = podCostByDay(1.0, start, end);
    expect(days).toEqual([
      { day: '2026-11-25', amountUsd: expect.closeTo(0.5, 10) },
      { day: '2026-11-26', amountUsd: expect.closeTo(1.0, 10) },
    ]);
    expect(days.reduce((sum, d) => sum + d.amountUsd, 0)).toBeCloseTo(podCost(1.0, start, end), 12);
  });

  it('recomputes only the days touched since the last accrual, as absolute amounts', () => {
    const start = Date.UTC(2026, 10, 24, 12, 0);
    const end = Date.UTC(2026, 10, 26, 6, 0);
    const touched = podCostByDay(2.4, start, end, Date.UTC(2026, 10, 26, 5, 0));
    expect(touched).toEqual([{ day: '2026-11-26', amountUsd: expect.closeTo(2.4 * 6, 10) }]);
  });

  it('formats UTC days', () => {
    expect(utcDay(Date.UTC(2026, 0, 2, 23, 59, 59))).toBe('2026-01-02');
  });
});
