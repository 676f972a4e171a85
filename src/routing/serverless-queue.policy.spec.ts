import type { ServerlessHealth } from '../runpod/serverless-client';
import { stuckInQueue } from './serverless-queue.policy';

function health(inProgress: number, workers: Partial<ServerlessHealth['workers']> = {}): ServerlessHealth {
  return {
    jobs: { completed: 0, failed: 0, inProgress, inQueue: 1, retried: 0 },
    workers: { idle: 0, initializing: 0, ready: 0, running: 0, throttled: 0, unhealthy: 0, ...workers },
  };
}

const TEN_MINUTES = 600_000;

describe('stuckInQueue', () => {
  it('is not stuck before the timeout, whatever the endpoint says', () => {
    expect(
      stuckInQueue({ endpointId: 'ep', queuedForMs: TEN_MINUTES - 1, timeoutMs: TEN_MINUTES, health: null }),
    ).toEqual({ stuck: false });
  });

  it('is stuck at the timeout when the endpoint runs no job, and names its workers', () => {
    expect(
      stuckInQueue({
        endpointId: 'ep-1',
        queuedForMs: TEN_MINUTES + 400,
        timeoutMs: TEN_MINUTES,
        health: health(0, { throttled: 2, initializing: 1 }),
      }),
    ).toEqual({
      stuck: true,
      reason:
        'serverless endpoint ep-1 kept the job in its queue for 600 s without running any job ' +
        '(workers: 0 running, 0 idle, 1 initializing, 2 throttled, 0 unhealthy)',
    });
  });

  it('keeps waiting behind a queue that moves: some job is in progress', () => {
    expect(
      stuckInQueue({
        endpointId: 'ep',
        queuedForMs: 3 * TEN_MINUTES,
        timeoutMs: TEN_MINUTES,
        health: health(1, { running: 1 }),
      }),
    ).toEqual({ stuck: false });
  });

  it('is stuck when the endpoint cannot even report its health', () => {
    expect(
      stuckInQueue({ endpointId: 'ep', queuedForMs: TEN_MINUTES, timeoutMs: TEN_MINUTES, health: null }),
    ).toEqual({
      stuck: true,
      reason: 'serverless endpoint ep kept the job in its queue for 600 s, and its /health could not be read',
    });
  });

  it('never with the timeout off (0)', () => {
    expect(stuckInQueue({ endpointId: 'ep', queuedForMs: 1e12, timeoutMs: 0, health: health(0) })).toEqual({
      stuck: false,
    });
  });
});
