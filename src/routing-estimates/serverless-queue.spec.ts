import { serverlessWorkerFreeAt, type InFlightServerlessJob } from './serverless-queue';

const NOW = 1_000_000;
const S = 1000;
const sent = (agoS: number, medianS: number, startDelayS = 2, p90S = medianS * 2): InFlightServerlessJob => ({
  sentAt: NOW - agoS * S,
  startDelayS,
  medianS,
  p90S,
});

describe('serverlessWorkerFreeAt (when a saturated endpoint frees a worker for a job sent now)', () => {
  it('is null while a worker is free or the worker count is unknown', () => {
    expect(serverlessWorkerFreeAt([sent(10, 240)], 2, 1, NOW)).toBeNull();
    expect(serverlessWorkerFreeAt([sent(10, 240)], Infinity, 1, NOW)).toBeNull();
    expect(serverlessWorkerFreeAt([], 0, 1, NOW)).toBeNull();
  });

  it('takes the running job that should end first, by its own estimate', () => {
    // Two videos, sent 100 s and 10 s ago (2 s start each): they end in 142 s and 232 s.
    expect(serverlessWorkerFreeAt([sent(10, 240), sent(100, 240)], 2, 1, NOW)).toBe(NOW + 142 * S);
    // An image among them frees its worker first.
    expect(serverlessWorkerFreeAt([sent(10, 240), sent(5, 20)], 2, 1, NOW)).toBe(NOW + 17 * S);
  });

  it('serves the jobs queued at RunPod first, in the order they were sent, each a warm start and its median later', () => {
    // One worker: the video ends in 142 s; the two images queued behind it take 1 + 10 s each.
    const queued = [sent(100, 240), sent(50, 10), sent(40, 10)];
    expect(serverlessWorkerFreeAt(queued, 1, 1, NOW)).toBe(NOW + (142 + 11 + 11) * S);
    // Two workers: the first image takes the one that frees at 17 s; the second the next free one.
    const two = [sent(5, 20), sent(10, 240), sent(4, 10), sent(3, 10)];
    expect(serverlessWorkerFreeAt(two, 2, 1, NOW)).toBe(NOW + (17 + 11 + 11) * S);
  });

  it('moves a job past its median to its p90, then to as long again as it has run, never before now', () => {
    // 300 s ago, 240 s median, 400 s p90: past the median, so at its p90, in 102 s.
    expect(serverlessWorkerFreeAt([sent(300, 240, 2, 400)], 1, 1, NOW)).toBe(NOW + 102 * S);
    // Past its p90 too (run 498 s so far): as long again.
    expect(serverlessWorkerFreeAt([sent(500, 240, 2, 400)], 1, 1, NOW)).toBe(NOW + 498 * S);
  });
});
