import {
  canRun,
  capabilitiesFrom,
  missingFor,
  workerModelName,
  type WorkerCapabilities,
} from './worker-capabilities';
import { requirementsFromObjectInfo, workflowRequirements } from './workflow-requirements';
import { sdxlTxt2Img } from './testing/workflow-fixtures';

const SDXL_NODES = [
  'CLIPTextEncode',
  'CheckpointLoaderSimple',
  'EmptyLatentImage',
  'KSampler',
  'LoraLoader',
  'SaveImage',
  'VAEDecode',
  'VAELoader',
];

function worker(over: Partial<WorkerCapabilities> = {}): WorkerCapabilities {
  return {
    nodeClasses: SDXL_NODES,
    models: {
      checkpoints: ['sd_xl_base_1.0.safetensors'],
      loras: ['styles/add_detail.safetensors'],
      vae: ['sdxl_vae.safetensors'],
      embeddings: ['good_style.safetensors', 'bad_hands.pt'],
    },
    fetchedAt: 0,
    ...over,
  };
}

describe('missingFor', () => {
  const req = workflowRequirements(sdxlTxt2Img());

  it('is empty when the worker has every node and model (embeddings match without extension)', () => {
    expect(missingFor(req, worker())).toEqual({ nodes: [], models: [], fileInputs: [] });
    expect(canRun(req, worker())).toBe(true);
  });

  it('names the missing checkpoint and node classes', () => {
    const w = worker({
      nodeClasses: SDXL_NODES.filter((n) => n !== 'LoraLoader'),
      models: { ...worker().models, checkpoints: ['v1-5-pruned-emaonly.safetensors'] },
    });
    expect(missingFor(req, w)).toEqual({
      nodes: ['LoraLoader'],
      models: [{ folder: 'checkpoints', name: 'sd_xl_base_1.0.safetensors' }],
      fileInputs: [],
    });
    expect(canRun(req, w)).toBe(false);
  });

  it('matches subfolder paths across separators and gives the worker its own spelling', () => {
    const windows = worker({ models: { ...worker().models, loras: ['styles\\add_detail.safetensors'] } });
    expect(missingFor(req, windows).models).toEqual([]);
    expect(workerModelName(windows, 'loras', 'styles/add_detail.safetensors')).toBe(
      'styles\\add_detail.safetensors',
    );
    expect(workerModelName(worker(), 'loras', 'styles\\add_detail.safetensors')).toBe(
      'styles/add_detail.safetensors',
    );
    // exact otherwise: case and folder matter
    expect(workerModelName(worker(), 'loras', 'Styles/add_detail.safetensors')).toBeUndefined();
    expect(workerModelName(worker(), 'checkpoints', 'styles/add_detail.safetensors')).toBeUndefined();
  });

  it('accepts legacy folder keys from old workers (clip, unet)', () => {
    const old = worker({ models: { unet: ['flux1-dev.safetensors'], clip: ['t5xxl_fp16.safetensors'] } });
    expect(workerModelName(old, 'diffusion_models', 'flux1-dev.safetensors')).toBe('flux1-dev.safetensors');
    expect(workerModelName(old, 'text_encoders', 't5xxl_fp16.safetensors')).toBe('t5xxl_fp16.safetensors');
  });

  it('checks file inputs against the worker options when it knows them', () => {
    const r = workflowRequirements({ '1': { class_type: 'VAELoader', inputs: { vae_name: 'taesdxl' } } });
    const key = 'VAELoader\u0000vae_name';
    expect(missingFor(r, worker({ fileCombos: { [key]: ['sdxl_vae.safetensors'] } })).fileInputs).toEqual([
      { nodeClass: 'VAELoader', input: 'vae_name', value: 'taesdxl' },
    ]);
    expect(missingFor(r, worker({ fileCombos: { [key]: ['taesdxl'] } })).fileInputs).toEqual([]);
    expect(missingFor(r, worker()).fileInputs).toEqual([]); // unknown options: not held against the worker
  });
});

describe('capabilitiesFrom', () => {
  const objectInfo = {
    CheckpointLoaderSimple: {
      input: { required: { ckpt_name: [['a.safetensors', 'sdxl\\b.safetensors'], {}] } },
    },
    UNETLoader: {
      input: { required: { unet_name: [['flux.safetensors'], {}], weight_dtype: [['default'], {}] } },
    },
    VAELoader: { input: { required: { vae_name: [['v.safetensors', 'taesd'], {}] } } },
    LoadImage: { input: { required: { image: [['in.png'], { image_upload: true }] } } },
    IPAdapterModelLoader: { input: { required: { ipadapter_file: ['COMBO', { options: ['ip.bin'] }] } } },
    KSampler: { input: { required: { sampler_name: [['euler'], {}] } } },
  };

  it('takes node classes from /object_info and models from the listings, canonicalizing folder names', () => {
    const c = capabilitiesFrom(
      objectInfo,
      { checkpoints: ['a.safetensors'], unet: ['u.safetensors'], bad: 'x' as never },
      42,
    );
    expect(c.nodeClasses).toEqual(Object.keys(objectInfo).sort());
    expect(c.models).toEqual({ checkpoints: ['a.safetensors'], diffusion_models: ['u.safetensors'] });
    expect(c.fetchedAt).toBe(42);
    expect(Object.keys(c.fileCombos ?? {}).sort()).toEqual([
      'CheckpointLoaderSimple\u0000ckpt_name',
      'IPAdapterModelLoader\u0000ipadapter_file',
      'UNETLoader\u0000unet_name',
      'VAELoader\u0000vae_name',
    ]);
  });

  it('without listings (old ComfyUI without /models), reads the core loaders combos instead', () => {
    const c = capabilitiesFrom(objectInfo, undefined, 0);
    expect(c.models).toEqual({
      checkpoints: ['a.safetensors', 'sdxl\\b.safetensors'],
      diffusion_models: ['flux.safetensors'],
      vae: ['taesd', 'v.safetensors'],
    });
  });

  it('feeds requirementsFromObjectInfo + missingFor end to end (custom loader folder inferred)', () => {
    const c = capabilitiesFrom(
      objectInfo,
      { ipadapter: ['ip.bin'], checkpoints: ['sdxl\\b.safetensors'] },
      0,
    );
    const wf = {
      '1': { class_type: 'IPAdapterModelLoader', inputs: { ipadapter_file: 'ip.bin' } },
      '2': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sdxl/b.safetensors' } },
    };
    const r = requirementsFromObjectInfo(wf, objectInfo, c.models);
    expect(r.models).toEqual([
      { folder: 'checkpoints', name: 'sdxl/b.safetensors' },
      { folder: 'ipadapter', name: 'ip.bin' },
    ]);
    expect(canRun(r, c)).toBe(true);
    expect(missingFor(r, capabilitiesFrom(objectInfo, { ipadapter: [] }, 0)).models).toHaveLength(2);
  });

  it('survives hostile answers', () => {
    expect(capabilitiesFrom('nope', undefined, 0)).toEqual({
      nodeClasses: [],
      models: {},
      fileCombos: {},
      fetchedAt: 0,
    });
    const c = capabilitiesFrom(
      JSON.parse('{"__proto__": {"input": {}}}'),
      JSON.parse('{"__proto__": ["x.ckpt"]}'),
      0,
    );
    expect(c.nodeClasses).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(c.models)).toBe(Object.prototype);
    expect(workerModelName(c, '__proto__', 'x.ckpt')).toBe('x.ckpt');
  });
});
