import type { AttemptRecord, MissedDeadline } from './engine';
import { countMissCauses, missCause } from './miss-cause';
import { DEFAULT_MODEL } from './model';

/** A Wan video (median 240 s, σ 0.5: p90 456 s) due 200 s after its run. */
function miss(attempts: AttemptRecord[], durationS = 300): MissedDeadline {
  return {
    jobId: 1,
    kind: 'video',
    checkpoint: 'wan-video',
    arrivalS: 1000,
    deadlineS: 1000 + durationS + 200,
    durationS,
    completedS: 1600,
    attempts,
  };
}

const ok = (startS: number, extra: Partial<AttemptRecord> = {}): AttemptRecord => ({
  backend: 'local',
  workerId: 'local-2',
  startS,
  loadS: 0,
  endS: startS + 300,
  outcome: 'ok',
  ...extra,
});

describe('missCause', () => {
  it('calls a failure late when a rerun started at once, with no start or load, would still be late', () => {
    // Deadline 1500, run 300: a failure at 1250 leaves 250 s; at 1150, 350 s.
    const late = { ...ok(1000), endS: 1250, outcome: 'crash' as const };
    expect(missCause(miss([late, ok(1260)]), DEFAULT_MODEL)).toBe('failed-late');
    const early = { ...ok(1000), endS: 1150, outcome: 'error' as const };
    expect(missCause(miss([early, ok(1300)]), DEFAULT_MODEL)).toBe('router');
  });

  it('calls a serverless start slower than any cold start outside the tail a tail start', () => {
    const sent = (delayS: number) => ok(1000 + delayS, { backend: 'serverless', submittedS: 1000 });
    expect(missCause(miss([sent(251)]), DEFAULT_MODEL)).toBe('cold-start-tail');
    expect(missCause(miss([sent(DEFAULT_MODEL.coldMissMaxS)]), DEFAULT_MODEL)).toBe('router');
  });

  it("calls a run beyond its class's p90 long, and leaves the rest to the router", () => {
    expect(missCause(miss([ok(1200)], 587), DEFAULT_MODEL)).toBe('long-run');
    expect(missCause(miss([ok(1200)], 440), DEFAULT_MODEL)).toBe('router');
  });

  it('counts each cause', () => {
    expect(countMissCauses(['router', 'long-run', 'router'])).toBe(
      'failed-late 0, cold-start-tail 0, long-run 1, router 2',
    );
  });
});
