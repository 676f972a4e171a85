/** API-format workflows the fake ComfyUI runs without model files. */
export function pngWorkflow(prefix = 'test', color = 0xff0000): Record<string, unknown> {
  return {
    '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color } },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: prefix } },
  };
}

/** Core SaveVideo: an .mp4 reported under `images` with `animated`. */
export function videoWorkflow(prefix = 'clip'): Record<string, unknown> {
  return {
    '1': { class_type: 'EmptyImage', inputs: { width: 16, height: 16, batch_size: 4, color: 0x00ff00 } },
    '2': { class_type: 'CreateVideo', inputs: { images: ['1', 0], fps: 24 } },
    '3': {
      class_type: 'SaveVideo',
      inputs: { video: ['2', 0], filename_prefix: prefix, format: 'auto', codec: 'auto' },
    },
  };
}

/** A job that takes `steps` sampler steps (progress events), with simulated model nodes. */
export function slowWorkflow(steps: number, seed = 1): Record<string, unknown> {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: '', clip: ['4', 1] } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed,
        steps,
        cfg: 7,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { images: ['8', 0], filename_prefix: 'slow' } },
  };
}

export const UNKNOWN_NODE_WORKFLOW = {
  '1': { class_type: 'NoSuchNodeAnywhere', inputs: {} },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
};
