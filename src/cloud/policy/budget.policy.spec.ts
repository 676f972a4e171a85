import { HOUR, MINUTE } from '../../common/clock';
import {
  admits,
  budgetReached,
  committedUsd,
  newPodUsd,
  podJobUsd,
  serverlessJobUsd,
  wouldCrossBudget,
  type BudgetInputs,
} from './budget.policy';

const NOW = Date.UTC(2026, 10, 28, 12);

const base: BudgetInputs = {
  limitUsd: 10,
  spentTodayUsd: 0,
  livePods: [],
  serverlessInFlight: 0,
  serverlessPricePerSecond: 0.00034,
  tickIntervalMs: 5000,
  jobEstimateMs: 5 * MINUTE,
  bootTimeoutMs: 10 * MINUTE,
  idleTimeoutMs: 5 * MINUTE,
  now: NOW,
};

describe('budget policy', () => {
  it('commits the rest of the idle timeout for idle pods, a job and an idle timeout for busy pods, and a job per serverless run', () => {
    const inputs: BudgetInputs = {
      ...base,
      livePods: [
        { state: 'ready', costPerHour: 3.6, requestedAt: NOW - HOUR, lastBusyAt: NOW - MINUTE },
        { state: 'busy', costPerHour: 1.2, requestedAt: NOW - HOUR, lastBusyAt: NOW - MINUTE },
      ],
      serverlessInFlight: 2,
    };
    const idle = (3.6 * 4 * MINUTE) / HOUR; // idle for a minute of its five
    const busy = (1.2 * 10 * MINUTE) / HOUR;
    const serverless = 2 * 0.00034 * 300;
    expect(committedUsd(inputs)).toBeCloseTo(idle + busy + serverless, 10);
  });

  it("counts a live pod's own idle timeout when it has one (break-even: longer for a kept pod, none for a released one)", () => {
    const idle = {
      state: 'ready' as const,
      costPerHour: 0.36,
      requestedAt: NOW - HOUR,
      lastBusyAt: NOW - MINUTE,
    };
    const busy = { state: 'busy' as const, costPerHour: 0.36, requestedAt: NOW - HOUR, lastBusyAt: NOW };
    // Kept for 30 minutes: 29 of them left, where the 5-minute default leaves 4.
    expect(committedUsd({ ...base, livePods: [{ ...idle, idleTimeoutMs: 30 * MINUTE }] })).toBeCloseTo(
      (0.36 * 29 * MINUTE) / HOUR,
      10,
    );
    expect(committedUsd({ ...base, livePods: [idle] })).toBeCloseTo((0.36 * 4 * MINUTE) / HOUR, 10);
    // Released at once: a tick.
    expect(committedUsd({ ...base, livePods: [{ ...idle, idleTimeoutMs: 0 }] })).toBeCloseTo(
      (0.36 * 5000) / HOUR,
      10,
    );
    // Busy: its job, then its own idle timeout.
    expect(committedUsd({ ...base, livePods: [{ ...busy, idleTimeoutMs: 30 * MINUTE }] })).toBeCloseTo(
      (0.36 * 35 * MINUTE) / HOUR,
      10,
    );
  });

  it('commits a requested or booting pod at the rest of its boot, one job and one idle timeout', () => {
    const justRequested = {
      state: 'requested' as const,
      costPerHour: 0.34,
      requestedAt: NOW,
      lastBusyAt: null,
    };
    expect(committedUsd({ ...base, livePods: [justRequested] })).toBeCloseTo(newPodUsd(0.34, base), 10);
    // Four minutes into its boot: what it accrued is in today's spend; six minutes of boot remain at most.
    const booting = {
      state: 'starting' as const,
      costPerHour: 0.34,
      requestedAt: NOW - 4 * MINUTE,
      lastBusyAt: null,
    };
    expect(committedUsd({ ...base, livePods: [booting] })).toBeCloseTo((0.34 * 16 * MINUTE) / HOUR, 10);
    // Past its boot deadline (about to be terminated): still its job and idle timeout, never less.
    const late = {
      state: 'starting' as const,
      costPerHour: 0.34,
      requestedAt: NOW - HOUR,
      lastBusyAt: NOW - MINUTE,
    };
    expect(committedUsd({ ...base, livePods: [late] })).toBeCloseTo((0.34 * 10 * MINUTE) / HOUR, 10);
  });

  it('refuses new work that would cross the limit, counting what is already committed', () => {
    const inputs: BudgetInputs = {
      ...base,
      limitUsd: 1.1,
      spentTodayUsd: 0.8,
      livePods: [{ state: 'busy', costPerHour: 1.2, requestedAt: NOW - HOUR, lastBusyAt: NOW - MINUTE }],
    };
    // committed 0.2 (a 5-minute job and a 5-minute idle timeout at $1.2/h): + 0.09 fits (at 1.09), + 0.11 does not
    expect(wouldCrossBudget(inputs, 0.09)).toBe(false);
    expect(wouldCrossBudget(inputs, 0.11)).toBe(true);
  });

  it('admits work only while it fits next to what the same admission already let in', () => {
    const pod = newPodUsd(0.34, base); // ~$0.113
    const inputs = { ...base, limitUsd: 0.17 };
    expect(admits(inputs, 0, pod)).toBe(true);
    expect(admits(inputs, pod, pod)).toBe(false);
    // The first pod, once its row is written, is counted by the next admission's inputs.
    const next = {
      ...inputs,
      livePods: [{ state: 'requested' as const, costPerHour: 0.34, requestedAt: NOW, lastBusyAt: null }],
    };
    expect(admits(next, 0, pod)).toBe(false);
    expect(admits(next, 0, 0.05)).toBe(true);
    expect(admits({ ...inputs, spentTodayUsd: 0.17 }, 0, 0)).toBe(false);
  });

  it('keeps room for one pod at one pod once that pod is up, idle or busy', () => {
    const pod = newPodUsd(0.34, base);
    const roomForOne = { ...base, limitUsd: 0.13 };
    expect(admits(roomForOne, 0, pod)).toBe(true);
    for (const state of ['requested', 'starting', 'ready', 'busy'] as const) {
      const first = { state, costPerHour: 0.34, requestedAt: NOW - 5000, lastBusyAt: NOW };
      expect(admits({ ...roomForOne, livePods: [first] }, 0, pod)).toBe(false);
    }
  });

  it('never blocks with no limit (0)', () => {
    expect(wouldCrossBudget({ ...base, limitUsd: 0, spentTodayUsd: 1e6 }, 1e6)).toBe(false);
    expect(budgetReached({ ...base, limitUsd: 0, spentTodayUsd: 1e6 })).toBe(false);
    expect(admits({ ...base, limitUsd: 0, spentTodayUsd: 1e6 }, 1e6, 1e6)).toBe(true);
  });

  it("is reached once today's spend meets the limit", () => {
    expect(budgetReached({ ...base, spentTodayUsd: 9.99 })).toBe(false);
    expect(budgetReached({ ...base, spentTodayUsd: 10 })).toBe(true);
  });

  it('prices a new pod as its boot deadline, one job and the idle timeout', () => {
    expect(newPodUsd(0.34, base)).toBeCloseTo((0.34 * 20) / 60, 10);
  });

  it('prices a cloud job at the serverless price, or at the dearest live pod', () => {
    expect(serverlessJobUsd(base)).toBeCloseTo(0.00034 * 300, 10);
    const pods = [
      { state: 'ready' as const, costPerHour: 0.34, requestedAt: NOW, lastBusyAt: null },
      { state: 'busy' as const, costPerHour: 0.69, requestedAt: NOW, lastBusyAt: null },
    ];
    expect(podJobUsd({ ...base, livePods: pods })).toBeCloseTo((0.69 * 5) / 60, 10);
    expect(podJobUsd(base)).toBe(0);
  });
});
