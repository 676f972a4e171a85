import { holdForLocal, type LocalHoldJob } from './local-hold.policy';

const OPTIONS = { waitTargetS: 30, waitPerRun: 0.5, deadlineMarginS: 120 };

function job(overrides: Partial<LocalHoldJob> = {}): LocalHoldJob {
  return { waitedS: 0, mayUse: () => true, runS: () => 10, ...overrides };
}

describe('holdForLocal', () => {
  it('holds a job for a busy worker that frees within the wait target, and not for one that frees later', () => {
    expect(holdForLocal([job()], [{ workerId: 'w1', freeInS: 20 }], OPTIONS)).toEqual(['w1']);
    expect(holdForLocal([job()], [{ workerId: 'w1', freeInS: 40 }], OPTIONS)).toEqual([null]);
  });

  it('lets a long job wait up to its per-run share (a 240 s video waits up to 120 s)', () => {
    const video = job({ runS: () => 240 });
    expect(holdForLocal([video], [{ workerId: 'w1', freeInS: 110 }], OPTIONS)).toEqual(['w1']);
    expect(holdForLocal([video], [{ workerId: 'w1', freeInS: 130 }], OPTIONS)).toEqual([null]);
  });

  it('counts what the job waited already, so an overrunning worker is left to the cloud', () => {
    expect(holdForLocal([job({ waitedS: 25 })], [{ workerId: 'w1', freeInS: 0 }], OPTIONS)).toEqual(['w1']);
    expect(holdForLocal([job({ waitedS: 31 })], [{ workerId: 'w1', freeInS: 0 }], OPTIONS)).toEqual([null]);
  });

  it('only considers workers the job may use, each slot taken in queue order', () => {
    const slots = [
      { workerId: 'flux', freeInS: 5 },
      { workerId: 'wan', freeInS: 25 },
    ];
    const onlyWan = job({ mayUse: (id) => id === 'wan' });
    expect(holdForLocal([onlyWan], slots, OPTIONS)).toEqual(['wan']);
    // The first job takes the wan slot until 25 + 10 = 35 s: the second would start past the target.
    expect(holdForLocal([onlyWan, onlyWan], slots, OPTIONS)).toEqual(['wan', null]);
    expect(holdForLocal([job({ mayUse: () => false })], slots, OPTIONS)).toEqual([null]);
  });

  it('a job not held leaves its slot to the jobs behind it', () => {
    const long = job({ runS: () => 10, waitedS: 100 }); // waited too long: goes to the cloud
    expect(holdForLocal([long, job()], [{ workerId: 'w1', freeInS: 10 }], OPTIONS)).toEqual([null, 'w1']);
  });

  it('holds a deadline job only if the worker finishes it the margin before its deadline', () => {
    const slots = [{ workerId: 'w1', freeInS: 10 }];
    expect(holdForLocal([job({ deadlineInS: 200 })], slots, OPTIONS)).toEqual(['w1']);
    expect(holdForLocal([job({ deadlineInS: 100 })], slots, OPTIONS)).toEqual([null]);
  });

  it('places jobs in queue order, a job only a local worker may run whatever the wait', () => {
    const slots = [{ workerId: 'w1', freeInS: 10 }];
    const localOnly = job({ localOnly: true, runS: () => 30 });
    // Ahead in the queue, it takes the slot until 40 s: the job behind would start past its 30 s.
    expect(holdForLocal([localOnly, job()], slots, OPTIONS)).toEqual(['w1', null]);
    // Behind a held job, it comes after it, as the dispatcher hands out the freed slot.
    expect(holdForLocal([job(), localOnly], slots, OPTIONS)).toEqual(['w1', 'w1']);
    // It is placed however long the wait.
    expect(holdForLocal([job({ localOnly: true, waitedS: 1000 })], slots, OPTIONS)).toEqual(['w1']);
  });

  it('holds nothing on an estimate that is not a number (it would wait for ever)', () => {
    expect(holdForLocal([job({ runS: () => NaN })], [{ workerId: 'w1', freeInS: 1 }], OPTIONS)).toEqual([
      null,
    ]);
    expect(holdForLocal([job({ waitedS: NaN })], [{ workerId: 'w1', freeInS: 1 }], OPTIONS)).toEqual([null]);
    expect(holdForLocal([job()], [{ workerId: 'w1', freeInS: NaN }], OPTIONS)).toEqual([null]);
  });

  it('waits for nothing when both allowances are 0', () => {
    expect(
      holdForLocal([job()], [{ workerId: 'w1', freeInS: 1 }], { ...OPTIONS, waitTargetS: 0, waitPerRun: 0 }),
    ).toEqual([null]);
  });
});
