import { waitForWarmWorker, type WarmWaitInput } from './warm-worker-wait.policy';

const input = (overrides: Partial<WarmWaitInput>): WarmWaitInput => ({
  warm: [],
  loadS: 35,
  runS: 6,
  deadlineMarginS: 120,
  ...overrides,
});

describe('waitForWarmWorker', () => {
  it('waits for the busy worker with the model loaded when it frees before a load on the idle one would end', () => {
    expect(waitForWarmWorker(input({ warm: [{ workerId: 'a', freeInS: 5 }] }))).toBe('a');
    expect(waitForWarmWorker(input({ warm: [{ workerId: 'a', freeInS: 35 }] }))).toBe('a');
  });

  it('takes the idle worker when the warm one frees later than the load would end', () => {
    expect(waitForWarmWorker(input({ warm: [{ workerId: 'a', freeInS: 36 }] }))).toBeNull();
  });

  it('waits for the warm worker that frees first', () => {
    const warm = [
      { workerId: 'a', freeInS: 20 },
      { workerId: 'b', freeInS: 4 },
      { workerId: 'c', freeInS: 10 },
    ];
    expect(waitForWarmWorker(input({ warm }))).toBe('b');
  });

  it('takes the idle worker when no busy worker has the model, or no load is known', () => {
    expect(waitForWarmWorker(input({ warm: [] }))).toBeNull();
    expect(waitForWarmWorker(input({ warm: [{ workerId: 'a', freeInS: 1 }], loadS: 0 }))).toBeNull();
  });

  it('ignores a warm worker whose free time is not a number (an estimate that cannot be trusted)', () => {
    expect(waitForWarmWorker(input({ warm: [{ workerId: 'a', freeInS: NaN }] }))).toBeNull();
    expect(
      waitForWarmWorker(
        input({
          warm: [
            { workerId: 'a', freeInS: NaN },
            { workerId: 'b', freeInS: 3 },
          ],
        }),
      ),
    ).toBe('b');
  });

  it('waits with a deadline only if the warm worker still finishes the job the margin before it', () => {
    const warm = [{ workerId: 'a', freeInS: 10 }];
    // Free in 10 s, runs 6 s: done at 16 s; a deadline in 136 s leaves exactly the 120 s margin.
    expect(waitForWarmWorker(input({ warm, deadlineInS: 136 }))).toBe('a');
    expect(waitForWarmWorker(input({ warm, deadlineInS: 135 }))).toBeNull();
  });
});
