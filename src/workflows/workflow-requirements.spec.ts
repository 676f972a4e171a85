import { DEFAULT_WORKFLOW_LIMITS, WorkflowShapeError } from './workflow-graph';
import { embeddingNames, requirementsFromObjectInfo, workflowRequirements } from './workflow-requirements';
import { sdxlTxt2Img, wanVideo } from './testing/workflow-fixtures';

describe('workflowRequirements (static loader table)', () => {
  it('lists node classes and the models of core loaders, per canonical folder, plus embeddings from text', () => {
    const r = workflowRequirements(sdxlTxt2Img());
    expect(r.nodeClasses).toEqual([
      'CLIPTextEncode',
      'CheckpointLoaderSimple',
      'EmptyLatentImage',
      'KSampler',
      'LoraLoader',
      'SaveImage',
      'VAEDecode',
      'VAELoader',
    ]);
    expect(r.models).toEqual([
      { folder: 'checkpoints', name: 'sd_xl_base_1.0.safetensors' },
      { folder: 'embeddings', name: 'bad_hands' },
      { folder: 'embeddings', name: 'good_style' },
      { folder: 'loras', name: 'styles/add_detail.safetensors' },
      { folder: 'vae', name: 'sdxl_vae.safetensors' },
    ]);
    expect(r.fileInputs).toEqual([]);
  });

  it('maps the legacy unet/clip loaders to diffusion_models/text_encoders', () => {
    const r = workflowRequirements(wanVideo());
    expect(r.models).toEqual([
      { folder: 'diffusion_models', name: 'wan2.1_t2v_1.3B_fp16.safetensors' },
      { folder: 'text_encoders', name: 'umt5_xxl_fp8_e4m3fn_scaled.safetensors' },
      { folder: 'vae', name: 'wan_2.1_vae.safetensors' },
    ]);
  });

  it('covers multi-file loaders, skips "None" and follows one link to a primitive', () => {
    const r = workflowRequirements({
      '1': {
        class_type: 'DualCLIPLoader',
        inputs: { clip_name1: 'clip_l.safetensors', clip_name2: 't5xxl_fp16.safetensors', type: 'flux' },
      },
      '2': { class_type: 'PrimitiveString', inputs: { value: 'flux1-dev.safetensors' } },
      '3': { class_type: 'UNETLoader', inputs: { unet_name: ['2', 0], weight_dtype: 'fp8_e4m3fn' } },
      '4': { class_type: 'UpscaleModelLoader', inputs: { model_name: '4x-UltraSharp.pth' } },
      '5': { class_type: 'ControlNetLoader', inputs: { control_net_name: 'None' } },
      '6': {
        class_type: 'CheckpointLoader',
        inputs: { config_name: 'v1-inference.yaml', ckpt_name: 'x.ckpt' },
      },
    });
    expect(r.models).toEqual([
      { folder: 'checkpoints', name: 'x.ckpt' },
      { folder: 'configs', name: 'v1-inference.yaml' },
      { folder: 'diffusion_models', name: 'flux1-dev.safetensors' },
      { folder: 'text_encoders', name: 'clip_l.safetensors' },
      { folder: 'text_encoders', name: 't5xxl_fp16.safetensors' },
      { folder: 'upscale_models', name: '4x-UltraSharp.pth' },
    ]);
  });

  it("treats VAELoader's taesd values as file inputs (they are not files in vae/)", () => {
    const r = workflowRequirements({ '1': { class_type: 'VAELoader', inputs: { vae_name: 'taesdxl' } } });
    expect(r.models).toEqual([]);
    expect(r.fileInputs).toEqual([{ nodeClass: 'VAELoader', input: 'vae_name', value: 'taesdxl' }]);
  });

  it('reads embedding names as the tokenizer does', () => {
    expect(embeddingNames('a, embedding:foo, (embedding:bar:1.2) embedding:sub/baz.pt. x')).toEqual([
      'foo',
      'bar',
      'sub/baz.pt',
    ]);
    expect(embeddingNames('no embeddings here')).toEqual([]);
  });
});

describe('requirementsFromObjectInfo', () => {
  const objectInfo = {
    IPAdapterModelLoader: {
      input: { required: { ipadapter_file: [['ip-adapter_sdxl.safetensors', 'ip-adapter_sd15.bin'], {}] } },
    },
    MyV3Loader: {
      input: { required: { model: ['COMBO', { options: ['a.gguf', 'b.gguf'] }] } },
    },
    LoadImage: { input: { required: { image: [['example.png'], { image_upload: true }] } } },
    KSampler: { input: { required: { sampler_name: [['euler', 'dpmpp_2m'], {}] } } },
    CheckpointLoaderSimple: { input: { required: { ckpt_name: [['x.safetensors'], {}] } } },
  };
  const workflow = {
    '1': { class_type: 'IPAdapterModelLoader', inputs: { ipadapter_file: 'ip-adapter_sdxl.safetensors' } },
    '2': { class_type: 'MyV3Loader', inputs: { model: 'c.gguf' } },
    '3': { class_type: 'LoadImage', inputs: { image: 'upload_123.png' } },
    '4': { class_type: 'KSampler', inputs: { sampler_name: 'euler' } },
    '5': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd15/y.safetensors' } },
  };

  it('finds custom loaders from combo inputs, infers their folder from the listings, skips uploads and enums', () => {
    const r = requirementsFromObjectInfo(workflow, objectInfo, {
      ipadapter: ['ip-adapter_sd15.bin', 'ip-adapter_sdxl.safetensors'],
      checkpoints: ['x.safetensors'],
    });
    expect(r.models).toEqual([
      { folder: 'checkpoints', name: 'sd15/y.safetensors' },
      { folder: 'ipadapter', name: 'ip-adapter_sdxl.safetensors' },
    ]);
    expect(r.fileInputs).toEqual([{ nodeClass: 'MyV3Loader', input: 'model', value: 'c.gguf' }]);
  });

  it('without listings, a custom loader input is a file input; without object_info it is invisible', () => {
    expect(requirementsFromObjectInfo(workflow, objectInfo).fileInputs).toEqual([
      { nodeClass: 'IPAdapterModelLoader', input: 'ipadapter_file', value: 'ip-adapter_sdxl.safetensors' },
      { nodeClass: 'MyV3Loader', input: 'model', value: 'c.gguf' },
    ]);
    expect(requirementsFromObjectInfo(workflow, 'garbage').models).toEqual([
      { folder: 'checkpoints', name: 'sd15/y.safetensors' },
    ]);
  });
});

describe('hostile workflows', () => {
  it('rejects non-API shapes and too many nodes', () => {
    expect(() => workflowRequirements([])).toThrow(WorkflowShapeError);
    expect(() => workflowRequirements({ '1': { class_type: 3, inputs: {} } })).toThrow(WorkflowShapeError);
    const big: Record<string, unknown> = {};
    for (let i = 0; i <= DEFAULT_WORKFLOW_LIMITS.maxNodes; i++) big[i] = { class_type: 'X', inputs: {} };
    expect(() => workflowRequirements(big)).toThrow(/more than 5000 nodes/);
  });

  it('ignores deep nesting, huge names and huge text without recursion or quadratic work', () => {
    let deep: unknown = 'x.safetensors';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const huge = 'a'.repeat(5_000_000);
    const started = performance.now();
    const r = workflowRequirements({
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: deep } },
      '2': { class_type: 'LoraLoader', inputs: { lora_name: `${huge}.safetensors` } },
      '3': { class_type: 'CLIPTextEncode', inputs: { text: `${'embedding:e '.repeat(1_000_000)}` } },
      '4': { class_type: 'CLIPTextEncode', inputs: { text: `${huge} embedding:late` } },
    });
    expect(r.models).toEqual([{ folder: 'embeddings', name: 'e' }]);
    expect(performance.now() - started).toBeLessThan(5000);
  });

  it('does not touch prototypes', () => {
    const r = workflowRequirements(
      JSON.parse(
        '{"__proto__": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "p.ckpt", "__proto__": 1}}}',
      ),
    );
    expect(r.models).toEqual([{ folder: 'checkpoints', name: 'p.ckpt' }]);
    expect(({} as Record<string, unknown>).class_type).toBeUndefined();
  });
});
