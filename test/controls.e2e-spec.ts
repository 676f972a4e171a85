import { OutputStore } from '../src/jobs/output-store';
import { LocalWorkersService } from '../src/local/local-workers.service';
import { Dispatcher } from '../src/routing/dispatcher.service';
import { FakeComfyUI } from './sim/comfyui/fake-comfyui';
import { CloudHarness } from './support/cloud-harness';
import { pngWorkflow, slowWorkflow } from './support/workflows';

/** The dashboard's controls: GPU catalogue, worker enable/disable/drain, re-run. */

describe.each(['rest', 'graphql'] as const)('GET /api/cloud/gpu-types (%s pods API)', (podApi) => {
  let h: CloudHarness;
  beforeAll(async () => (h = await CloudHarness.start({ podApi, env: { RUNPOD_MAX_RETRIES: '0' } })));
  afterAll(async () => h?.close());

  it("answers RunPod's catalogue with both clouds' prices and stock, cached, and the static table when RunPod fails", async () => {
    h.fake.faults.noCapacity('NVIDIA GeForce RTX 4090', { visibleInCatalog: false });
    const first = await h.get('/api/cloud/gpu-types');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ source: 'runpod', reason: null });
    const byId = new Map(first.body.gpuTypes.map((g: any) => [g.id, g]));
    expect(byId.get('NVIDIA GeForce RTX 3090')).toEqual({
      id: 'NVIDIA GeForce RTX 3090',
      displayName: 'RTX 3090',
      memoryInGb: 24,
      securePricePerHr: expect.any(Number),
      communityPricePerHr: expect.any(Number),
      available: true,
      stockStatus: 'HIGH',
    });
    expect(byId.get('NVIDIA GeForce RTX 4090')).toMatchObject({ available: false, stockStatus: 'NONE' });
    const memory = first.body.gpuTypes.map((g: any) => g.memoryInGb);
    expect(memory).toEqual([...memory].sort((a, b) => a - b));

    // Cached: a RunPod failure within the minute changes nothing.
    h.fake.faults.failNext(5, 500, { path: /catalog|graphql/ });
    expect((await h.get('/api/cloud/gpu-types')).body).toEqual(first.body);

    // Past the cache, RunPod failing: the static table, prices unknown, and why.
    h.clock.advance(61_000);
    const fallback = await h.get('/api/cloud/gpu-types');
    expect(fallback.status).toBe(200);
    expect(fallback.body.source).toBe('static');
    expect(fallback.body.reason).toMatch(/could not be read/);
    expect(fallback.body.reason).not.toContain(h.fake.apiKey);
    expect(fallback.body.gpuTypes.length).toBeGreaterThan(40);
    expect(fallback.body.gpuTypes[0]).toMatchObject({
      securePricePerHr: null,
      communityPricePerHr: null,
      available: null,
      stockStatus: null,
    });
    h.fake.faults.reset();
    h.clock.advance(16_000);
    expect((await h.get('/api/cloud/gpu-types')).body.source).toBe('runpod');
  });
});

describe('local worker controls and re-run', () => {
  let h: CloudHarness;
  let extra: FakeComfyUI;
  const workers = async () => (await h.get('/api/local/workers')).body.workers as any[];
  /** Two whole dispatch passes after the submit (the first may have started before it). */
  const dispatchPasses = async () => {
    await h.app!.get(Dispatcher).dispatch();
    await h.app!.get(Dispatcher).dispatch();
  };

  beforeAll(async () => {
    h = await CloudHarness.start({ localWorkers: 1, env: { RUNPOD_API_KEY: '' } });
    extra = new FakeComfyUI();
    await extra.listen();
  });
  afterAll(async () => {
    await h?.close();
    await extra?.close();
  });

  it('without RunPod the GPU catalogue is the static table', async () => {
    const answer = await h.get('/api/cloud/gpu-types');
    expect(answer.body).toMatchObject({ source: 'static', reason: 'RUNPOD_API_KEY is not set' });
  });

  it("shows each worker's GPU and VRAM as its /system_stats reports them, once it has answered", async () => {
    await h.app!.get(LocalWorkersService).checkHealth();
    const [env] = await workers();
    expect(env.gpu).toEqual({
      name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync',
      type: 'cuda',
      vramTotalBytes: 25393692672,
      vramFreeBytes: 24000000000,
    });
  });

  it('a disabled env worker takes no new jobs, keeps its state across a restart, and takes them again when enabled', async () => {
    const [env] = await workers();
    expect(env.state).toBe('active');
    const patched = await h.request('PATCH', `/api/local/workers/${env.id}`, { enabled: false });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ id: env.id, source: 'env', state: 'disabled' });

    const id = await h.submit({ workflow: pngWorkflow('disabled'), backend: 'local' });
    await dispatchPasses();
    expect((await h.get(`/api/jobs/${id}`)).body).toMatchObject({ status: 'queued' });

    await h.stopApp();
    await h.startApp({ RUNPOD_API_KEY: '' });
    expect((await workers())[0].state).toBe('disabled');
    expect((await h.get(`/api/jobs/${id}`)).body.status).toBe('queued');

    const enabled = await h.request('PATCH', `/api/local/workers/${env.id}`, { enabled: true });
    expect(enabled.body.state).toBe('active');
    expect(await h.waitForJob(id)).toMatchObject({ status: 'completed', workerId: env.id });
  });

  it('validates the body and answers 404 for an unknown worker', async () => {
    const [env] = await workers();
    expect((await h.request('PATCH', `/api/local/workers/${env.id}`, { enabled: 'no' })).status).toBe(400);
    expect((await h.request('PATCH', `/api/local/workers/${env.id}`, { state: 'x' })).status).toBe(400);
    expect((await h.request('PATCH', '/api/local/workers/local-nope', { enabled: true })).status).toBe(404);
  });

  it('a draining registered worker finishes its job, takes no other, and is removed once idle', async () => {
    const [env] = await workers();
    await h.request('PATCH', `/api/local/workers/${env.id}`, { enabled: false });
    const registered = await h.post('/api/local/workers', { url: extra.url, name: 'extra' });
    expect(registered.status).toBe(201);
    const workerId = registered.body.id as string;

    const running = await h.submit({ workflow: slowWorkflow(9000), backend: 'local' });
    await h.until(async () => (await h.get(`/api/jobs/${running}`)).body.status === 'running');
    const draining = await h.request('PATCH', `/api/local/workers/${workerId}`, { draining: true });
    expect(draining.body).toMatchObject({ id: workerId, state: 'draining', running: 1 });

    const next = await h.submit({ workflow: pngWorkflow('after-drain'), backend: 'local' });
    await dispatchPasses();
    expect((await h.get(`/api/jobs/${next}`)).body.status).toBe('queued');
    expect((await workers()).find((w) => w.id === workerId)).toMatchObject({ state: 'draining' });

    await h.request('DELETE', `/api/jobs/${running}`);
    await h.until(async () => !(await workers()).some((w) => w.id === workerId));
    expect((await h.get(`/api/jobs/${next}`)).body.status).toBe('queued');

    // Nothing of it is left to come back after a restart.
    await h.stopApp();
    await h.startApp({ RUNPOD_API_KEY: '' });
    expect((await workers()).map((w) => w.id)).toEqual([env.id]);
    await h.request('PATCH', `/api/local/workers/${env.id}`, { enabled: true });
    await h.waitForJob(next);
  });

  it('draining an idle env worker ends with it disabled (only LOCAL_COMFYUI_URLS can remove it)', async () => {
    const [env] = await workers();
    const answer = await h.request('PATCH', `/api/local/workers/${env.id}`, { draining: true });
    expect(answer.body).toMatchObject({ id: env.id, state: 'disabled' });
    expect((await workers())[0]).toMatchObject({ id: env.id, state: 'disabled' });
    await h.request('PATCH', `/api/local/workers/${env.id}`, { enabled: true });
  });

  it('re-runs a stored job as a new job with the same workflow, images, backend, priority and metadata', async () => {
    const image = Buffer.from('not really a png').toString('base64');
    const original = await h.submit({
      workflow: pngWorkflow('rerun'),
      images: [{ name: 'input.png', image }],
      backend: 'local',
      priority: 7,
      metadata: { project: 'p1' },
    });
    await h.waitForJob(original);
    const rerun = await h.post(`/api/jobs/${original}/rerun`);
    expect(rerun.status).toBe(201);
    expect(rerun.body.id).not.toBe(original);
    expect(rerun.body).toMatchObject({
      status: 'queued',
      requestedBackend: 'local',
      priority: 7,
      metadata: { project: 'p1', rerunOf: original },
    });
    const store = h.app!.get(OutputStore);
    expect(await store.readInput(rerun.body.id, 'input.png')).toEqual(Buffer.from(image, 'base64'));
    expect(await h.waitForJob(rerun.body.id)).toMatchObject({ status: 'completed' });
    expect((await h.post('/api/jobs/job-nope/rerun')).status).toBe(404);
  });
});
