import { MINUTE } from '../src/common/clock';
import { CloudHarness } from './support/cloud-harness';
import { pngWorkflow } from './support/workflows';

describe('PUT /api/cloud/config', () => {
  let h: CloudHarness;
  beforeEach(async () => (h = await CloudHarness.start()));
  afterEach(async () => h.close());

  it('updates part of the settings, resolving GPU display names', async () => {
    const answer = await h.put('/api/cloud/config', {
      idleTimeout: 180000,
      gpuType: 'NVIDIA RTX 4090',
      preferServerless: false,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      maxPods: 5,
      idleTimeout: 180000,
      autoScaleThreshold: 5,
      preferServerless: false,
      routingPreference: 'balanced',
      gpuType: 'NVIDIA GeForce RTX 4090',
      dailyBudgetUsd: 10,
    });
    expect((await h.get('/api/cloud/status')).body.config).toEqual(answer.body);
  });

  it.each([
    [{ maxPods: -1 }, /maxPods must not be less than 0/],
    [{ maxPods: 'five' }, /maxPods must be an integer/],
    [{ idleTimeout: 5 }, /idleTimeout must not be less than 1000/],
    [{ autoScaleThreshold: 0 }, /autoScaleThreshold must not be less than 1/],
    [{ preferServerless: 'yes' }, /preferServerless must be a boolean/],
    [
      { routingPreference: 'cheapest' },
      /routingPreference must be one of the following values: cost, speed, balanced/,
    ],
    [
      { gpuType: 'RTX 3091' },
      /gpuType: Unknown RunPod GPU type "RTX 3091". Did you mean: "NVIDIA GeForce RTX 3090"/,
    ],
    [{ budget: 3 }, /property budget should not exist/],
    [{ dailyBudgetUsd: -1 }, /dailyBudgetUsd must not be less than 0/],
    [{ dailyBudgetUsd: 'ten' }, /dailyBudgetUsd must be a number/],
  ])('rejects %j with a 400 naming the field', async (body, message) => {
    const answer = await h.put('/api/cloud/config', body);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(answer.body.message).toMatch(message);
  });

  it('uses the new idle timeout on the next tick', async () => {
    const id = await h.spawnReadyPod();
    await h.put('/api/cloud/config', { idleTimeout: 60000 });
    h.clock.advance(MINUTE);
    await h.tick();
    h.clock.advance(1000);
    await h.tick();
    expect(h.fake.getPod(id)!.terminatedAt).not.toBeNull();
    // The seed rule uses it: no warning that it is ignored.
    expect(h.logger.has(/does not reap or spawn/)).toBe(false);
  });
});

describe('PUT /api/cloud/config under CLOUD_POLICY=breakeven', () => {
  let h: CloudHarness;
  beforeEach(async () => (h = await CloudHarness.start({ env: { CLOUD_POLICY: 'breakeven' } })));
  afterEach(async () => h.close());

  it("saves the seed rule's idleTimeout and autoScaleThreshold, and warns that this policy neither reaps nor spawns by them", async () => {
    const answer = await h.put('/api/cloud/config', { idleTimeout: 60000, autoScaleThreshold: 2 });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ idleTimeout: 60000, autoScaleThreshold: 2 });
    expect(
      h.logger.has(
        /WARN \[CloudAdmin\] idleTimeout and autoScaleThreshold saved, but CLOUD_POLICY=breakeven does not reap or spawn by them .*idleTimeout is still a pod's keep-alive in quotes and a new pod's idle time in the daily budget; under CLOUD_POLICY=seed they apply in full/,
      ),
    ).toBe(true);

    // The pod's own idle timeout is the policy's, not the 60 s saved.
    const id = await h.spawnReadyPod();
    await h.tick();
    const pod = (await h.get('/api/cloud/status')).body.pods.find((p: any) => p.id === id);
    expect(pod.idleTimeout).not.toBe(60000);
    h.clock.advance(MINUTE);
    await h.tick();
    h.clock.advance(1000);
    await h.tick();
    expect(h.fake.getPod(id)!.terminatedAt).toBeNull();

    // A change the policy does use is not warned about.
    const lines = h.logger.lines.length;
    await h.put('/api/cloud/config', { maxPods: 2 });
    expect(h.logger.lines.slice(lines).some((line) => line.includes('does not reap'))).toBe(false);
  });
});

describe('a restart of the service', () => {
  let h: CloudHarness;
  beforeEach(async () => (h = await CloudHarness.start()));
  afterEach(async () => h.close());

  it('keeps pods, the cost ledger and config changes', async () => {
    const kept = await h.spawnReadyPod();
    const ended = await h.spawnReadyPod();
    await h.put('/api/cloud/config', { maxPods: 3, autoScaleThreshold: 2 });
    h.clock.advance(10 * MINUTE);
    await h.post(`/api/cloud/terminate/${ended}`);
    await h.tick();
    const before = (await h.get('/api/cloud/cost')).body;

    await h.stopApp();
    h.clock.advance(MINUTE);
    await h.startApp();

    const status = (await h.get('/api/cloud/status')).body;
    expect(status.config).toMatchObject({ maxPods: 3, autoScaleThreshold: 2 });
    expect(status.pods.map((pod: any) => [pod.id, pod.status])).toEqual([[kept, 'ready']]);
    const after = (await h.get('/api/cloud/cost')).body;
    expect(after.costByPod[ended]).toBe(before.costByPod[ended]);
    expect(after.costByPod[kept]).toBeGreaterThanOrEqual(before.costByPod[kept]);

    // The pod that was running while we were down is billed for that minute too.
    await h.tick();
    const truth = h.fake.getPod(kept)!.billedUsd();
    expect((await h.get('/api/cloud/cost')).body.costByPod[kept]).toBeCloseTo(truth, 4);
    // ...and is still managed: the reaper takes it when idle.
    h.clock.advance(6 * MINUTE);
    await h.tick();
    h.clock.advance(1000);
    await h.tick();
    expect(h.fake.getPod(kept)!.terminatedAt).not.toBeNull();
  });
});

describe('API_KEY', () => {
  let h: CloudHarness;
  beforeEach(async () => (h = await CloudHarness.start({ env: { API_KEY: 'operator-secret' } })));
  afterEach(async () => h.close());

  it('guards every /api route; accepts Bearer and X-API-Key', async () => {
    const denied = await h.get('/api/cloud/status');
    expect(denied.status).toBe(401);
    expect(denied.body).toMatchObject({ statusCode: 401, error: 'Unauthorized' });
    expect((await h.get('/api/cloud/status', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await h.get('/api/cloud/status', { authorization: 'Bearer operator-secret' })).status).toBe(200);
    expect((await h.get('/api/cloud/cost', { 'x-api-key': 'operator-secret' })).status).toBe(200);
    expect((await h.request('POST', '/api/cloud/shutdown-all', {})).status).toBe(401);
  });

  it('leaves /health and the Swagger UI open', async () => {
    expect((await h.get('/health')).status).toBe(200);
    const docs = await fetch(`${h.url}/api/docs-json`);
    expect(docs.status).toBe(200);
  });
});

describe('without RUNPOD_API_KEY', () => {
  let h: CloudHarness;
  beforeEach(async () => (h = await CloudHarness.start({ env: { RUNPOD_API_KEY: '' } })));
  afterEach(async () => h.close());

  it('starts, reports the cloud unavailable and refuses spawns clearly', async () => {
    const status = await h.get('/api/cloud/status');
    expect(status.status).toBe(200);
    expect(status.body.available).toBe(false);
    expect((await h.get('/api/cloud/cost')).body.available).toBe(false);
    const spawn = await h.post('/api/cloud/spawn');
    expect(spawn.status).toBe(503);
    expect(spawn.body.message).toMatch(/RUNPOD_API_KEY is not set/);
    expect(h.fake.requests()).toEqual([]);
  });

  it('fails a job no worker could ever run, with the reason, instead of queueing it forever', async () => {
    const id = await h.submit({ workflow: pngWorkflow() });
    const job = await h.waitForJob(id);
    expect(job).toMatchObject({ status: 'failed', error: { kind: 'unroutable' } });
    expect(job.error.message).toMatch(/no worker can run this job/);
  });
});
