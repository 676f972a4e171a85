import { HOUR, MINUTE } from '../../common/clock';
import { budgetReached, committedUsd, newPodUsd, wouldCrossBudget, type BudgetInputs } from './budget.policy';

const base: BudgetInputs = {
  limitUsd: 10,
  spentTodayUsd: 0,
  livePods: [],
  serverlessInFlight: 0,
  serverlessPricePerSecond: 0.00034,
  tickIntervalMs: 5000,
  jobEstimateMs: 5 * MINUTE,
};

describe('budget policy', () => {
  it('commits one tick for idle pods, a job for busy pods, and a job per in-flight serverless run', () => {
    const inputs: BudgetInputs = {
      ...base,
      livePods: [
        { state: 'ready', costPerHour: 3.6 },
        { state: 'busy', costPerHour: 1.2 },
      ],
      serverlessInFlight: 2,
    };
    const idle = (3.6 * 5000) / HOUR;
    const busy = (1.2 * 5 * MINUTE) / HOUR;
    const serverless = 2 * 0.00034 * 300;
    expect(committedUsd(inputs)).toBeCloseTo(idle + busy + serverless, 10);
  });

  it('refuses new work that would cross the limit, counting what is already committed', () => {
    const inputs = {
      ...base,
      limitUsd: 1,
      spentTodayUsd: 0.8,
      livePods: [{ state: 'busy' as const, costPerHour: 1.2 }],
    };
    // committed 0.1 (a 5-minute job at $1.2/h): 0.8 + 0.1 + 0.09 fits, + 0.11 does not
    expect(wouldCrossBudget(inputs, 0.09)).toBe(false);
    expect(wouldCrossBudget(inputs, 0.11)).toBe(true);
  });

  it('never blocks with no limit (0)', () => {
    expect(wouldCrossBudget({ ...base, limitUsd: 0, spentTodayUsd: 1e6 }, 1e6)).toBe(false);
    expect(budgetReached({ ...base, limitUsd: 0, spentTodayUsd: 1e6 })).toBe(false);
  });

  it("is reached once today's spend meets the limit", () => {
    expect(budgetReached({ ...base, spentTodayUsd: 9.99 })).toBe(false);
    expect(budgetReached({ ...base, spentTodayUsd: 10 })).toBe(true);
  });

  it('prices a new pod as one job plus the idle timeout', () => {
    expect(newPodUsd(0.34, 5 * MINUTE, 5 * MINUTE)).toBeCloseTo(0.34 / 6, 10);
  });
});
