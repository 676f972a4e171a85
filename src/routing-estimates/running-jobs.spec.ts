import { RunningJobs } from './running-jobs';

describe('RunningJobs (jobs this process started on local workers and pods)', () => {
  const job = (workerId: string, startedAt: number, medianS: number) => ({
    workerId,
    startedAt,
    medianS,
    p90S: medianS * 2,
  });

  it("gives each local worker's expected ends, soonest first, and each pod's latest", () => {
    const running = new RunningJobs();
    running.started('a', 'local', job('w1', 0, 50));
    running.started('b', 'local', job('w1', 0, 20));
    running.started('c', 'local', job('w2', 0, 10));
    running.started('d', 'pod', job('pod-1', 0, 30));
    running.started('e', 'pod', job('pod-1', 0, 40));
    expect(running.localEnds('w1', 1_000)).toEqual([20_000, 50_000]);
    expect(running.localEnds('pod-1', 1_000)).toEqual([]);
    expect(running.localEndsByWorker(1_000)).toEqual(
      new Map([
        ['w1', [50_000, 20_000]],
        ['w2', [10_000]],
      ]),
    );
    expect(running.podEnds(1_000)).toEqual(new Map([['pod-1', 40_000]]));
    // Past its median, a job is expected at its p90.
    expect(running.localEnds('w2', 15_000)).toEqual([20_000]);
  });

  it('forgets a job whose attempt ended, on a local worker or a pod', () => {
    const running = new RunningJobs();
    running.started('a', 'local', job('w1', 0, 50));
    running.started('d', 'pod', job('pod-1', 0, 30));
    running.ended('a');
    running.ended('d');
    running.ended('never-started');
    expect(running.localEnds('w1', 0)).toEqual([]);
    expect(running.podEnds(0).size).toBe(0);
  });
});
