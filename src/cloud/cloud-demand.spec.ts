import { CloudDemandBoard } from './cloud-demand';

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
