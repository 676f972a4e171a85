import { FakeComfyUI } from '../../test/sim/comfyui/fake-comfyui';
import { ComfyUiClient } from '../comfyui/comfyui-client';
import { ComfyRequestError, ComfyWorkflowError } from '../comfyui/comfyui.errors';
import { RecordingComfyLogger } from '../comfyui/testing/comfyui-test-kit';
import { fetchCapabilities, type CapabilitySource } from './fetch-capabilities';
import { canRun, missingFor } from './worker-capabilities';
import { requirementsFromObjectInfo, workflowRequirements } from './workflow-requirements';

/** txt2img on the fake's simulated nodes, with a separate VAE. */
function txt2img(ckpt: string) {
  return {
    '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: ckpt } },
    '2': { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['1', 1] } },
    '3': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['1', 1] } },
    '4': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    '5': {
      class_type: 'KSampler',
      inputs: {
        seed: 1,
        steps: 2,
        cfg: 7,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 1,
        model: ['1', 0],
        positive: ['2', 0],
        negative: ['3', 0],
        latent_image: ['4', 0],
      },
    },
    '6': { class_type: 'VAELoader', inputs: { vae_name: 'sdxl_vae.safetensors' } },
    '7': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['6', 0] } },
    '8': { class_type: 'SaveImage', inputs: { images: ['7', 0], filename_prefix: 'caps' } },
  };
}

describe('fetchCapabilities against two fake workers with different checkpoints', () => {
  const fakes: FakeComfyUI[] = [];
  const clients: ComfyUiClient[] = [];

  beforeAll(async () => {
    const vae = ['sdxl_vae.safetensors'];
    fakes.push(
      new FakeComfyUI({ models: { checkpoints: ['sd_xl_base_1.0.safetensors'], vae, loras: [] } }),
      new FakeComfyUI({
        models: { checkpoints: ['v1-5-pruned-emaonly.safetensors'], vae },
        withoutNodes: ['VAELoader'],
      }),
    );
    for (const fake of fakes)
      clients.push(new ComfyUiClient(await fake.listen(), { logger: new RecordingComfyLogger() }));
  });
  afterAll(async () => {
    for (const fake of fakes) await fake.close();
  });

  it("reads each worker's node classes and model listings", async () => {
    const [a, b] = await Promise.all(clients.map((c) => fetchCapabilities(c, { now: () => 1234 })));
    expect(a.fetchedAt).toBe(1234);
    expect(a.nodeClasses).toContain('VAELoader');
    expect(b.nodeClasses).not.toContain('VAELoader');
    expect(a.models).toEqual({
      checkpoints: ['sd_xl_base_1.0.safetensors'],
      loras: [],
      vae: ['sdxl_vae.safetensors'],
    });
    expect(b.models.checkpoints).toEqual(['v1-5-pruned-emaonly.safetensors']);
    expect([...fakes[0].requests].sort()).toEqual([
      'GET /models',
      'GET /models/checkpoints',
      'GET /models/loras',
      'GET /models/vae',
      'GET /object_info',
    ]);
  });

  it('missingFor predicts what ComfyUI rejects: only the worker with the checkpoint can run the job', async () => {
    const [a, b] = await Promise.all(clients.map((c) => fetchCapabilities(c)));
    const workflow = txt2img('sd_xl_base_1.0.safetensors');
    const req = requirementsFromObjectInfo(workflow, await clients[0].objectInfo(), a.models);
    expect(req).toEqual(workflowRequirements(workflow)); // core loaders only: both ways agree
    expect(canRun(req, a)).toBe(true);
    expect(missingFor(req, b)).toEqual({
      nodes: ['VAELoader'],
      models: [{ folder: 'checkpoints', name: 'sd_xl_base_1.0.safetensors' }],
      fileInputs: [],
    });

    const ok = await clients[0].run(workflow);
    expect(ok.outputs).toHaveLength(1);
    const refused = await clients[1].run(workflow).catch((e: unknown) => e);
    expect((refused as ComfyWorkflowError).type).toBe('missing_node_type');
    // Without the missing node, ComfyUI's next complaint is the checkpoint: "Value not in list: ckpt_name".
    const noVae: Record<string, unknown> = {
      ...workflow,
      '7': { class_type: 'VAEDecode', inputs: { samples: ['5', 0], vae: ['1', 2] } },
    };
    delete noVae['6'];
    expect(missingFor(workflowRequirements(noVae), b).models).toEqual([
      { folder: 'checkpoints', name: 'sd_xl_base_1.0.safetensors' },
    ]);
    const notInList = (await clients[1].run(noVae).catch((e: unknown) => e)) as ComfyWorkflowError;
    expect(notInList).toBeInstanceOf(ComfyWorkflowError);
    expect(notInList.nodeErrors['1'].errors[0]).toMatchObject({ type: 'value_not_in_list' });
  });

  it('sees a model added to a worker on the next refresh', async () => {
    fakes[1].setModels('checkpoints', ['v1-5-pruned-emaonly.safetensors', 'sd_xl_base_1.0.safetensors']);
    const b = await fetchCapabilities(clients[1]);
    expect(missingFor(workflowRequirements(txt2img('sd_xl_base_1.0.safetensors')), b).models).toEqual([]);
  });
});

describe('fetchCapabilities fallbacks', () => {
  const objectInfo = {
    CheckpointLoaderSimple: { input: { required: { ckpt_name: [['a.safetensors'], {}] } } },
  };
  const notFound = () => Promise.reject(new ComfyRequestError('404', 404, ''));

  it('a server without /models gets its models from the loaders in /object_info', async () => {
    const source: CapabilitySource = { objectInfo: () => Promise.resolve(objectInfo), models: notFound };
    const caps = await fetchCapabilities(source, { now: () => 5 });
    expect(caps).toMatchObject({
      nodeClasses: ['CheckpointLoaderSimple'],
      models: { checkpoints: ['a.safetensors'] },
    });
  });

  it('skips a folder that vanished and custom_nodes; other errors fail the refresh', async () => {
    const source: CapabilitySource = {
      objectInfo: () => Promise.resolve(objectInfo),
      models: (folder) =>
        folder === undefined
          ? Promise.resolve(['checkpoints', 'gone', 'custom_nodes'])
          : folder === 'checkpoints'
            ? Promise.resolve(['x.safetensors'])
            : notFound(),
    };
    expect((await fetchCapabilities(source)).models).toEqual({ checkpoints: ['x.safetensors'] });
    const broken: CapabilitySource = { ...source, models: () => Promise.reject(new Error('down')) };
    await expect(fetchCapabilities(broken)).rejects.toThrow('down');
  });
});
