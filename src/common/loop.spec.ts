import { jest } from '@jest/globals';
import type { Logger } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';
import { startLoop } from './loop';

function recordingLogger(): { logger: Logger; errors: string[] } {
  const errors: string[] = [];
  return { logger: { error: (message: string) => errors.push(message) } as unknown as Logger, errors };
}

describe('startLoop', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('runs every interval under its name in the scheduler, and stop() clears it', async () => {
    const scheduler = new SchedulerRegistry();
    let runs = 0;
    const loop = startLoop(scheduler, 'test-loop', 1000, () => {
      runs++;
    });
    expect(scheduler.getIntervals()).toEqual(['test-loop']);
    await jest.advanceTimersByTimeAsync(3000);
    expect(runs).toBe(3);
    await loop.stop();
    await loop.stop();
    expect(scheduler.getIntervals()).toEqual([]);
    await jest.advanceTimersByTimeAsync(3000);
    expect(runs).toBe(3);
  });

  it('never overlaps runs: a firing during a run is skipped, and stop() waits for the run', async () => {
    const scheduler = new SchedulerRegistry();
    let started = 0;
    let finish!: () => void;
    const loop = startLoop(scheduler, 'slow-loop', 1000, () => {
      started++;
      return new Promise<void>((resolve) => (finish = resolve));
    });
    await jest.advanceTimersByTimeAsync(5000);
    expect(started).toBe(1);

    let stopped = false;
    const stopping = loop.stop().then(() => (stopped = true));
    await jest.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(stopped).toBe(true);
  });

  it('logs a failed run with the loop’s name and goes on', async () => {
    const scheduler = new SchedulerRegistry();
    const { logger, errors } = recordingLogger();
    let runs = 0;
    const loop = startLoop(
      scheduler,
      'flaky-loop',
      1000,
      () => {
        runs++;
        if (runs === 1) throw new Error('boom');
        if (runs === 2) return Promise.reject(new Error('later boom'));
      },
      logger,
    );
    await jest.advanceTimersByTimeAsync(3000);
    expect(runs).toBe(3);
    expect(errors).toEqual(['Loop flaky-loop failed: boom', 'Loop flaky-loop failed: later boom']);
    await loop.stop();
  });
});
