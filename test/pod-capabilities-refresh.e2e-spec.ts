import { PodCapabilitiesService } from '../src/cloud/pod-capabilities.service';
import { MINUTE } from '../src/common/clock';
import { samplerWorkflow } from '../src/comfyui/testing/comfyui-test-kit';
import { FakeComfyUI } from './sim/comfyui/fake-comfyui';
import { CloudHarness } from './support/cloud-harness';

const SD15 = 'v1-5-pruned-emaonly.safetensors';
const SDXL = 'sd_xl_base_1.0.safetensors';
const INTERVAL_MS = 5 * MINUTE;

/** A sampler job loading `checkpoint`. */
function jobWith(checkpoint: string, seed: number): Record<string, unknown> {
  const workflow = samplerWorkflow(3, seed) as Record<string, any>;
  workflow['4'] = { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: checkpoint } };
  return workflow;
}

/**
 * Issue 11 §4 for pods, beyond PodReady: the leader reads again the capabilities of every ready or busy pod it does
 * not know (pods that were ready before a restart or a leader failover) and, every CLOUD_POD_CAPABILITIES_INTERVAL,
 * those it knows (a network volume can gain models while a pod runs).
 */
describe('pod capabilities read again', () => {
  let h: CloudHarness;

  beforeEach(async () => {
    h = await CloudHarness.start({
      sim: { comfyFactory: () => new FakeComfyUI({ samplerStepMs: 5, models: { checkpoints: [SD15] } }) },
      env: {
        CLOUD_POLICY: 'seed',
        CLOUD_PREFER_SERVERLESS: 'false',
        CLOUD_POD_CAPABILITIES_INTERVAL: String(INTERVAL_MS),
        // The clock jumps an interval ahead: no idle pod may be reaped for it.
        CLOUD_IDLE_TIMEOUT: String(60 * MINUTE),
      },
    });
  });

  afterEach(async () => {
    await h?.close();
  });

  async function checkpointsOf(podId: string): Promise<string[] | undefined> {
    const pod = ((await h.get('/api/cloud/pods')).body.pods as any[]).find((p) => p.id === podId);
    return pod?.capabilities?.models?.checkpoints as string[] | undefined;
  }

  async function waitForCheckpoints(podId: string, expected: string[]): Promise<void> {
    // Compared as sets: the listing's order is the pod's.
    const wanted = JSON.stringify([...expected].sort());
    await h.until(async () => JSON.stringify([...((await checkpointsOf(podId)) ?? [])].sort()) === wanted);
  }

  it('reads the pods that were ready before a restart, and routes a job to the only one with its model', async () => {
    const first = await h.spawnReadyPod();
    const second = await h.spawnReadyPod();
    await waitForCheckpoints(first, [SD15]);
    await waitForCheckpoints(second, [SD15]);
    (h.fake.podComfy(second) as FakeComfyUI).setModels('checkpoints', [SDXL]);

    // A crash: the pods keep running, and the new instance never sees them become ready.
    await h.stopApp();
    await h.startApp();
    await waitForCheckpoints(first, [SD15]);
    await waitForCheckpoints(second, [SDXL]);

    const job = await h.waitForJob(await h.submit({ workflow: jobWith(SDXL, 1), backend: 'pod' }));
    expect(job).toMatchObject({ status: 'completed', backend: 'pod', attempts: 1 });
    expect((h.fake.podComfy(second) as FakeComfyUI).prompts).toHaveLength(1);
    expect((h.fake.podComfy(first) as FakeComfyUI).prompts).toHaveLength(0);
  });

  it('sees a model added to a running pod once the interval has passed', async () => {
    const podId = await h.spawnReadyPod();
    await waitForCheckpoints(podId, [SD15]);
    (h.fake.podComfy(podId) as FakeComfyUI).setModels('checkpoints', [SD15, SDXL]);
    const capabilities = h.app!.get(PodCapabilitiesService);

    // Not due yet: what was read when the pod became ready stands.
    h.clock.advance(INTERVAL_MS / 2);
    expect(await capabilities.refreshDue()).toBe(0);
    expect(await checkpointsOf(podId)).toEqual([SD15]);

    // The loop's pass once the interval has passed (its timer ticks in real time: the test runs the pass itself).
    h.clock.advance(INTERVAL_MS / 2);
    expect(await capabilities.refreshDue()).toBe(1);
    await waitForCheckpoints(podId, [SD15, SDXL]);

    const job = await h.waitForJob(await h.submit({ workflow: jobWith(SDXL, 2), backend: 'pod' }));
    expect(job).toMatchObject({ status: 'completed', backend: 'pod', attempts: 1 });
    expect((h.fake.podComfy(podId) as FakeComfyUI).prompts).toHaveLength(1);
  });
});
