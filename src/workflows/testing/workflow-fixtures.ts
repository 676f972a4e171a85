/** API-format workflows for specs (shapes as ComfyUI's "Save (API)" exports them). */

export function sdxlTxt2Img(over: { seed?: number; text?: string; steps?: number; width?: number } = {}) {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sd_xl_base_1.0.safetensors' } },
    '5': {
      class_type: 'EmptyLatentImage',
      inputs: { width: over.width ?? 1024, height: 1024, batch_size: 1 },
    },
    '6': {
      class_type: 'CLIPTextEncode',
      inputs: { text: over.text ?? 'a photo of a cat, embedding:good_style', clip: ['10', 1] },
    },
    '7': {
      class_type: 'CLIPTextEncode',
      inputs: { text: 'blurry, (embedding:bad_hands:1.2)', clip: ['10', 1] },
    },
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed: over.seed ?? 156680208700286,
        steps: over.steps ?? 25,
        cfg: 7,
        sampler_name: 'dpmpp_2m',
        scheduler: 'karras',
        denoise: 1,
        model: ['10', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    },
    '10': {
      class_type: 'LoraLoader',
      inputs: {
        model: ['4', 0],
        clip: ['4', 1],
        lora_name: 'styles/add_detail.safetensors',
        strength_model: 0.8,
        strength_clip: 0.8,
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['11', 0] } },
    '11': { class_type: 'VAELoader', inputs: { vae_name: 'sdxl_vae.safetensors' } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] } },
  };
}

export function wanVideo(over: { length?: number; seed?: number } = {}) {
  return {
    '37': {
      class_type: 'UNETLoader',
      inputs: { unet_name: 'wan2.1_t2v_1.3B_fp16.safetensors', weight_dtype: 'default' },
    },
    '38': {
      class_type: 'CLIPLoader',
      inputs: { clip_name: 'umt5_xxl_fp8_e4m3fn_scaled.safetensors', type: 'wan' },
    },
    '39': { class_type: 'VAELoader', inputs: { vae_name: 'wan_2.1_vae.safetensors' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a fox running in snow', clip: ['38', 0] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'low quality', clip: ['38', 0] } },
    '40': {
      class_type: 'EmptyHunyuanLatentVideo',
      inputs: { width: 832, height: 480, length: over.length ?? 33, batch_size: 1 },
    },
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed: over.seed ?? 82628696717253,
        steps: 30,
        cfg: 6,
        sampler_name: 'uni_pc',
        scheduler: 'simple',
        denoise: 1,
        model: ['37', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['40', 0],
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['39', 0] } },
    '28': {
      class_type: 'SaveAnimatedWEBP',
      inputs: {
        filename_prefix: 'ComfyUI',
        fps: 16,
        lossless: false,
        quality: 90,
        method: 'default',
        images: ['8', 0],
      },
    },
  };
}
