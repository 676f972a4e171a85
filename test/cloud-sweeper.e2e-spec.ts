import { PodSweeper } from '../src/cloud/pod-sweeper.service';
import { HOUR, MINUTE } from '../src/common/clock';
import { PodEntity } from '../src/persistence/entities/pod.entity';
import { PodsRepository } from '../src/persistence/pods.repository';
import { CloudHarness } from './support/cloud-harness';

/** "Never lose a pod": the sweeper, CLOUD_MAX_POD_LIFETIME and the GPU capacity back-off. */
describe('never lose a pod', () => {
  let h: CloudHarness | undefined;

  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function start(env: Record<string, string> = {}): Promise<CloudHarness> {
    h = await CloudHarness.start({ env });
    return h;
  }

  const sweeper = () => h!.app!.get(PodSweeper);
  const podsRepository = () => h!.app!.get(PodsRepository);

  /** Creates a pod at the fake RunPod directly, as another tool (or a crashed run of ours) would. */
  async function createAtRunPod(name: string): Promise<{ id: string; name: string }> {
    const response = await fetch(`${h!.fake.restV2Url}/pods`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h!.fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name,
        image: 'example/comfyui:latest',
        gpu: { id: 'NVIDIA GeForce RTX 3090', count: 1 },
        cloud: 'SECURE',
        ports: ['8188/http'],
        disk: 50,
      }),
    });
    expect(response.status).toBeLessThan(300);
    const body = (await response.json()) as { id: string; name: string };
    return { id: body.id, name: body.name };
  }

  async function deleteAtRunPod(id: string): Promise<void> {
    const response = await fetch(`${h!.fake.restV2Url}/pods/${id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${h!.fake.apiKey}` },
    });
    expect(response.status).toBeLessThan(300);
  }

  async function allPods(): Promise<any[]> {
    return (await h!.get('/api/cloud/pods?all=true')).body.pods;
  }

  function expectWithinOnePercent(actual: number, truth: number): void {
    expect(truth).toBeGreaterThan(0);
    expect(Math.abs(actual - truth) / truth).toBeLessThan(0.01);
  }

  function writeAheadRow(name: string): PodEntity {
    return Object.assign(new PodEntity(), {
      name,
      runpodId: null,
      state: 'requested',
      origin: 'manual',
      gpuTypeId: 'NVIDIA GeForce RTX 3090',
      costPerHour: 0,
      url: null,
      requestedAt: h!.clock.now(),
      createdAt: null,
      readyAt: null,
      lastBusyAt: null,
      busySince: null,
      idleMarkedAt: null,
      drainRequestedAt: null,
      terminatedAt: null,
      billedThrough: null,
      costUsd: 0,
      jobsProcessed: 0,
      failureReason: null,
    });
  }

  describe('sweeper', () => {
    it('terminates a prefixed pod at RunPod that has no row, logging what it cost', async () => {
      await start();
      const orphan = await createAtRunPod('comfyui-worker-orphan0001');
      const foreign = await createAtRunPod('someone-else-0001');
      h!.clock.advance(30 * MINUTE);

      const report = await sweeper().sweep();

      expect(report.orphansTerminated).toEqual([orphan.id]);
      expect(h!.fake.getPod(orphan.id)!.terminatedAt).not.toBeNull();
      expect(h!.fake.getPod(foreign.id)!.terminatedAt).toBeNull();
      expect(
        h!.logger.has(
          new RegExp(
            `ERROR \\[CloudSweeper\\] Orphan pod ${orphan.id} \\(comfyui-worker-orphan0001\\) runs at RunPod with no record here: \\$0\\.\\d{4}/h, \\$0\\.\\d{4} since .*terminating it`,
          ),
        ),
      ).toBe(true);
      expect(await allPods()).toEqual([]);
    });

    it('sweeps once at startup: an orphan left while the service was down is terminated on boot', async () => {
      await start();
      await h!.stopApp();
      const orphan = await createAtRunPod('comfyui-worker-orphan0003');
      await h!.startApp();
      expect(h!.fake.getPod(orphan.id)!.terminatedAt).not.toBeNull();
      expect(h!.logger.has(new RegExp(`Orphan pod ${orphan.id} .* terminating it`))).toBe(true);
    });

    it('with CLOUD_ORPHAN_POLICY=adopt takes the orphan over: it gets ready, is billed from creation and reaped', async () => {
      await start({ CLOUD_ORPHAN_POLICY: 'adopt' });
      const orphan = await createAtRunPod('comfyui-worker-orphan0002');
      h!.clock.advance(10 * MINUTE);

      expect((await sweeper().sweep()).orphansAdopted).toEqual([orphan.id]);
      expect(h!.logger.has(/ERROR \[CloudSweeper\] Orphan pod .* adopting it/)).toBe(true);
      await h!.tickUntil(async () => (await allPods())[0]?.state === 'ready');
      expect((await allPods())[0]).toMatchObject({ id: orphan.id, name: orphan.name });
      // A second sweep finds nothing to fix.
      expect(await sweeper().sweep()).toMatchObject({ orphansAdopted: [], orphansTerminated: [] });

      h!.clock.advance(6 * MINUTE);
      await h!.tick(2);
      const [pod] = await allPods();
      expect(pod.state).toBe('terminated');
      const truth = h!.fake.getPod(orphan.id)!;
      expect(truth.terminatedAt).not.toBeNull();
      expectWithinOnePercent(pod.costUsd, truth.billedUsd());
    });

    it('closes a pod terminated behind our back, with its cost equal to what RunPod billed', async () => {
      await start();
      const id = await h!.spawnReadyPod();
      h!.clock.advance(20 * MINUTE);
      await deleteAtRunPod(id);

      const report = await sweeper().sweep();

      expect(report.closedGone).toHaveLength(1);
      const [pod] = await allPods();
      expect(pod).toMatchObject({ id, state: 'terminated' });
      expectWithinOnePercent(pod.costUsd, h!.fake.getPod(id)!.billedUsd());
      expectWithinOnePercent(
        (await h!.get('/api/cloud/cost')).body.costByPod[id],
        h!.fake.getPod(id)!.billedUsd(),
      );
      expect(h!.logger.has(new RegExp(`Pod ${id} .* was terminated outside this service`))).toBe(true);
      expect((await h!.get('/api/cloud/status')).body.activePods).toBe(0);
    });

    it('attaches a write-ahead row whose pod RunPod has, and fails one RunPod never created after a grace period', async () => {
      await start();
      await podsRepository().insert(writeAheadRow('comfyui-worker-pending0001'));
      await podsRepository().insert(writeAheadRow('comfyui-worker-pending0002'));
      const created = await createAtRunPod('comfyui-worker-pending0001');

      const first = await sweeper().sweep();
      expect(first.attached).toEqual(['comfyui-worker-pending0001']);
      expect(first.neverCreated).toEqual([]);
      expect(first.orphansTerminated).toEqual([]);
      const attached = await podsRepository().findByName('comfyui-worker-pending0001');
      expect(attached).toMatchObject({
        runpodId: created.id,
        state: 'starting',
        url: h!.fake.podUrl(created.id),
      });
      expect(attached!.costPerHour).toBeGreaterThan(0);
      expect((await podsRepository().findByName('comfyui-worker-pending0002'))!.state).toBe('requested');

      h!.clock.advance(2 * MINUTE);
      expect((await sweeper().sweep()).neverCreated).toEqual(['comfyui-worker-pending0002']);
      expect(await podsRepository().findByName('comfyui-worker-pending0002')).toMatchObject({
        state: 'failed',
        failureReason: 'never created at RunPod',
      });
      // The attached one boots like any pod of ours.
      await h!.tickUntil(async () =>
        (await allPods()).some((pod) => pod.id === created.id && pod.state === 'ready'),
      );
    });
  });

  describe('CLOUD_MAX_POD_LIFETIME', () => {
    it('terminates a ready pod past its lifetime, and a busy one only after its job', async () => {
      // A 24 h idle timeout commits a day of each ready pod against the budget (the admission rule), so the
      // budget must have room for two such pods: this test is about the lifetime, not the budget.
      await start({
        CLOUD_MAX_POD_LIFETIME: String(2 * HOUR),
        CLOUD_IDLE_TIMEOUT: String(24 * HOUR),
        CLOUD_DAILY_BUDGET_USD: '50',
      });
      const idleId = await h!.spawnReadyPod();
      const busyId = await h!.spawnReadyPod();
      const busy = (await h!.lifecycle.reserveIdlePod())!;
      expect(busy).not.toBeNull();
      const readyId = busy.runpodId === idleId ? busyId : idleId;

      h!.clock.advance(2 * HOUR - MINUTE);
      await h!.tick();
      expect(h!.fake.runningPods()).toHaveLength(2);

      h!.clock.advance(MINUTE);
      await h!.tick();
      expect(h!.fake.getPod(readyId)!.terminatedAt).not.toBeNull();
      expect(h!.fake.getPod(busy.runpodId!)!.terminatedAt).toBeNull();
      const draining = await podsRepository().findByName(busy.name);
      expect(draining).toMatchObject({ state: 'busy', drainRequestedAt: expect.any(Number) });
      expect(h!.logger.has(/older than CLOUD_MAX_POD_LIFETIME \(7200s\), terminating/)).toBe(true);

      await h!.lifecycle.releasePod(busy.name, true);
      // Ready again but draining: the router may not give it new work.
      expect(await h!.lifecycle.reserveIdlePod()).toBeNull();
      await h!.tick();
      expect(h!.fake.getPod(busy.runpodId!)!.terminatedAt).not.toBeNull();
      expect((await allPods()).map((pod) => pod.state)).toEqual(['terminated', 'terminated']);
    });
  });

  describe('GPU capacity back-off', () => {
    it('skips a GPU type after "no capacity", shows it in status, and fails fast when every type is backed off', async () => {
      await start({ CLOUD_GPU_FALLBACKS: 'NVIDIA RTX 4090' });
      h!.fake.faults.noCapacity('NVIDIA GeForce RTX 3090');
      const beforeFailure = h!.clock.now();
      const first = await h!.post('/api/cloud/spawn?wait=false');
      expect(first.status).toBe(202);
      expect(first.body.pod.gpuType).toBe('NVIDIA GeForce RTX 4090');

      const status = (await h!.get('/api/cloud/status')).body;
      expect(status.gpuBackoff).toEqual([
        {
          gpuType: 'NVIDIA GeForce RTX 3090',
          until: new Date(Date.parse(status.gpuBackoff[0].until)).toISOString(),
          failures: 1,
        },
      ]);
      // One minute from the failure, which happened between these two readings of the clock (it follows real
      // time, so a fixed "more than 55 s left" would bet on how fast a busy machine answers two requests).
      const until = Date.parse(status.gpuBackoff[0].until);
      expect(until).toBeGreaterThanOrEqual(beforeFailure + 60_000);
      expect(until).toBeLessThanOrEqual(h!.clock.now() + 60_000);

      // The next spawn does not ask RunPod for the backed-off type at all.
      const creates = () => h!.fake.requests({ api: 'rest', method: 'POST', path: '/v2/pods' }).length;
      const before = creates();
      const second = await h!.post('/api/cloud/spawn?wait=false');
      expect(second.status).toBe(202);
      expect(second.body.pod.gpuType).toBe('NVIDIA GeForce RTX 4090');
      expect(creates() - before).toBe(1);

      h!.fake.faults.noCapacity('NVIDIA GeForce RTX 4090');
      expect((await h!.post('/api/cloud/spawn?wait=false')).status).toBe(503);
      const rows = (await allPods()).length;
      const beforeFast = creates();
      const fast = await h!.post('/api/cloud/spawn?wait=false');
      expect(fast.status).toBe(503);
      expect(fast.body.message).toMatch(
        /^No GPU capacity at RunPod for: NVIDIA GeForce RTX 3090 \(until .+Z\), NVIDIA GeForce RTX 4090 \(until .+Z\)$/,
      );
      expect(creates()).toBe(beforeFast);
      expect(await allPods()).toHaveLength(rows);

      // The window passes and capacity is back: the first type is used again and forgotten.
      h!.clock.advance(2 * MINUTE);
      h!.fake.faults.restoreCapacity();
      const again = await h!.post('/api/cloud/spawn?wait=false');
      expect(again.status).toBe(202);
      expect(again.body.pod.gpuType).toBe('NVIDIA GeForce RTX 3090');
      expect(
        (await h!.get('/api/cloud/status')).body.gpuBackoff.map((entry: any) => entry.gpuType),
      ).not.toContain('NVIDIA GeForce RTX 3090');
    });
  });
});
