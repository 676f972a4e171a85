/**
 * Which node input names a model file, and in which ComfyUI model folder: THE static table (one place).
 *
 * Source: ComfyUI's own loaders, `folder_paths.get_filename_list("<folder>")` in their INPUT_TYPES /
 * define_schema (github.com/comfyanonymous/ComfyUI):
 * - nodes.py: CheckpointLoader, CheckpointLoaderSimple, unCLIPCheckpointLoader, DiffusersLoader, LoraLoader,
 *   LoraLoaderModelOnly, VAELoader, ControlNetLoader, DiffControlNetLoader, UNETLoader, CLIPLoader,
 *   DualCLIPLoader, CLIPVisionLoader, StyleModelLoader, GLIGENLoader;
 * - comfy_extras/nodes_upscale_model.py (UpscaleModelLoader), nodes_hypernetwork.py (HypernetworkLoader),
 *   nodes_photomaker.py (PhotoMakerLoader), nodes_sd3.py (TripleCLIPLoader), nodes_hidream.py
 *   (QuadrupleCLIPLoader), nodes_video_model.py (ImageOnlyCheckpointLoader), nodes_model_patch.py
 *   (ModelPatchLoader), nodes_audio_encoder.py (AudioEncoderLoader), nodes_hunyuan.py
 *   (LatentUpscaleModelLoader).
 * Folder names are the CURRENT canonical keys of `folder_paths.folder_names_and_paths` (what GET /models lists):
 * the loaders still ask for the legacy "unet" and "clip", which `folder_paths.map_legacy` maps to
 * "diffusion_models" and "text_encoders" (read in folder_paths.py; "clip" → "text_encoders" since 2024-10).
 * Embeddings are not a loader input: they are named in prompt text as `embedding:<name>` (comfy/sd1_clip.py).
 *
 * Custom loaders are not listed: `requirementsFromObjectInfo` finds them from a worker's /object_info.
 */
export const MODEL_LOADER_INPUTS: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.freeze({
  CheckpointLoader: { config_name: 'configs', ckpt_name: 'checkpoints' },
  CheckpointLoaderSimple: { ckpt_name: 'checkpoints' },
  unCLIPCheckpointLoader: { ckpt_name: 'checkpoints' },
  ImageOnlyCheckpointLoader: { ckpt_name: 'checkpoints' },
  DiffusersLoader: { model_path: 'diffusers' },
  LoraLoader: { lora_name: 'loras' },
  LoraLoaderModelOnly: { lora_name: 'loras' },
  VAELoader: { vae_name: 'vae' },
  ControlNetLoader: { control_net_name: 'controlnet' },
  DiffControlNetLoader: { control_net_name: 'controlnet' },
  UNETLoader: { unet_name: 'diffusion_models' },
  CLIPLoader: { clip_name: 'text_encoders' },
  DualCLIPLoader: { clip_name1: 'text_encoders', clip_name2: 'text_encoders' },
  TripleCLIPLoader: { clip_name1: 'text_encoders', clip_name2: 'text_encoders', clip_name3: 'text_encoders' },
  QuadrupleCLIPLoader: {
    clip_name1: 'text_encoders',
    clip_name2: 'text_encoders',
    clip_name3: 'text_encoders',
    clip_name4: 'text_encoders',
  },
  CLIPVisionLoader: { clip_name: 'clip_vision' },
  StyleModelLoader: { style_model_name: 'style_models' },
  GLIGENLoader: { gligen_name: 'gligen' },
  UpscaleModelLoader: { model_name: 'upscale_models' },
  LatentUpscaleModelLoader: { model_name: 'latent_upscale_models' },
  HypernetworkLoader: { hypernetwork_name: 'hypernetworks' },
  PhotoMakerLoader: { photomaker_model_name: 'photomaker' },
  ModelPatchLoader: { name: 'model_patches' },
  AudioEncoderLoader: { audio_encoder_name: 'audio_encoders' },
});

/** Legacy folder names a loader or a worker may use → the canonical key (folder_paths.map_legacy). */
export const LEGACY_MODEL_FOLDERS: Readonly<Record<string, string>> = Object.freeze({
  unet: 'diffusion_models',
  clip: 'text_encoders',
});

export const canonicalFolder = (folder: string): string =>
  Object.prototype.hasOwnProperty.call(LEGACY_MODEL_FOLDERS, folder) ? LEGACY_MODEL_FOLDERS[folder] : folder;

/**
 * VAELoader values that are not files in `vae`: ComfyUI assembles them from `vae_approx` encoder/decoder pairs
 * (nodes.py `VAELoader.vae_list`). They are checked against the worker's VAELoader options when known.
 */
export const VAE_PSEUDO_NAMES: ReadonlySet<string> = new Set(['taesd', 'taesdxl', 'taesd3', 'taef1']);

/** The folder a loader's input names, or undefined when the static table does not know it. */
export function staticModelFolder(classType: string, input: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(MODEL_LOADER_INPUTS, classType)) return undefined;
  const inputs = MODEL_LOADER_INPUTS[classType];
  return Object.prototype.hasOwnProperty.call(inputs, input) ? inputs[input] : undefined;
}

/** Extensions of model files (folder_paths.supported_pt_extensions, plus GGUF and ONNX of common custom nodes). */
const MODEL_EXTENSIONS = /\.(safetensors|sft|ckpt|pt|pth|bin|pkl|gguf|onnx)$/i;

export const looksLikeModelFile = (value: string): boolean => MODEL_EXTENSIONS.test(value);
