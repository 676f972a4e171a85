import { breakEvenQueue, CloudDemandBoard } from './cloud-demand';
import { UNKNOWN_JOB_CLASS } from './policy/breakeven.policy';

describe('CloudDemandBoard: the autoscaler reads counts no older than a pass under way', () => {
  it('settles at once when no pass is under way', async () => {
    const board = new CloudDemandBoard();
    await expect(board.settled(60_000)).resolves.toBeUndefined();
  });

  it('waits for the pass under way to publish and end, then shows its counts', async () => {
    const board = new CloudDemandBoard();
    board.publish({ waitingForCloud: 1, waitingForPodOnly: 1 });
    const passEnded = board.passBegins();
    let settled = false;
    const waiting = board.settled(60_000).then(() => {
      settled = true;
      return board.current().waitingForPodOnly;
    });
    await Promise.resolve();
    expect(settled).toBe(false);
    // The pass started the job on the pod that became free, then published.
    board.publish({ waitingForCloud: 0, waitingForPodOnly: 0 });
    passEnded();
    await expect(waiting).resolves.toBe(0);
  });

  it('waits until overlapping passes have all ended; ending one twice counts once', async () => {
    const board = new CloudDemandBoard();
    const first = board.passBegins();
    const second = board.passBegins();
    let settled = false;
    const waiting = board.settled(60_000).then(() => (settled = true));
    first();
    first();
    await Promise.resolve();
    expect(settled).toBe(false);
    second();
    await waiting;
    expect(settled).toBe(true);
  });

  it('gives up after the bound when a pass never ends (a stuck pass must not stop the reaper)', async () => {
    const board = new CloudDemandBoard();
    board.passBegins();
    const startedAt = Date.now();
    await board.settled(20);
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(15);
  });
});

describe('breakEvenQueue: the forecast queue from the published demand', () => {
  const NOW = 1_000_000;

  it('gives each waiting job the class its source listed, pod-only jobs first', () => {
    const board = new CloudDemandBoard();
    board.publish({
      waitingForCloud: 3,
      waitingForPodOnly: 1,
      heldForNewPod: 1,
      mayRunLocally: 1,
      queuedJobs: [
        { arrivedAt: NOW, jobClass: 'image', podOnly: false },
        { arrivedAt: NOW, jobClass: 'video', podOnly: true },
        { arrivedAt: NOW, jobClass: 'video', podOnly: false },
      ],
    });
    expect(breakEvenQueue(board.current())).toEqual([
      { jobClass: 'video', podOnly: true },
      // A local worker may take the first; the last is held for a new pod (per-pass counts).
      { jobClass: 'image', podOnly: false, mayRunLocally: true, heldForNewPod: false },
      { jobClass: 'video', podOnly: false, mayRunLocally: false, heldForNewPod: true },
    ]);
  });

  it('counts a job its source did not list as of unknown class (the mean job)', () => {
    const board = new CloudDemandBoard();
    board.publish({ waitingForCloud: 2, waitingForPodOnly: 1 }, 'counts-only');
    expect(breakEvenQueue(board.current()).map((job) => job.jobClass)).toEqual([
      UNKNOWN_JOB_CLASS,
      UNKNOWN_JOB_CLASS,
    ]);
  });

  it('sums the jobs of several sources, and remembers the class of each cloud start', () => {
    const board = new CloudDemandBoard();
    board.publish(
      { waitingForCloud: 1, queuedJobs: [{ arrivedAt: NOW, jobClass: 'image', podOnly: false }] },
      'a',
    );
    board.publish(
      { waitingForCloud: 1, queuedJobs: [{ arrivedAt: NOW, jobClass: 'video', podOnly: false }] },
      'b',
    );
    expect(board.current().queuedJobs.map((job) => job.jobClass)).toEqual(['image', 'video']);

    board.recordCloudStart(NOW, NOW - 10_000, 'video');
    board.recordCloudStart(NOW, NOW - 5_000);
    expect(board.cloudArrivalsSince(NOW - 60_000)).toEqual([
      { arrivedAt: NOW - 10_000, jobClass: 'video' },
      { arrivedAt: NOW - 5_000, jobClass: UNKNOWN_JOB_CLASS },
    ]);
  });
});
