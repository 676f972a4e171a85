import { MINUTE, SECOND } from '../common/clock';
import { CloudTestBed } from './testing/cloud-test-bed';

/**
 * The drift sweeper on the in-process test bed: RunPod's side is changed behind the service's back (a pod it
 * does not track, a pod terminated in the console), then one sweep runs. Assertions from the README's "Sweeper".
 */
const BOOT_MS = 60 * SECOND;

describe('pod sweeper (test bed)', () => {
  let bed: CloudTestBed;

  afterEach(async () => {
    await bed?.close();
  });

  it('terminates a pod under our name prefix that the service does not track (CLOUD_ORPHAN_POLICY=terminate)', async () => {
    bed = await CloudTestBed.create({ pods: { bootMs: BOOT_MS } });
    const orphan = bed.runpod.addForeignPod(
      { name: `${bed.config.cloud.podNamePrefix}-0123456789` },
      bed.clock.now() - 10 * MINUTE,
    );
    const stranger = bed.runpod.addForeignPod({ name: 'someone-elses-pod' });

    const report = await bed.sweep();
    expect(report.orphansTerminated).toEqual([orphan.id]);
    expect(bed.runpod.pod(orphan.id)?.terminatedAt).toBe(bed.clock.now());
    expect(bed.runpod.pod(stranger.id)?.terminatedAt).toBeNull();
    expect(await bed.rows()).toEqual([]);
    expect(bed.logs.lines.some((line) => line.startsWith('ERROR') && line.includes(orphan.id))).toBe(true);
  });

  it('adopts such a pod with CLOUD_ORPHAN_POLICY=adopt: it boots to ready and is billed from its creation', async () => {
    bed = await CloudTestBed.create({ env: { CLOUD_ORPHAN_POLICY: 'adopt' }, pods: { bootMs: BOOT_MS } });
    const createdAt = bed.clock.now() - 5 * MINUTE;
    const orphan = bed.runpod.addForeignPod(
      { name: `${bed.config.cloud.podNamePrefix}-abcdef0123` },
      createdAt,
    );

    expect((await bed.sweep()).orphansAdopted).toEqual([orphan.id]);
    expect(await bed.rows()).toMatchObject([
      { runpodId: orphan.id, origin: 'adopted', state: 'starting', createdAt },
    ]);
    await bed.tick();
    const [row] = await bed.rows();
    expect(row.state).toBe('ready');
    expect(row.costUsd).toBeCloseTo(bed.runpod.billedUsd(orphan.id), 6);
  });

  it('closes the row of a pod terminated outside the service, with its cost settled up to then', async () => {
    bed = await CloudTestBed.create({ env: { CLOUD_POLICY: 'seed' }, pods: { bootMs: BOOT_MS } });
    bed.publishDemand({ waitingForCloud: 1, waitingForPodOnly: 1 });
    await bed.tick();
    await bed.advanceAndTick(BOOT_MS);
    bed.publishDemand({ waitingForCloud: 0, waitingForPodOnly: 0 });
    const [ready] = await bed.rows();
    expect(ready.state).toBe('ready');

    bed.clock.advance(MINUTE);
    bed.runpod.terminateOutside(ready.runpodId!);
    const report = await bed.sweep();
    expect(report.closedGone).toEqual([ready.name]);
    const closed = await bed.podRows.findByName(ready.name);
    expect(closed).toMatchObject({ state: 'terminated', terminatedAt: bed.clock.now() });
    expect(closed!.costUsd).toBeCloseTo(bed.runpod.billedUsd(ready.runpodId!), 6);
  });

  it('attaches a write-ahead row whose create reached RunPod although neither the answer nor the lookup did', async () => {
    bed = await CloudTestBed.create({ pods: { bootMs: BOOT_MS } });
    bed.runpod.loseNextCreateAnswer().failNext('listByNamePrefix');
    bed.publishDemand({ waitingForCloud: 1, waitingForPodOnly: 1 });
    await bed.tick();
    // The outcome is unknown: the row stays `requested`, with no RunPod id.
    const [requested] = await bed.rows();
    expect(requested).toMatchObject({ state: 'requested', runpodId: null });
    expect(bed.runpod.allPods()).toHaveLength(1);

    const report = await bed.sweep();
    expect(report.attached).toEqual([requested.name]);
    expect(await bed.podRows.findByName(requested.name)).toMatchObject({
      state: 'starting',
      runpodId: bed.runpod.allPods()[0].id,
    });
  });
});
