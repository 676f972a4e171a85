import { replayPods } from './pod-demand.policy';

describe('replayPods (the counterfactual pod replay)', () => {
  it('a steady stream fills the first rank; overlapping jobs spill to the next rank', () => {
    // Window 100 s. Jobs of 10 s at 90, 70, 50 s ago: rank 0 takes all three (30 s busy).
    expect(
      replayPods(
        [
          { agoS: 90, durationS: 10 },
          { agoS: 70, durationS: 10 },
          { agoS: 50, durationS: 10 },
        ],
        100,
        2,
        0,
      ),
    ).toEqual([
      // Idle 10 s between its jobs: the gaps its idle timeout is learned from.
      { busyFraction: 0.3, jobs: 3, idleGapsS: [10, 10] },
      { busyFraction: 0, jobs: 0, idleGapsS: [] },
    ]);
    // Two at once, no wait allowed: one per rank.
    expect(
      replayPods(
        [
          { agoS: 90, durationS: 10 },
          { agoS: 90, durationS: 10 },
        ],
        100,
        2,
        0,
      ),
    ).toEqual([
      { busyFraction: 0.1, jobs: 1, idleGapsS: [] },
      { busyFraction: 0.1, jobs: 1, idleGapsS: [] },
    ]);
  });

  it('a burst gives each pod only what it starts within the wait target; the rest is serverless', () => {
    // 20 jobs of 30 s at once, wait target 30 s, 3 pods: each pod takes 2 (start at 0 and 30 s), 14 go elsewhere.
    const burst = Array.from({ length: 20 }, () => ({ agoS: 300, durationS: 30 }));
    const replay = replayPods(burst, 600, 3, 30);
    expect(replay.map((pod) => pod.jobs)).toEqual([2, 2, 2]);
    expect(replay[0].busyFraction).toBeCloseTo(0.1, 12);
    // Back to back: no idle gap between a rank's two jobs.
    expect(replay[0].idleGapsS).toEqual([]);
  });

  it('work running past now counts up to now; arrivals outside the window are ignored', () => {
    expect(
      replayPods(
        [
          { agoS: 5, durationS: 30 },
          { agoS: 200, durationS: 30 },
        ],
        100,
        1,
        0,
      ),
    ).toEqual([{ busyFraction: 0.05, jobs: 1, idleGapsS: [] }]);
  });

  it('no pods or no window: nothing', () => {
    expect(replayPods([{ agoS: 5, durationS: 30 }], 100, 0, 0)).toEqual([]);
    expect(replayPods([{ agoS: 5, durationS: 30 }], 0, 1, 0)).toEqual([
      { busyFraction: 0, jobs: 0, idleGapsS: [] },
    ]);
  });

  it("a job's own maxWaitS overrides the wait target", () => {
    // Rank 0 busy until 20 s ago: the second job (arrived 60 s ago) would wait 40 s.
    const jobs = [
      { agoS: 90, durationS: 70 },
      { agoS: 60, durationS: 10, maxWaitS: 45 },
    ];
    expect(replayPods(jobs, 100, 1, 30)).toEqual([{ busyFraction: 0.8, jobs: 2, idleGapsS: [] }]);
    expect(replayPods([jobs[0], { ...jobs[1], maxWaitS: 30 }], 100, 1, 30)).toEqual([
      { busyFraction: 0.7, jobs: 1, idleGapsS: [] },
    ]);
  });
});
