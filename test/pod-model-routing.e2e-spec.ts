import { samplerWorkflow } from '../src/comfyui/testing/comfyui-test-kit';
import { FakeComfyUI } from './sim/comfyui/fake-comfyui';
import { CloudHarness } from './support/cloud-harness';
import { slowWorkflow } from './support/workflows';

const SD15 = 'v1-5-pruned-emaonly.safetensors';
const SDXL = 'sd_xl_base_1.0.safetensors';

/** A sampler job loading `checkpoint`. */
function jobWith(checkpoint: string, seed: number): Record<string, unknown> {
  const workflow = samplerWorkflow(3, seed) as Record<string, any>;
  workflow['4'] = { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: checkpoint } };
  return workflow;
}

/**
 * Issue 11 §4 for pods: once a pod's capabilities are read (when it becomes ready), a job goes to a pod only if it
 * has the job's models and nodes; a job that no pod can run and nothing else may take fails at once with the
 * missing names, instead of waiting for (and paying for) pods that cannot run it either.
 */
describe('model-aware routing on pods', () => {
  let h: CloudHarness;

  afterEach(async () => {
    await h?.close();
  });

  async function readyPodWithOnlySd15(serverless = false): Promise<string> {
    h = await CloudHarness.start({
      serverless,
      sim: {
        // Pods have only SD 1.5; serverless workers have both checkpoints.
        comfyFactory: ({ kind }) =>
          new FakeComfyUI({
            samplerStepMs: 5,
            models: { checkpoints: kind === 'pod' ? [SD15] : [SD15, SDXL] },
          }),
      },
      env: { CLOUD_POLICY: 'seed', CLOUD_PREFER_SERVERLESS: 'false' },
    });
    const id = await h.spawnReadyPod();
    await h.until(async () => {
      const pod = ((await h.get('/api/cloud/pods')).body.pods as any[]).find((p) => p.id === id);
      return pod?.capabilities?.models?.checkpoints?.length === 1;
    });
    return id;
  }

  it('runs a job on a pod that has its checkpoint', async () => {
    const podId = await readyPodWithOnlySd15();
    const job = await h.waitForJob(await h.submit({ workflow: jobWith(SD15, 1), backend: 'pod' }));
    expect(job).toMatchObject({ status: 'completed', backend: 'pod' });
    expect(h.fake.getPod(podId)).toBeDefined();
  });

  it('fails at once, naming the checkpoint, a pod job no pod can run', async () => {
    await readyPodWithOnlySd15();
    const job = await h.waitForJob(await h.submit({ workflow: jobWith(SDXL, 2), backend: 'pod' }));
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({
      kind: 'unroutable',
      message: expect.stringContaining(
        `No pod can run this workflow: the closest one lacks checkpoints/${SDXL}`,
      ),
    });
    expect(job.attempts).toBe(0);
    // Nothing was sent to the pod, and no pod was started for it.
    expect(h.fake.runningPods()).toHaveLength(1);
  });

  it('sends a job the idle pod cannot run to serverless instead of waiting for the pod', async () => {
    await readyPodWithOnlySd15(true);
    const job = await h.waitForJob(await h.submit({ workflow: jobWith(SDXL, 3) }));
    expect(job).toMatchObject({ status: 'completed', backend: 'serverless' });
    // The pod still takes what it can run.
    const onPod = await h.waitForJob(await h.submit({ workflow: jobWith(SD15, 4) }));
    expect(onPod).toMatchObject({ status: 'completed', backend: 'pod' });
  });
});

describe('a pod whose capabilities are being read', () => {
  let h: CloudHarness;

  afterEach(async () => {
    await h?.close();
  });

  it('gets no job until the read ends: a job it cannot run fails as unroutable, never on the pod', async () => {
    h = await CloudHarness.start({
      // The pod answers /object_info slowly: jobs queued meanwhile must wait for the read.
      sim: {
        comfy: {
          samplerStepMs: 5,
          models: { checkpoints: [SD15] },
          responseDelayMs: { '/object_info': 1500 },
        },
      },
      env: { CLOUD_POLICY: 'seed', CLOUD_PREFER_SERVERLESS: 'false' },
    });
    const podId = await h.spawnReadyPod();
    const id = await h.submit({ workflow: jobWith(SDXL, 5), backend: 'pod' });
    const job = await h.waitForJob(id);
    expect(job).toMatchObject({ status: 'failed', attempts: 0, error: { kind: 'unroutable' } });
    expect(job.error.message).toContain(`checkpoints/${SDXL}`);
    // Nothing was queued on the pod's ComfyUI for it.
    expect((h.fake.podComfy(podId) as FakeComfyUI).prompts).toHaveLength(0);
  });

  it('takes, while its first read is under way, a job a pod already read can run (pods share one image)', async () => {
    let pods = 0;
    h = await CloudHarness.start({
      sim: {
        // The second pod answers /object_info just under the read's 10 s bound: its read is under way throughout.
        comfyFactory: ({ kind }) =>
          new FakeComfyUI({
            samplerStepMs: 5,
            models: { checkpoints: [SD15] },
            responseDelayMs: kind === 'pod' && ++pods === 2 ? { '/object_info': 9_500 } : {},
          }),
      },
      env: { CLOUD_POLICY: 'seed', CLOUD_PREFER_SERVERLESS: 'false', CLOUD_MAX_PODS: '2' },
    });
    const first = await h.spawnReadyPod();
    await h.until(async () => (await h.get('/api/cloud/pods')).body.pods[0]?.capabilities !== null);
    // The first pod is kept busy, so the new one is the only idle pod.
    // 50 s of work (10,000 steps: ComfyUI's KSampler maximum), still running however slowly the second pod's
    // spawn goes on a loaded machine.
    const busy = await h.submit({ workflow: slowWorkflow(10_000), backend: 'pod' });
    await h.until(async () => (await h.get(`/api/jobs/${busy}`)).body.status === 'running');
    const second = await h.spawnReadyPod();
    const id = await h.submit({ workflow: jobWith(SD15, 6), backend: 'pod' });
    const job = await h.waitForJob(id);
    const pods2 = (await h.get('/api/cloud/pods')).body.pods as Array<{
      id: string;
      name: string;
      capabilities: unknown;
    }>;
    const secondRow = pods2.find((pod) => pod.id === second)!;
    expect(job).toMatchObject({ status: 'completed', backend: 'pod', workerId: secondRow.name, attempts: 1 });
    expect(secondRow.capabilities).toBeNull(); // still being read when the job ended there
    expect(first).not.toBe(second);
    await h.request('DELETE', `/api/jobs/${busy}`);
  });
});
