import { FakeComfyUI } from './fake-comfyui';
import { getJson, postJson } from './test-helpers';

/** Split-model workflow (FLUX/Wan style): UNETLoader + CLIPLoader + VAELoader on the simulated nodes. */
function splitModelWorkflow(unet = 'flux1-dev.safetensors') {
  return {
    '1': { class_type: 'UNETLoader', inputs: { unet_name: unet, weight_dtype: 'default' } },
    '2': {
      class_type: 'DualCLIPLoader',
      inputs: { clip_name1: 'clip_l.safetensors', clip_name2: 't5xxl.safetensors', type: 'flux' },
    },
    '3': { class_type: 'VAELoader', inputs: { vae_name: 'ae.safetensors' } },
    '4': { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['2', 0] } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 32, height: 32, batch_size: 1 } },
    '6': {
      class_type: 'KSampler',
      inputs: {
        seed: 1,
        steps: 2,
        cfg: 1,
        sampler_name: 'euler',
        scheduler: 'simple',
        denoise: 1,
        model: ['7', 0],
        positive: ['4', 0],
        negative: ['4', 0],
        latent_image: ['5', 0],
      },
    },
    '7': {
      class_type: 'LoraLoaderModelOnly',
      inputs: { model: ['1', 0], lora_name: 'x.safetensors', strength_model: 1 },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['6', 0], vae: ['3', 0] } },
    '9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'split' } },
  };
}

const MODELS = {
  diffusion_models: ['flux1-dev.safetensors'],
  text_encoders: ['clip_l.safetensors', 't5xxl.safetensors'],
  vae: ['ae.safetensors'],
  loras: ['x.safetensors'],
};

describe('FakeComfyUI model folders, split-model loaders and per-instance node sets', () => {
  const fakes: FakeComfyUI[] = [];
  afterEach(async () => {
    for (const f of fakes.splice(0)) await f.close();
  });
  const start = async (fake: FakeComfyUI) => {
    fakes.push(fake);
    return fake.listen();
  };

  it('lists the loaders with combos of their canonical folders and runs a split-model workflow', async () => {
    const base = await start(new FakeComfyUI({ models: MODELS }));
    const info = await getJson(`${base}/object_info`);
    expect(info.UNETLoader.input.required.unet_name[0]).toEqual(['flux1-dev.safetensors']);
    expect(info.DualCLIPLoader.input.required.clip_name2[0]).toEqual(MODELS.text_encoders);
    expect(info.VAELoader.input.required.vae_name[0]).toEqual(['ae.safetensors']);
    expect(info.LoraLoaderModelOnly.input.required.lora_name[0]).toEqual(['x.safetensors']);
    expect(await getJson(`${base}/models`)).toEqual(Object.keys(MODELS));
    expect(await getJson(`${base}/api/models/text_encoders`)).toEqual(MODELS.text_encoders);
    const { status } = await postJson(`${base}/prompt`, { prompt: splitModelWorkflow() });
    expect(status).toBe(200);
  });

  it('answers "value_not_in_list" for a model the instance lacks, and accepts it after setModels', async () => {
    const base = await start(new FakeComfyUI({ models: MODELS }));
    const refused = await postJson(`${base}/prompt`, { prompt: splitModelWorkflow('wan.safetensors') });
    expect(refused.status).toBe(400);
    expect(refused.json.node_errors['1'].errors[0]).toMatchObject({ type: 'value_not_in_list' });
    fakes[0].setModels('diffusion_models', ['flux1-dev.safetensors', 'wan.safetensors']);
    expect(await getJson(`${base}/models/diffusion_models`)).toEqual([
      'flux1-dev.safetensors',
      'wan.safetensors',
    ]);
    expect((await postJson(`${base}/prompt`, { prompt: splitModelWorkflow('wan.safetensors') })).status).toBe(
      200,
    );
    fakes[0].setModels('diffusion_models', undefined);
    expect((await fetch(`${base}/models/diffusion_models`)).status).toBe(404);
  });

  it('keeps model lists per instance and drops the classes of `withoutNodes`', async () => {
    const a = new FakeComfyUI({ models: MODELS });
    const b = new FakeComfyUI({ models: MODELS, withoutNodes: ['DualCLIPLoader'] });
    const [baseA, baseB] = [await start(a), await start(b)];
    b.setModels('vae', []);
    expect(await getJson(`${baseA}/models/vae`)).toEqual(['ae.safetensors']);
    expect(MODELS.vae).toEqual(['ae.safetensors']);
    expect(b.nodeClasses).not.toContain('DualCLIPLoader');
    expect(await getJson(`${baseB}/object_info/DualCLIPLoader`)).toEqual({});
    const refused = await postJson(`${baseB}/prompt`, { prompt: splitModelWorkflow() });
    expect(refused.status).toBe(400);
    expect(refused.json.error.type).toBe('missing_node_type');
  });
});
