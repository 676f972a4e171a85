import { MINUTE } from '../src/common/clock';
import { CloudHarness } from './support/cloud-harness';

/** RunPod misbehaving: auth, flaky 5xx/429, no capacity, pods that never boot. Both pod APIs. */
describe.each(['rest', 'graphql'] as const)('RunPod faults over RUNPOD_POD_API=%s', (podApi) => {
  let h: CloudHarness;
  const api = podApi === 'rest' ? 'rest' : 'graphql';

  beforeEach(async () => {
    h = await CloudHarness.start({
      podApi,
      env: { CLOUD_GPU_FALLBACKS: 'NVIDIA RTX 4090,RTX A5000', CLOUD_BOOT_TIMEOUT: String(10 * MINUTE) },
    });
  });

  afterEach(async () => {
    await h.close();
  });

  it('answers a clear error when RunPod rejects the key, and never echoes the key', async () => {
    h.fake.faults.rejectAllKeys();
    const spawn = await h.post('/api/cloud/spawn?wait=false');
    expect(spawn.status).toBe(502);
    expect(spawn.body.message).toMatch(/RunPod rejected the API key/);
    expect(JSON.stringify(spawn.body)).not.toContain(h.fake.apiKey);
    expect(h.logger.lines.join('\n')).not.toContain(h.fake.apiKey);
    expect(h.fake.runningPods()).toEqual([]);
    const pods = (await h.get('/api/cloud/pods?all=true')).body.pods;
    expect(pods).toEqual([expect.objectContaining({ state: 'failed' })]);
  });

  it('retries 5xx and 429 and then succeeds', async () => {
    h.fake.faults.failNext(2, 503, { api, method: 'POST' });
    h.fake.faults.failNext(1, 429, { api, retryAfterSec: 0 });
    const spawn = await h.post('/api/cloud/spawn?wait=false');
    expect(spawn.status).toBe(202);
    const injected = h.fake.requests({ api }).filter((request) => request.injected);
    expect(injected.map((request) => request.status).sort()).toEqual([429, 503, 503]);
    expect(h.fake.runningPods()).toHaveLength(1);

    h.fake.faults.failNext(2, 500, { api });
    await h.tickUntil(async () => (await h.get('/api/cloud/status')).body.pods[0]?.status === 'ready');
  });

  it('looks the pod up by name after a 500 on create, and does not create a second one', async () => {
    // A 500 on create is ambiguous: the fake rejects this one before creating anything.
    h.fake.faults.failNext(1, 500, { api, method: 'POST' });
    const spawn = await h.post('/api/cloud/spawn?wait=false');
    expect(spawn.status).toBe(202);
    expect(h.fake.listAllPods()).toHaveLength(1);
    expect(h.fake.requests({ api }).some((request) => request.injected && request.status === 500)).toBe(true);
    // REST: the only POST is the create. GraphQL sends every call as POST /graphql, so there the 500 may
    // have hit another (retried) query instead; the invariant that matters is still one pod.
    if (podApi === 'rest') expect(h.logger.has(/RunPod has no such pod, trying again/)).toBe(true);
  });

  it('falls back through CLOUD_GPU_FALLBACKS when the first GPU type has no capacity', async () => {
    h.fake.faults.noCapacity(['NVIDIA GeForce RTX 3090', 'NVIDIA GeForce RTX 4090']);
    const spawn = await h.post('/api/cloud/spawn?wait=false');
    expect(spawn.status).toBe(202);
    expect(spawn.body.pod.gpuType).toBe('NVIDIA RTX A5000');
    expect(h.fake.runningPods().map((pod) => pod.gpuTypeId)).toEqual(['NVIDIA RTX A5000']);
  });

  it('fails clearly when no GPU type has capacity, and leaks nothing', async () => {
    h.fake.faults.noCapacity();
    const spawn = await h.post('/api/cloud/spawn?wait=false');
    expect(spawn.status).toBe(503);
    expect(spawn.body.message).toBe(
      'No GPU capacity at RunPod for: NVIDIA GeForce RTX 3090, NVIDIA GeForce RTX 4090, NVIDIA RTX A5000',
    );
    expect(spawn.body.details.gpuTypesTried).toHaveLength(3);
    expect(h.fake.listAllPods()).toEqual([]);
    expect((await h.get('/api/cloud/status')).body.activePods).toBe(0);
  });

  it('terminates a pod that never boots at CLOUD_BOOT_TIMEOUT and records its cost', async () => {
    h.fake.faults.podsNeverBoot({ mode: 'stuck' });
    const spawn = await h.post('/api/cloud/spawn?wait=false');
    const id = spawn.body.pod.id as string;
    h.clock.advance(5 * MINUTE);
    await h.tick();
    expect(h.fake.getPod(id)!.terminatedAt).toBeNull();

    h.clock.advance(5 * MINUTE);
    await h.tick();
    const truth = h.fake.getPod(id)!;
    expect(truth.terminatedAt).not.toBeNull();
    const pods = (await h.get('/api/cloud/pods?all=true')).body.pods;
    expect(pods[0]).toMatchObject({
      id,
      state: 'failed',
      failureReason: 'boot timeout: not ready within 600s',
    });
    expect(pods[0].costUsd).toBeGreaterThan(0);
    expect(pods[0].costUsd).toBeCloseTo(truth.billedUsd(), 4);
    expect((await h.get('/api/cloud/cost')).body.costByPod[id]).toBeCloseTo(truth.billedUsd(), 4);
  });

  it('does not call a pod ready while RunPod runs it but ComfyUI does not answer', async () => {
    h.fake.faults.podsNeverBoot({ mode: 'comfy-down' });
    const id = (await h.post('/api/cloud/spawn?wait=false')).body.pod.id as string;
    // Wait for RunPod to run the pod (its boot elapses in real time), instead of sleeping a fixed 500 ms that a
    // busy machine may not honour: then "starting" below really means "ComfyUI does not answer".
    await h.until(() => h.fake.getPod(id)?.status === 'RUNNING');
    await h.tick(2);
    expect((await h.get('/api/cloud/pods')).body.pods[0]).toMatchObject({ id, state: 'starting' });
    h.clock.advance(10 * MINUTE);
    await h.tick();
    expect(h.fake.getPod(id)!.terminatedAt).not.toBeNull();
  });

  it('ends a spawn that waits for readiness with an error when the pod fails to boot', async () => {
    h.fake.faults.podsNeverBoot({ mode: 'stuck' });
    const waiting = h.post('/api/cloud/spawn');
    await h.tickUntil(() => h.fake.listAllPods().length === 1);
    h.clock.advance(11 * MINUTE);
    await h.tick();
    const answer = await waiting;
    expect(answer.status).toBe(503);
    expect(answer.body.message).toMatch(/boot timeout/);
    expect(h.fake.runningPods()).toEqual([]);
  });
});
