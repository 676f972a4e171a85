import { samplerWorkflow } from '../src/comfyui/testing/comfyui-test-kit';
import { LocalWorkersService } from '../src/local/local-workers.service';
import { CloudHarness } from './support/cloud-harness';

const SDXL = 'sd_xl_base_1.0.safetensors';
const SD15 = 'v1-5-pruned-emaonly.safetensors';
const STEP_MS = 20;

/** A sampler job of `steps` loading `checkpoint` (about steps × STEP_MS on the fake). */
function jobWith(checkpoint: string, steps: number, seed: number): Record<string, unknown> {
  const workflow = samplerWorkflow(steps, seed) as Record<string, any>;
  workflow['4'] = { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: checkpoint } };
  return workflow;
}

/**
 * Under the break-even policy, a job that routing would give an idle local worker with another checkpoint loaded
 * waits instead for a busy worker whose last job used its checkpoint, when that worker should be free before a
 * load would end (LocalHolds.warmWorkerFor): two models on one studio otherwise trade the checkpoint back and
 * forth, each job paying a 30-70 s load. The idle worker stays free for a job whose model it holds.
 */
describe('waiting for a local worker with the model loaded', () => {
  let h: CloudHarness;

  beforeAll(async () => {
    h = await CloudHarness.start({
      localWorkers: 2,
      localComfy: { samplerStepMs: STEP_MS },
      serverless: true,
      env: { CLOUD_POLICY: 'breakeven', RUNPOD_DOCKER_IMAGE: '' },
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  const job = async (id: string) => (await h.get(`/api/jobs/${id}`)).body;
  const workers = async () => (await h.get('/api/local/workers')).body.workers as any[];

  it('holds an SDXL job for the busy SDXL worker while the SD 1.5 worker is idle, and runs it there', async () => {
    await h.until(async () => (await workers()).length === 2 && (await workers()).every((w) => w.healthy));
    const [warmId, coldId] = (await workers()).map((w) => w.id as string);
    const local = h.app!.get(LocalWorkersService);
    local.noteModel(warmId, `checkpoints/${SDXL}`);
    local.noteModel(coldId, `checkpoints/${SD15}`);
    const sentBefore = h.fake.serverlessJobs().length;
    // A first job teaches the estimator this workflow's run on the warm worker (250 steps: about 5 s).
    const first = await h.waitForJob(await h.submit({ workflow: jobWith(SDXL, 250, 1) }));
    expect(first).toMatchObject({ status: 'completed', workerId: warmId });
    const busy = await h.submit({ workflow: jobWith(SDXL, 250, 2) });
    await h.until(async () => (await job(busy)).status === 'running');
    expect((await job(busy)).workerId).toBe(warmId);

    const next = await h.submit({ workflow: jobWith(SDXL, 250, 3) });
    // The SD 1.5 worker is idle, but the SDXL one frees in about 5 s, long before a 35 s load would end.
    await h.until(async () =>
      new RegExp(`waiting for local worker ${warmId}, which has its model loaded`).test(
        (await job(next)).waitingReason ?? '',
      ),
    );
    // A quote says what the dispatcher does: wait for the worker with the model loaded.
    const quote = await h.post('/api/jobs/quote', { workflow: jobWith(SDXL, 250, 7) });
    expect(quote.status).toBe(200);
    expect(quote.body.pick).toMatchObject({ decision: 'wait', candidate: { workerId: warmId } });
    // Meanwhile the idle worker takes a job whose model it holds.
    const other = await h.waitForJob(await h.submit({ workflow: jobWith(SD15, 10, 4) }));
    expect(other).toMatchObject({ status: 'completed', workerId: coldId });

    const done = await h.waitForJob(next);
    expect(done).toMatchObject({ status: 'completed', backend: 'local', workerId: warmId, attempts: 1 });
    expect(h.fake.serverlessJobs().length).toBe(sentBefore);
  });

  it('stops waiting, and takes the idle worker, once the warm worker overruns its estimate by a load', async () => {
    await h.until(async () => (await workers()).every((w) => w.running === 0));
    const [warmId, coldId] = (await workers()).map((w) => w.id as string);
    const local = h.app!.get(LocalWorkersService);
    local.noteModel(warmId, `checkpoints/${SDXL}`);
    local.noteModel(coldId, `checkpoints/${SD15}`);
    // Runs until cancelled (ComfyUI's KSampler maximum: 10,000 steps), far past its estimate (the fake's tiny
    // images make it well under a second): the worker is expected free "as long again as it has run".
    const busy = await h.submit({ workflow: jobWith(SDXL, 10_000, 5) });
    await h.until(async () => (await job(busy)).status === 'running');
    expect((await job(busy)).workerId).toBe(warmId);
    const next = await h.submit({ workflow: jobWith(SDXL, 10, 6) });
    await h.until(async () => /has its model loaded/.test((await job(next)).waitingReason ?? ''));
    // 36 s later by the clock the warm worker would free later than a 35 s load would end: the job moves on.
    h.clock.advance(36_000);
    const done = await h.waitForJob(next);
    expect(done).toMatchObject({ status: 'completed', workerId: coldId, attempts: 1 });
    expect((await job(busy)).status).toBe('running');
    await h.request('DELETE', `/api/jobs/${busy}`);
    await h.until(async () => (await job(busy)).status === 'cancelled');
  });
});
