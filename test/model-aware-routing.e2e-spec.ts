import { samplerWorkflow } from '../src/comfyui/testing/comfyui-test-kit';
import { LocalWorkersService } from '../src/local/local-workers.service';
import { FakeComfyUI } from './sim/comfyui/fake-comfyui';
import { CloudHarness } from './support/cloud-harness';

const SDXL = 'sd_xl_base_1.0.safetensors';
const SD15 = 'v1-5-pruned-emaonly.safetensors';

/** A sampler job loading `checkpoint` (the fake answers "Value not in list" on a worker without it). */
function jobWith(checkpoint: string, seed: number): Record<string, unknown> {
  const workflow = samplerWorkflow(10, seed) as Record<string, any>;
  workflow['4'] = { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: checkpoint } };
  return workflow;
}

/**
 * Issue 11 §4, local workers: routing knows what each worker can run (GET /object_info, /models) and sends a job
 * only to one with its models and nodes; a job no worker can run, with no cloud configured, is refused at submit.
 */
describe('model-aware routing on local workers', () => {
  let h: CloudHarness;
  let extra: FakeComfyUI | undefined;

  beforeAll(async () => {
    h = await CloudHarness.start({
      localWorkers: 2,
      localComfy: { samplerStepMs: 5 },
      // No RunPod key: local workers are the only backend.
      env: { RUNPOD_API_KEY: '', LOCAL_CAPABILITIES_INTERVAL: '200' },
    });
    // The first worker lacks the SDXL checkpoint; the second has both.
    h.locals[0].setModels('checkpoints', [SD15]);
  });

  afterAll(async () => {
    await h?.close();
    await extra?.close();
  });

  const workers = async () => (await h.get('/api/local/workers')).body.workers as any[];
  const workerAt = async (url: string) => (await workers()).find((w) => w.url === url);

  it('shows each worker’s capabilities in GET /api/local/workers', async () => {
    // Read again on LOCAL_CAPABILITIES_INTERVAL: the first worker's SDXL file is gone from its listing.
    await h.until(async () => {
      const first = await workerAt(h.locals[0].url);
      return first?.capabilities?.models.checkpoints?.length === 1;
    });
    const [first, second] = [await workerAt(h.locals[0].url), await workerAt(h.locals[1].url)];
    expect(first.capabilities).toMatchObject({
      nodeClasses: expect.any(Number),
      models: { checkpoints: [SD15] },
      modelCounts: { checkpoints: 1 },
      fetchedAt: expect.any(Number),
    });
    expect(first.capabilities.nodeClasses).toBeGreaterThan(5);
    expect(second.capabilities.models.checkpoints).toEqual(expect.arrayContaining([SDXL, SD15]));
  });

  it('runs every job needing a checkpoint only the second worker has on the second worker', async () => {
    const secondId = (await workerAt(h.locals[1].url)).id;
    // At once: the first worker is idle while the second is busy, so only the filter keeps jobs off it.
    const ids = await Promise.all([1, 2, 3, 4, 5].map((seed) => h.submit({ workflow: jobWith(SDXL, seed) })));
    const jobs = await Promise.all(ids.map((id) => h.waitForJob(id)));
    for (const job of jobs) {
      expect({ status: job.status, workerId: job.workerId, error: job.error }).toEqual({
        status: 'completed',
        workerId: secondId,
        error: null,
      });
      expect(job.attempts).toBe(1);
    }
  });

  it('refuses at submit (422) a job needing a checkpoint no worker has, naming it', async () => {
    const answer = await h.post('/api/jobs', { workflow: jobWith('flux1-dev.safetensors', 1) });
    expect(answer.status).toBe(422);
    expect(answer.body).toMatchObject({
      statusCode: 422,
      message: expect.stringContaining('checkpoints/flux1-dev.safetensors'),
      missing: { nodes: [], models: [{ folder: 'checkpoints', name: 'flux1-dev.safetensors' }] },
    });
  });

  it('keeps jobs off a worker without one of their node types', async () => {
    // A third worker with the SDXL checkpoint but no KSampler node.
    extra = new FakeComfyUI({ samplerStepMs: 5, withoutNodes: ['KSampler'] });
    await extra.listen();
    const registered = await h.post('/api/local/workers', { url: extra.url, name: 'no-ksampler' });
    expect(registered.status).toBe(201);
    await h.until(async () => (await workerAt(extra!.url))?.capabilities != null);
    const secondId = (await workerAt(h.locals[1].url)).id;
    const ids = await Promise.all([6, 7, 8, 9].map((seed) => h.submit({ workflow: jobWith(SDXL, seed) })));
    const jobs = await Promise.all(ids.map((id) => h.waitForJob(id)));
    for (const job of jobs)
      expect({ status: job.status, workerId: job.workerId }).toEqual({
        status: 'completed',
        workerId: secondId,
      });
    // A job it can run (no sampler) may still go there.
    const plain = await h.submit({
      workflow: {
        '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'plain' } },
      },
    });
    expect((await h.waitForJob(plain)).status).toBe('completed');
  });

  it('prefers, among capable idle workers, the one whose last job used the same checkpoint', async () => {
    const [firstId, secondId] = [(await workerAt(h.locals[0].url)).id, (await workerAt(h.locals[1].url)).id];
    await h.until(async () => (await workers()).every((w) => w.running === 0));
    // Both have SD 1.5 and are idle; the first comes first by load. The second "has it loaded".
    h.app!.get(LocalWorkersService).noteModel(secondId, `checkpoints/${SD15}`);
    for (const seed of [11, 12, 13]) {
      const job = await h.waitForJob(await h.submit({ workflow: jobWith(SD15, seed) }));
      expect({ status: job.status, workerId: job.workerId }).toEqual({
        status: 'completed',
        workerId: secondId,
      });
    }
    // Both "have it loaded": the first by load again.
    h.app!.get(LocalWorkersService).noteModel(firstId, `checkpoints/${SD15}`);
    const job = await h.waitForJob(await h.submit({ workflow: jobWith(SD15, 14) }));
    expect(job.workerId).toBe(firstId);
  });
});

/**
 * The break-even scaling policy counts a queued job as one free local slots may drain only when a local worker can
 * run it: a job needing a checkpoint no local worker has can only be run by a pod, so it is pod demand.
 */
describe('model-aware cloud demand', () => {
  let h: CloudHarness;

  beforeAll(async () => {
    h = await CloudHarness.start({
      localWorkers: 1,
      localComfy: { samplerStepMs: 40 },
      // Jobs do not wait for the busy local worker here (local-holds.e2e-spec.ts tests that): both count at once.
      env: {
        CLOUD_POLICY: 'breakeven',
        LOCAL_CAPABILITIES_INTERVAL: '200',
        LOCAL_WAIT_TARGET_SECONDS: '0',
        LOCAL_WAIT_PER_RUN: '0',
      },
    });
    h.locals[0].setModels('checkpoints', [SD15]);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('counts only the waiting jobs a local worker could run as local demand', async () => {
    await h.until(
      async () =>
        ((await h.get('/api/local/workers')).body.workers as any[])[0]?.capabilities?.models.checkpoints
          ?.length === 1,
    );
    // The local worker is busy with a long job; then one job it could run and one it could not.
    const long = samplerWorkflow(2000, 1) as Record<string, any>;
    long['4'] = { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: SD15 } };
    const busy = await h.submit({ workflow: long });
    await h.until(async () => (await h.get(`/api/jobs/${busy}`)).body.status === 'running');
    const ids = [
      await h.submit({ workflow: jobWith(SD15, 2) }),
      await h.submit({ workflow: jobWith(SDXL, 3) }),
    ];
    await h.until(async () => h.demand.current().waitingForCloud === 2);
    expect(h.demand.current()).toMatchObject({ waitingForCloud: 2, mayRunLocally: 1 });
    for (const id of [busy, ...ids]) await h.request('DELETE', `/api/jobs/${id}`);
  });
});

describe('a Windows worker (model names listed with "\\")', () => {
  let h: CloudHarness;

  afterAll(async () => {
    await h?.close();
  });

  it('runs a workflow naming sdxl/base.safetensors, sent in the worker’s own spelling', async () => {
    h = await CloudHarness.start({
      localWorkers: 1,
      localComfy: { samplerStepMs: 5, models: { checkpoints: ['sdxl\\base.safetensors'] } },
      env: { RUNPOD_API_KEY: '' },
    });
    await h.until(async () => (await h.get('/api/local/workers')).body.workers[0]?.capabilities != null);
    const job = await h.waitForJob(await h.submit({ workflow: jobWith('sdxl/base.safetensors', 1) }));
    expect({ status: job.status, error: job.error, attempts: job.attempts }).toEqual({
      status: 'completed',
      error: null,
      attempts: 1,
    });
    // ComfyUI compares combo values exactly: the prompt it accepted carried the worker's spelling.
    const accepted = h.locals[0].prompts.filter((prompt) => prompt.status === 200);
    expect(accepted).toHaveLength(1);
    expect((accepted[0].body as any).prompt['4'].inputs.ckpt_name).toBe('sdxl\\base.safetensors');
  });
});
