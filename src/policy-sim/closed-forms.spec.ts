import {
  offlineGapCost,
  podsOverServerlessRatio,
  timeoutCompetitiveRatio,
  timeoutGapCost,
} from './closed-forms';

const pp = 0.34 / 3600;
const boot = 150;
const beta = pp * boot;

describe('§2.4 closed forms', () => {
  it('a gap trace just above the timeout gives 1 + T/B: 2.0 at T = B, 3.0 at T = 2B, and 3.5 at T = 0.4B just above it', () => {
    for (const [timeout, ratio] of [
      [boot, 2],
      [2 * boot, 3],
    ] as const) {
      const gaps = new Array(100).fill(timeout + 1e-6);
      expect(timeoutGapCost(gaps, timeout, pp, beta) / offlineGapCost(gaps, pp, beta)).toBeCloseTo(ratio, 5);
      expect(timeoutCompetitiveRatio(timeout, pp, beta)).toBeCloseTo(ratio, 10);
    }
    // Below break-even the adversary's gap is just above T and OPT keeps the pod: (T·p_p + β) / (T·p_p).
    const t = 0.4 * boot;
    const gaps = new Array(100).fill(t + 1e-6);
    expect(timeoutGapCost(gaps, t, pp, beta) / offlineGapCost(gaps, pp, beta)).toBeCloseTo(3.5, 4);
    expect(timeoutCompetitiveRatio(t, pp, beta)).toBeCloseTo(3.5, 10);
  });

  it('offline keeps a pod through a gap shorter than break-even and re-buys after a longer one', () => {
    expect(offlineGapCost([60, 600], pp, beta)).toBeCloseTo(60 * pp + beta, 12);
  });

  it('always-pods / always-serverless on a stationary load u approaches (p_p/p_s)/u', () => {
    expect(podsOverServerlessRatio(pp, 0.00034, 0.5)).toBeCloseTo(pp / 0.00034 / 0.5, 12);
  });
});
