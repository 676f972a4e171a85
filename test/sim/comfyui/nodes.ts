import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import {
  cropFrame,
  decodePng,
  encodeApng,
  encodePng,
  fakeFlac,
  fakeMp4,
  fakeWebp,
  type Frame,
  type ImageBatch,
  type Mask,
  type MaskBatch,
  resizeFrame,
  solidFrame,
  synthFrame,
  TINY_GIF,
  zeroSafetensors,
} from './media';
import { PyException, pyJson } from './py-compat';
import { type FileStore, type FolderType, getSaveImagePath } from './storage';

/**
 * The fake's node catalogue (what `/object_info` lists, what validation checks, what the executor runs).
 *
 * Two groups:
 * - "no model files" core nodes from reference §8 (EmptyImage, LoadImage, ImageInvert, ImageScale, ...,
 *   SaveImage, PreviewImage, SaveAnimatedWEBP/PNG, CreateVideo + SaveVideo, SaveLatent, PreviewAny,
 *   SaveImageWebsocket, PrimitiveString/Int, StringConcatenate) plus VHS_VideoCombine, LoadAudio/SaveAudio;
 * - SIMULATED model nodes (CheckpointLoaderSimple, LoraLoader, LoraLoaderModelOnly, VAELoader, UNETLoader,
 *   CLIPLoader, DualCLIPLoader, CLIPTextEncode, EmptyLatentImage, KSampler, VAEDecode, VAEEncode): no model is
 *   loaded; the loaders' combos list `options.models` (checkpoints, loras, vae, diffusion_models,
 *   text_encoders), KSampler
 *   reports `progress` per step and VAEDecode paints a deterministic picture from (seed, prompt, settings).
 */

export type InputSpec = [string | string[], Record<string, unknown>?];
export interface InputTypes {
  required: Record<string, InputSpec>;
  optional?: Record<string, InputSpec>;
  hidden?: Record<string, string>;
}

export interface UiOutput {
  [key: string]: unknown[];
}
export interface NodeResult {
  result: unknown[];
  ui?: UiOutput;
}

/** What a node can do while it runs (supplied by the executor). */
export interface ExecContext {
  readonly promptId: string;
  readonly nodeId: string;
  readonly store: FileStore;
  readonly prompt: Record<string, unknown>;
  readonly extraData: Record<string, unknown>;
  /** Simulated work: an interruptible sleep of `executionMsPerNode` (or `ms`). Throws when interrupted. */
  work(ms?: number): Promise<void>;
  /** A `comfy.utils.ProgressBar` update: sends progress_state + progress (and a preview frame if enabled). */
  progress(value: number, max: number, preview?: Frame): Promise<void>;
  /** Per-step time for samplers. */
  readonly samplerStepMs: number;
  /** Sends a binary PREVIEW_IMAGE (type 1, PNG) frame like SaveImageWebsocket. */
  sendPngFrame(png: Buffer): void;
}

export interface CatalogueEnv {
  store: FileStore;
  models: Record<string, string[]>;
}

export interface NodeDef {
  name: string;
  display_name: string;
  category: string;
  description: string;
  python_module: string;
  output: string[];
  output_name?: string[];
  output_is_list?: boolean[];
  output_node: boolean;
  /** V3 nodes render combos as ["COMBO", {options}] in /object_info; V1 as [[...], {...}]. */
  inputTypes(env: CatalogueEnv): InputTypes;
  /** Inputs named by VALIDATE_INPUTS (these skip min/max/combo checks, like ComfyUI). */
  validateInputs?: {
    names: string[];
    fn(inputs: Record<string, unknown>, env: CatalogueEnv): true | string | false;
  };
  /** IS_CHANGED: folded into the cache signature. */
  isChanged?(inputs: Record<string, unknown>, env: CatalogueEnv): string;
  execute(inputs: Record<string, unknown>, ctx: ExecContext): Promise<NodeResult>;
}

export const MAX_RESOLUTION = 16384;
const UPSCALE_METHODS = ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'];
export const SAMPLERS = [
  'euler',
  'euler_ancestral',
  'heun',
  'dpm_2',
  'dpmpp_2m',
  'dpmpp_2m_sde',
  'dpmpp_2m_sde_gpu',
  'dpmpp_sde',
  'lcm',
  'ddim',
  'uni_pc',
];
export const SCHEDULERS = [
  'simple',
  'sgm_uniform',
  'karras',
  'exponential',
  'ddim_uniform',
  'beta',
  'normal',
  'linear_quadratic',
  'kl_optimal',
];
const IMAGE_EXT = /\.(png|jpe?g|webp|gif|bmp|tiff?)$/i;
const AUDIO_EXT = /\.(wav|mp3|flac|ogg|m4a|aac|opus)$/i;

const dim = (def = 512, min = 1): InputSpec => ['INT', { default: def, min, max: MAX_RESOLUTION, step: 1 }];
const prefixSpec = (def: string): InputSpec => [
  'STRING',
  { default: def, tooltip: 'The prefix for the file to save.' },
];

// ------------------------------------------------------------ value helpers

function images(v: unknown): ImageBatch {
  const b = v as ImageBatch;
  if (!b || b.kind !== 'IMAGE') throw new PyException('TypeError', 'expected an IMAGE input');
  return b;
}
function masks(v: unknown): MaskBatch {
  const b = v as MaskBatch;
  if (!b || b.kind !== 'MASK') throw new PyException('TypeError', 'expected a MASK input');
  return b;
}
const num = (v: unknown) => Number(v);
const str = (v: unknown) => String(v);

export interface Latent {
  kind: 'LATENT';
  width: number;
  height: number;
  batch: number;
  seedText: string;
}
export interface VideoValue {
  kind: 'VIDEO';
  frames: Frame[];
  fps: number;
  audio?: unknown;
}
export interface AudioValue {
  kind: 'AUDIO';
  sampleRate: number;
  seconds: number;
  digest: string;
}

function pngMetadata(ctx: ExecContext): Record<string, string> {
  const texts: Record<string, string> = { prompt: pyJson(ctx.prompt) };
  const pnginfo = ctx.extraData.extra_pnginfo;
  if (pnginfo && typeof pnginfo === 'object')
    for (const [k, v] of Object.entries(pnginfo)) texts[k] = pyJson(v);
  return texts;
}

function fileEntry(type: FolderType, subfolder: string, filename: string) {
  return { filename, subfolder, type };
}

/** Resolves a LoadImage-style name: `sub/x.png`, or `x.png [output]` (folder_paths.annotated_filepath). */
export function annotatedPath(
  name: string,
  defaultType: FolderType = 'input',
): { type: FolderType; subfolder: string; filename: string } {
  let type = defaultType;
  let n = name;
  for (const t of ['output', 'input', 'temp'] as FolderType[]) {
    if (n.endsWith(` [${t}]`)) {
      n = n.slice(0, -(t.length + 3));
      type = t;
      break;
    }
  }
  const dir = posix.dirname(n);
  return { type, subfolder: dir === '.' ? '' : dir, filename: posix.basename(n) };
}

function saveImages(
  ctx: ExecContext,
  batch: ImageBatch,
  type: FolderType,
  prefix: string,
  level: number,
  meta: boolean,
): UiOutput {
  const first = batch.frames[0];
  const { subfolder, filename, counter } = getSaveImagePath(
    ctx.store,
    type,
    prefix,
    first?.width ?? 0,
    first?.height ?? 0,
  );
  const results = batch.frames.map((f, i) => {
    const name = `${filename.replace(/%batch_num%/g, String(i))}_${String(counter + i).padStart(5, '0')}_.png`;
    ctx.store.write(type, subfolder, name, encodePng(f, meta ? pngMetadata(ctx) : {}, level));
    return fileEntry(type, subfolder, name);
  });
  return { images: results };
}

function saveOne(
  ctx: ExecContext,
  type: FolderType,
  prefix: string,
  ext: string,
  bytes: Buffer,
  frame?: Frame,
) {
  const { subfolder, filename, counter } = getSaveImagePath(
    ctx.store,
    type,
    prefix,
    frame?.width ?? 0,
    frame?.height ?? 0,
  );
  const name = `${filename}_${String(counter).padStart(5, '0')}_.${ext}`;
  ctx.store.write(type, subfolder, name, bytes);
  return fileEntry(type, subfolder, name);
}

const v1 = { python_module: 'nodes', description: '' };

// ------------------------------------------------------------ catalogue

export function buildCatalogue(): Map<string, NodeDef> {
  const defs: NodeDef[] = [
    {
      ...v1,
      name: 'EmptyImage',
      display_name: 'EmptyImage',
      category: 'image',
      output: ['IMAGE'],
      output_node: false,
      inputTypes: () => ({
        required: {
          width: dim(),
          height: dim(),
          batch_size: ['INT', { default: 1, min: 1, max: 4096 }],
          color: ['INT', { default: 0, min: 0, max: 0xffffff, step: 1, display: 'color' }],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const f = solidFrame(num(i.width), num(i.height), num(i.color));
        return {
          result: [
            {
              kind: 'IMAGE',
              frames: Array.from({ length: num(i.batch_size) }, () => f),
            } satisfies ImageBatch,
          ],
        };
      },
    },
    {
      ...v1,
      name: 'LoadImage',
      display_name: 'Load Image',
      category: 'image',
      output: ['IMAGE', 'MASK'],
      output_node: false,
      // The combo lists the files directly in input/ (rescanned on every call), like ComfyUI.
      inputTypes: (env) => ({
        required: {
          image: [env.store.list('input').filter((f) => IMAGE_EXT.test(f)), { image_upload: true }],
        },
      }),
      // LoadImage.VALIDATE_INPUTS(s, image): so ComfyUI skips the combo check for `image` and reports
      // custom_validation_failed "image - Invalid image file: <name>" when the file does not exist.
      // (Reference §8 says value_not_in_list; ComfyUI's execution.py/nodes.py say otherwise — we follow the code.)
      validateInputs: {
        names: ['image'],
        fn: (i, env) => {
          const p = annotatedPath(str(i.image));
          return env.store.exists(p.type, p.subfolder, p.filename)
            ? true
            : `Invalid image file: ${str(i.image)}`;
        },
      },
      isChanged: (i, env) => {
        const p = annotatedPath(str(i.image));
        const bytes = env.store.read(p.type, p.subfolder, p.filename) ?? Buffer.alloc(0);
        return createHash('sha256').update(bytes).digest('hex');
      },
      async execute(i, ctx) {
        await ctx.work();
        const p = annotatedPath(str(i.image));
        const bytes = ctx.store.read(p.type, p.subfolder, p.filename);
        if (!bytes)
          throw new PyException(
            'FileNotFoundError',
            `[Errno 2] No such file or directory: '${ctx.store.dir(p.type)}/${p.subfolder ? p.subfolder + '/' : ''}${p.filename}'`,
          );
        const decoded = decodePng(bytes);
        // Non-PNG (or exotic PNG) uploads decode to a deterministic 64x64 picture derived from their bytes.
        const frame = decoded?.frame ?? synthFrame(64, 64, createHash('sha256').update(bytes).digest('hex'));
        const mask: Mask = decoded?.alpha
          ? { width: frame.width, height: frame.height, values: decoded.alpha.map((a) => 1 - a) }
          : { width: 64, height: 64, values: new Float32Array(64 * 64) };
        return {
          result: [
            { kind: 'IMAGE', frames: [frame] } satisfies ImageBatch,
            { kind: 'MASK', masks: [mask] } satisfies MaskBatch,
          ],
        };
      },
    },
    {
      ...v1,
      name: 'ImageInvert',
      display_name: 'Invert Image',
      category: 'image',
      output: ['IMAGE'],
      output_node: false,
      inputTypes: () => ({ required: { image: ['IMAGE'] } }),
      async execute(i, ctx) {
        await ctx.work();
        const frames = images(i.image).frames.map((f) => ({ ...f, rgb: f.rgb.map((v) => 255 - v) }));
        return { result: [{ kind: 'IMAGE', frames }] };
      },
    },
    {
      ...v1,
      name: 'ImageScale',
      display_name: 'Upscale Image',
      category: 'image/upscaling',
      output: ['IMAGE'],
      output_node: false,
      inputTypes: () => ({
        required: {
          image: ['IMAGE'],
          upscale_method: [UPSCALE_METHODS],
          width: dim(512, 0),
          height: dim(512, 0),
          crop: [['disabled', 'center']],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const frames = images(i.image).frames.map((f) => {
          let w = num(i.width);
          let h = num(i.height);
          if (w === 0 && h === 0) return f;
          if (w === 0) w = Math.max(1, Math.round((f.width * h) / f.height));
          if (h === 0) h = Math.max(1, Math.round((f.height * w) / f.width));
          let src = f;
          if (i.crop === 'center') {
            const ar = w / h;
            const cw = Math.min(f.width, Math.round(f.height * ar));
            const ch = Math.min(f.height, Math.round(f.width / ar));
            src = cropFrame(f, cw, ch, Math.floor((f.width - cw) / 2), Math.floor((f.height - ch) / 2));
          }
          return resizeFrame(src, w, h);
        });
        return { result: [{ kind: 'IMAGE', frames }] };
      },
    },
    {
      ...v1,
      name: 'ImageScaleBy',
      display_name: 'Upscale Image By',
      category: 'image/upscaling',
      output: ['IMAGE'],
      output_node: false,
      inputTypes: () => ({
        required: {
          image: ['IMAGE'],
          upscale_method: [UPSCALE_METHODS],
          scale_by: ['FLOAT', { default: 1.0, min: 0.01, max: 8.0, step: 0.01 }],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const s = num(i.scale_by);
        const frames = images(i.image).frames.map((f) =>
          resizeFrame(f, Math.max(1, Math.round(f.width * s)), Math.max(1, Math.round(f.height * s))),
        );
        return { result: [{ kind: 'IMAGE', frames }] };
      },
    },
    {
      ...v1,
      name: 'ImageCrop',
      display_name: 'Image Crop',
      category: 'image/transform',
      output: ['IMAGE'],
      output_node: false,
      inputTypes: () => ({
        required: {
          image: ['IMAGE'],
          width: dim(512, 1),
          height: dim(512, 1),
          x: ['INT', { default: 0, min: 0, max: MAX_RESOLUTION, step: 1 }],
          y: ['INT', { default: 0, min: 0, max: MAX_RESOLUTION, step: 1 }],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const frames = images(i.image).frames.map((f) =>
          cropFrame(f, num(i.width), num(i.height), num(i.x), num(i.y)),
        );
        return { result: [{ kind: 'IMAGE', frames }] };
      },
    },
    {
      ...v1,
      name: 'ImageBatch',
      display_name: 'Batch Images',
      category: 'image',
      output: ['IMAGE'],
      output_node: false,
      inputTypes: () => ({ required: { image1: ['IMAGE'], image2: ['IMAGE'] } }),
      async execute(i, ctx) {
        await ctx.work();
        const a = images(i.image1).frames;
        const b = images(i.image2).frames.map((f) =>
          f.width === a[0].width && f.height === a[0].height ? f : resizeFrame(f, a[0].width, a[0].height),
        );
        return { result: [{ kind: 'IMAGE', frames: [...a, ...b] }] };
      },
    },
    {
      ...v1,
      name: 'RepeatImageBatch',
      display_name: 'RepeatImageBatch',
      category: 'image/batch',
      python_module: 'comfy_extras.nodes_images',
      output: ['IMAGE'],
      output_node: false,
      inputTypes: () => ({
        required: { image: ['IMAGE'], amount: ['INT', { default: 1, min: 1, max: 4096 }] },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const src = images(i.image).frames;
        const frames: Frame[] = [];
        for (let k = 0; k < num(i.amount); k++) frames.push(...src);
        return { result: [{ kind: 'IMAGE', frames }] };
      },
    },
    {
      ...v1,
      name: 'SolidMask',
      display_name: 'SolidMask',
      category: 'mask',
      python_module: 'comfy_extras.nodes_mask',
      output: ['MASK'],
      output_node: false,
      inputTypes: () => ({
        required: {
          value: ['FLOAT', { default: 1.0, min: 0.0, max: 1.0, step: 0.01 }],
          width: dim(),
          height: dim(),
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const w = num(i.width);
        const h = num(i.height);
        return {
          result: [
            {
              kind: 'MASK',
              masks: [{ width: w, height: h, values: new Float32Array(w * h).fill(num(i.value)) }],
            } satisfies MaskBatch,
          ],
        };
      },
    },
    {
      ...v1,
      name: 'MaskToImage',
      display_name: 'Convert Mask to Image',
      category: 'mask',
      python_module: 'comfy_extras.nodes_mask',
      output: ['IMAGE'],
      output_node: false,
      inputTypes: () => ({ required: { mask: ['MASK'] } }),
      async execute(i, ctx) {
        await ctx.work();
        const frames = masks(i.mask).masks.map((m) => {
          const rgb = new Uint8Array(m.width * m.height * 3);
          m.values.forEach((v, k) =>
            rgb.fill(Math.round(Math.min(1, Math.max(0, v)) * 255), k * 3, k * 3 + 3),
          );
          return { width: m.width, height: m.height, rgb };
        });
        return { result: [{ kind: 'IMAGE', frames }] };
      },
    },
    {
      ...v1,
      name: 'ImageToMask',
      display_name: 'Convert Image to Mask',
      category: 'mask',
      python_module: 'comfy_extras.nodes_mask',
      output: ['MASK'],
      output_node: false,
      inputTypes: () => ({ required: { image: ['IMAGE'], channel: [['red', 'green', 'blue', 'alpha']] } }),
      async execute(i, ctx) {
        await ctx.work();
        const c = ['red', 'green', 'blue', 'alpha'].indexOf(str(i.channel));
        const out = images(i.image).frames.map((f) => {
          const values = new Float32Array(f.width * f.height);
          // The fake's IMAGE has no alpha channel; 'alpha' yields ones (opaque).
          for (let k = 0; k < values.length; k++) values[k] = c === 3 ? 1 : f.rgb[k * 3 + c] / 255;
          return { width: f.width, height: f.height, values };
        });
        return { result: [{ kind: 'MASK', masks: out }] };
      },
    },
    {
      ...v1,
      name: 'InvertMask',
      display_name: 'InvertMask',
      category: 'mask',
      python_module: 'comfy_extras.nodes_mask',
      output: ['MASK'],
      output_node: false,
      inputTypes: () => ({ required: { mask: ['MASK'] } }),
      async execute(i, ctx) {
        await ctx.work();
        return {
          result: [
            {
              kind: 'MASK',
              masks: masks(i.mask).masks.map((m) => ({ ...m, values: m.values.map((v) => 1 - v) })),
            },
          ],
        };
      },
    },
    {
      ...v1,
      name: 'PrimitiveString',
      display_name: 'String',
      category: 'utils/primitive',
      python_module: 'comfy_extras.nodes_primitive',
      output: ['STRING'],
      output_node: false,
      inputTypes: () => ({ required: { value: ['STRING', {}] } }),
      async execute(i, ctx) {
        await ctx.work();
        return { result: [str(i.value)] };
      },
    },
    {
      ...v1,
      name: 'PrimitiveInt',
      display_name: 'Int',
      category: 'utils/primitive',
      python_module: 'comfy_extras.nodes_primitive',
      output: ['INT'],
      output_node: false,
      // UNVERIFIED bounds: ComfyUI uses sys.maxsize; we use JS safe-integer bounds.
      inputTypes: () => ({
        required: {
          value: [
            'INT',
            { min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, control_after_generate: true },
          ],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        return { result: [num(i.value)] };
      },
    },
    {
      ...v1,
      name: 'StringConcatenate',
      display_name: 'Concatenate',
      category: 'utils/string',
      python_module: 'comfy_extras.nodes_string',
      output: ['STRING'],
      output_node: false,
      inputTypes: () => ({
        required: {
          string_a: ['STRING', { multiline: true }],
          string_b: ['STRING', { multiline: true }],
          delimiter: ['STRING', { multiline: false, default: '' }],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        return { result: [`${str(i.string_a)}${str(i.delimiter)}${str(i.string_b)}`] };
      },
    },
    {
      ...v1,
      name: 'SaveImage',
      display_name: 'Save Image',
      description: 'Saves the input images to your ComfyUI output directory.',
      category: 'image',
      output: [],
      output_node: true,
      inputTypes: () => ({
        required: {
          images: ['IMAGE', { tooltip: 'The images to save.' }],
          filename_prefix: prefixSpec('ComfyUI'),
        },
        hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
      }),
      async execute(i, ctx) {
        await ctx.work();
        return {
          result: [],
          ui: saveImages(ctx, images(i.images), 'output', str(i.filename_prefix), 4, true),
        };
      },
    },
    {
      ...v1,
      name: 'PreviewImage',
      display_name: 'Preview Image',
      description: 'Saves the input images to your ComfyUI output directory.',
      category: 'image',
      output: [],
      output_node: true,
      inputTypes: () => ({
        required: { images: ['IMAGE'] },
        hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const letters = Array.from(
          { length: 5 },
          () => 'abcdefghijklmnopqrstupvxyz'[Math.floor(Math.random() * 26)],
        ).join('');
        return {
          result: [],
          ui: saveImages(ctx, images(i.images), 'temp', `ComfyUI_temp_${letters}`, 1, true),
        };
      },
    },
    {
      ...v1,
      name: 'SaveAnimatedWEBP',
      display_name: 'SaveAnimatedWEBP',
      category: 'image/animation',
      python_module: 'comfy_extras.nodes_images',
      output: [],
      output_node: true,
      inputTypes: () => ({
        required: {
          images: ['IMAGE'],
          filename_prefix: ['STRING', { default: 'ComfyUI' }],
          fps: ['FLOAT', { default: 6.0, min: 0.01, max: 1000.0, step: 0.01 }],
          lossless: ['BOOLEAN', { default: true }],
          quality: ['INT', { default: 80, min: 0, max: 100 }],
          method: [['default', 'fastest', 'slowest']],
        },
        hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const b = images(i.images);
        const entry = saveOne(ctx, 'output', str(i.filename_prefix), 'webp', fakeWebp(b.frames), b.frames[0]);
        return {
          result: [],
          ui: b.frames.length > 1 ? { images: [entry], animated: [true] } : { images: [entry] },
        };
      },
    },
    {
      ...v1,
      name: 'SaveAnimatedPNG',
      display_name: 'SaveAnimatedPNG',
      category: 'image/animation',
      python_module: 'comfy_extras.nodes_images',
      output: [],
      output_node: true,
      inputTypes: () => ({
        required: {
          images: ['IMAGE'],
          filename_prefix: ['STRING', { default: 'ComfyUI' }],
          fps: ['FLOAT', { default: 6.0, min: 0.01, max: 1000.0, step: 0.01 }],
          compress_level: ['INT', { default: 4, min: 0, max: 9 }],
        },
        hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const b = images(i.images);
        const bytes = encodeApng(b.frames, num(i.fps), pngMetadata(ctx), num(i.compress_level));
        const entry = saveOne(ctx, 'output', str(i.filename_prefix), 'png', bytes, b.frames[0]);
        return {
          result: [],
          ui: b.frames.length > 1 ? { images: [entry], animated: [true] } : { images: [entry] },
        };
      },
    },
    {
      ...v1,
      name: 'CreateVideo',
      display_name: 'Create Video',
      description: 'Create a video from images.',
      category: 'image/video',
      python_module: 'comfy_extras.nodes_video',
      output: ['VIDEO'],
      output_node: false,
      inputTypes: () => ({
        required: {
          images: ['IMAGE', { tooltip: 'The images to create a video from.' }],
          fps: ['FLOAT', { default: 30.0, min: 1.0, max: 120.0, step: 1.0 }],
        },
        optional: { audio: ['AUDIO', { tooltip: 'The audio to add to the video.' }] },
      }),
      async execute(i, ctx) {
        await ctx.work();
        return {
          result: [
            {
              kind: 'VIDEO',
              frames: images(i.images).frames,
              fps: num(i.fps),
              audio: i.audio,
            } satisfies VideoValue,
          ],
        };
      },
    },
    {
      ...v1,
      name: 'SaveVideo',
      display_name: 'Save Video',
      description: 'Saves the input images to your ComfyUI output directory.',
      category: 'image/video',
      python_module: 'comfy_extras.nodes_video',
      output: [],
      output_node: true,
      // V3 node: combos are rendered ["COMBO", {"options": [...]}] (exact extra V3 keys UNVERIFIED).
      inputTypes: () => ({
        required: {
          video: ['VIDEO', { tooltip: 'The video to save.' }],
          filename_prefix: [
            'STRING',
            { default: 'video/ComfyUI', tooltip: 'The prefix for the file to save.' },
          ],
          format: [
            'COMBO',
            { options: ['auto', 'mp4'], default: 'auto', tooltip: 'The format to save the video as.' },
          ],
          codec: [
            'COMBO',
            { options: ['auto', 'h264'], default: 'auto', tooltip: 'The codec to use for the video.' },
          ],
        },
        hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const v = i.video as VideoValue;
        if (!v || v.kind !== 'VIDEO') throw new PyException('TypeError', 'expected a VIDEO input');
        // The MP4 bytes are FAKE (valid box structure, not decodable) — see media.ts.
        const entry = saveOne(
          ctx,
          'output',
          str(i.filename_prefix),
          'mp4',
          fakeMp4(v.frames, v.fps),
          v.frames[0],
        );
        return { result: [], ui: { images: [entry], animated: [true] } };
      },
    },
    {
      ...v1,
      name: 'VHS_VideoCombine',
      display_name: 'Video Combine 🎥🅥🅗🅢',
      category: 'Video Helper Suite 🎥🅥🅗🅢',
      python_module: 'custom_nodes.ComfyUI-VideoHelperSuite',
      output: ['VHS_FILENAMES'],
      output_name: ['Filenames'],
      output_node: true,
      inputTypes: () => ({
        required: {
          images: ['IMAGE'],
          frame_rate: ['FLOAT', { default: 8, min: 1, step: 1 }],
          loop_count: ['INT', { default: 0, min: 0, max: 100, step: 1 }],
          filename_prefix: ['STRING', { default: 'AnimateDiff' }],
          format: [
            ['image/gif', 'image/webp', 'video/h264-mp4', 'video/h265-mp4', 'video/webm', 'video/ProRes'],
          ],
          pingpong: ['BOOLEAN', { default: false }],
          save_output: ['BOOLEAN', { default: true }],
        },
        optional: { audio: ['AUDIO'], meta_batch: ['VHS_BatchManager'], vae: ['VAE'] },
        hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO', unique_id: 'UNIQUE_ID' },
      }),
      async execute(i, ctx) {
        await ctx.work();
        let frames = images(i.images).frames;
        if (i.pingpong === true) frames = [...frames, ...frames.slice(1, -1).reverse()];
        const type: FolderType = i.save_output === false ? 'temp' : 'output';
        const format = str(i.format);
        const { subfolder, filename } = getSaveImagePath(ctx.store, type, str(i.filename_prefix));
        // VHS counter: max of `<name>_(\d+)\D*\..+` among existing files, + 1; names have no trailing "_".
        const re = new RegExp(`^${filename.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}_(\\d+)\\D*\\..+$`, 'i');
        let max = 0;
        for (const f of ctx.store.list(type, subfolder)) {
          const m = re.exec(f);
          if (m) max = Math.max(max, Number(m[1]));
        }
        const base = `${filename}_${String(max + 1).padStart(5, '0')}`;
        const fps = num(i.frame_rate);
        const workflowPng = `${base}.png`;
        ctx.store.write(type, subfolder, workflowPng, encodePng(frames[0], pngMetadata(ctx)));
        const ext =
          { 'image/gif': 'gif', 'image/webp': 'webp', 'video/webm': 'webm', 'video/ProRes': 'mov' }[format] ??
          'mp4';
        const bytes = ext === 'gif' ? TINY_GIF : ext === 'webp' ? fakeWebp(frames) : fakeMp4(frames, fps);
        const out = `${base}.${ext}`;
        ctx.store.write(type, subfolder, out, bytes);
        const fullpath = `${ctx.store.dir(type)}/${subfolder ? subfolder + '/' : ''}${out}`;
        const entry = {
          filename: out,
          subfolder,
          type,
          format,
          frame_rate: fps,
          workflow: workflowPng,
          fullpath,
        };
        return {
          result: [
            [
              i.save_output !== false,
              [`${ctx.store.dir(type)}/${subfolder ? subfolder + '/' : ''}${workflowPng}`, fullpath],
            ],
          ],
          ui: { gifs: [entry] },
        };
      },
    },
    {
      ...v1,
      name: 'LoadAudio',
      display_name: 'Load Audio',
      category: 'audio',
      python_module: 'comfy_extras.nodes_audio',
      output: ['AUDIO'],
      output_node: false,
      // UNVERIFIED (not in the reference): modelled on LoadImage — a combo of audio files in input/.
      inputTypes: (env) => ({
        required: {
          audio: [env.store.list('input').filter((f) => AUDIO_EXT.test(f)), { audio_upload: true }],
        },
      }),
      validateInputs: {
        names: ['audio'],
        fn: (i, env) => {
          const p = annotatedPath(str(i.audio));
          return env.store.exists(p.type, p.subfolder, p.filename)
            ? true
            : `Invalid audio file: ${str(i.audio)}`;
        },
      },
      isChanged: (i, env) => {
        const p = annotatedPath(str(i.audio));
        return createHash('sha256')
          .update(env.store.read(p.type, p.subfolder, p.filename) ?? Buffer.alloc(0))
          .digest('hex');
      },
      async execute(i, ctx) {
        await ctx.work();
        const p = annotatedPath(str(i.audio));
        const bytes = ctx.store.read(p.type, p.subfolder, p.filename) ?? Buffer.alloc(0);
        return {
          result: [
            {
              kind: 'AUDIO',
              sampleRate: 44100,
              seconds: 1,
              digest: createHash('sha256').update(bytes).digest('hex'),
            } satisfies AudioValue,
          ],
        };
      },
    },
    {
      ...v1,
      name: 'SaveAudio',
      display_name: 'Save Audio (FLAC)',
      category: 'audio',
      python_module: 'comfy_extras.nodes_audio',
      output: [],
      output_node: true,
      // ui key `audio` per reference §7; file naming `<prefix>_<counter:05>_.flac` UNVERIFIED. FLAC bytes are FAKE.
      inputTypes: () => ({
        required: { audio: ['AUDIO'], filename_prefix: ['STRING', { default: 'audio/ComfyUI' }] },
        hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const a = i.audio as AudioValue;
        return {
          result: [],
          ui: {
            audio: [saveOne(ctx, 'output', str(i.filename_prefix), 'flac', fakeFlac(a?.sampleRate ?? 44100))],
          },
        };
      },
    },
    {
      ...v1,
      name: 'PreviewAny',
      display_name: 'Preview Any',
      category: 'utils',
      python_module: 'comfy_extras.nodes_preview_any',
      output: [],
      output_node: true,
      inputTypes: () => ({ required: { source: ['*', {}] } }),
      async execute(i, ctx) {
        await ctx.work();
        const s = i.source;
        let value = 'None';
        if (typeof s === 'string') value = s;
        else if (typeof s === 'number') value = String(s);
        else if (typeof s === 'boolean') value = s ? 'True' : 'False';
        else if (s && typeof s === 'object' && 'kind' in s)
          value = `<${String((s as { kind: string }).kind)}>`;
        else if (s !== null && s !== undefined) value = pyJson(s);
        return { result: [], ui: { text: [value] } };
      },
    },
    {
      ...v1,
      name: 'SaveImageWebsocket',
      display_name: 'SaveImageWebsocket',
      category: 'api node/image',
      python_module: 'custom_nodes.websocket_image_save',
      output: [],
      output_node: true,
      inputTypes: () => ({ required: { images: ['IMAGE'] } }),
      async execute(i, ctx) {
        await ctx.work();
        const frames = images(i.images).frames;
        for (let k = 0; k < frames.length; k++) {
          await ctx.progress(k + 1, frames.length);
          ctx.sendPngFrame(encodePng(frames[k], {}, 1));
        }
        return { result: [] };
      },
    },
    {
      ...v1,
      name: 'EmptyLatentImage',
      display_name: 'Empty Latent Image',
      category: 'latent',
      output: ['LATENT'],
      output_node: false,
      inputTypes: () => ({
        required: {
          width: ['INT', { default: 512, min: 16, max: MAX_RESOLUTION, step: 8 }],
          height: ['INT', { default: 512, min: 16, max: MAX_RESOLUTION, step: 8 }],
          batch_size: ['INT', { default: 1, min: 1, max: 4096 }],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        return {
          result: [
            {
              kind: 'LATENT',
              width: num(i.width),
              height: num(i.height),
              batch: num(i.batch_size),
              seedText: 'empty',
            } satisfies Latent,
          ],
        };
      },
    },
    {
      ...v1,
      name: 'SaveLatent',
      display_name: 'SaveLatent',
      category: '_for_testing',
      python_module: 'comfy_extras.nodes_latent',
      output: [],
      output_node: true,
      inputTypes: () => ({
        required: { samples: ['LATENT'], filename_prefix: ['STRING', { default: 'latents/ComfyUI' }] },
        hidden: { prompt: 'PROMPT', extra_pnginfo: 'EXTRA_PNGINFO' },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const l = i.samples as Latent;
        const bytes = zeroSafetensors('latent_tensor', [
          l.batch,
          4,
          Math.max(1, Math.floor(l.height / 8)),
          Math.max(1, Math.floor(l.width / 8)),
        ]);
        return {
          result: [],
          ui: { latents: [saveOne(ctx, 'output', str(i.filename_prefix), 'latent', bytes)] },
        };
      },
    },
    // ------------------------------------------------ SIMULATED model nodes
    {
      ...v1,
      name: 'CheckpointLoaderSimple',
      display_name: 'Load Checkpoint',
      description: 'Loads a diffusion model checkpoint. SIMULATED: nothing is loaded.',
      category: 'loaders',
      output: ['MODEL', 'CLIP', 'VAE'],
      output_node: false,
      inputTypes: (env) => ({
        required: {
          ckpt_name: [
            env.models.checkpoints ?? [],
            { tooltip: 'The name of the checkpoint (model) to load.' },
          ],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const n = str(i.ckpt_name);
        return {
          result: [
            { kind: 'MODEL', name: n },
            { kind: 'CLIP', name: n },
            { kind: 'VAE', name: n },
          ],
        };
      },
    },
    {
      ...v1,
      name: 'LoraLoader',
      display_name: 'Load LoRA',
      category: 'loaders',
      output: ['MODEL', 'CLIP'],
      output_node: false,
      inputTypes: (env) => ({
        required: {
          model: ['MODEL'],
          clip: ['CLIP'],
          lora_name: [env.models.loras ?? []],
          strength_model: ['FLOAT', { default: 1.0, min: -100.0, max: 100.0, step: 0.01 }],
          strength_clip: ['FLOAT', { default: 1.0, min: -100.0, max: 100.0, step: 0.01 }],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const m = i.model as { name: string };
        const tag = `${str(i.lora_name)}@${num(i.strength_model)}/${num(i.strength_clip)}`;
        return {
          result: [
            { kind: 'MODEL', name: `${m.name}+${tag}` },
            { kind: 'CLIP', name: `${(i.clip as { name: string }).name}+${tag}` },
          ],
        };
      },
    },
    // Loaders of split models (FLUX, Wan, ...): combos list `env.models` under the CANONICAL folder keys
    // (diffusion_models, text_encoders; ComfyUI maps the legacy "unet"/"clip" asked for by the loaders).
    {
      ...v1,
      name: 'LoraLoaderModelOnly',
      display_name: 'LoraLoaderModelOnly',
      category: 'loaders',
      output: ['MODEL'],
      output_node: false,
      inputTypes: (env) => ({
        required: {
          model: ['MODEL'],
          lora_name: [env.models.loras ?? []],
          strength_model: ['FLOAT', { default: 1.0, min: -100.0, max: 100.0, step: 0.01 }],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        const m = i.model as { name: string };
        return {
          result: [{ kind: 'MODEL', name: `${m.name}+${str(i.lora_name)}@${num(i.strength_model)}` }],
        };
      },
    },
    {
      ...v1,
      name: 'VAELoader',
      display_name: 'Load VAE',
      category: 'loaders',
      output: ['VAE'],
      output_node: false,
      inputTypes: (env) => ({ required: { vae_name: [env.models.vae ?? []] } }),
      async execute(i, ctx) {
        await ctx.work();
        return { result: [{ kind: 'VAE', name: str(i.vae_name) }] };
      },
    },
    {
      ...v1,
      name: 'UNETLoader',
      display_name: 'Load Diffusion Model',
      category: 'advanced/loaders',
      output: ['MODEL'],
      output_node: false,
      inputTypes: (env) => ({
        required: {
          unet_name: [env.models.diffusion_models ?? []],
          weight_dtype: [['default', 'fp8_e4m3fn', 'fp8_e4m3fn_fast', 'fp8_e5m2']],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        return { result: [{ kind: 'MODEL', name: str(i.unet_name) }] };
      },
    },
    {
      ...v1,
      name: 'CLIPLoader',
      display_name: 'Load CLIP',
      category: 'advanced/loaders',
      output: ['CLIP'],
      output_node: false,
      inputTypes: (env) => ({
        required: {
          clip_name: [env.models.text_encoders ?? []],
          type: [['stable_diffusion', 'stable_cascade', 'sd3', 'stable_audio', 'mochi', 'ltxv', 'wan']],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        return { result: [{ kind: 'CLIP', name: str(i.clip_name) }] };
      },
    },
    {
      ...v1,
      name: 'DualCLIPLoader',
      display_name: 'DualCLIPLoader',
      category: 'advanced/loaders',
      output: ['CLIP'],
      output_node: false,
      inputTypes: (env) => ({
        required: {
          clip_name1: [env.models.text_encoders ?? []],
          clip_name2: [env.models.text_encoders ?? []],
          type: [['sdxl', 'sd3', 'flux', 'hunyuan_video']],
        },
      }),
      async execute(i, ctx) {
        await ctx.work();
        return { result: [{ kind: 'CLIP', name: `${str(i.clip_name1)}+${str(i.clip_name2)}` }] };
      },
    },
    {
      ...v1,
      name: 'CLIPTextEncode',
      display_name: 'CLIP Text Encode (Prompt)',
      category: 'conditioning',
      output: ['CONDITIONING'],
      output_node: false,
      inputTypes: () => ({
        required: { text: ['STRING', { multiline: true, dynamicPrompts: true }], clip: ['CLIP'] },
      }),
      async execute(i, ctx) {
        await ctx.work();
        return {
          result: [{ kind: 'CONDITIONING', text: str(i.text), clip: (i.clip as { name: string }).name }],
        };
      },
    },
    {
      ...v1,
      name: 'KSampler',
      display_name: 'KSampler',
      description: 'SIMULATED sampler: reports progress per step; the latent is a hash of its inputs.',
      category: 'sampling',
      output: ['LATENT'],
      output_node: false,
      inputTypes: () => ({
        required: {
          model: ['MODEL'],
          // max is Python's 0xffffffffffffffff, kept exact as a bigint (pyJson prints it verbatim)
          seed: [
            'INT',
            {
              default: 0,
              min: 0,
              max: 18446744073709551615n as unknown as number,
              control_after_generate: true,
            },
          ],
          steps: ['INT', { default: 20, min: 1, max: 10000 }],
          cfg: ['FLOAT', { default: 8.0, min: 0.0, max: 100.0, step: 0.1, round: 0.01 }],
          sampler_name: [SAMPLERS],
          scheduler: [SCHEDULERS],
          positive: ['CONDITIONING'],
          negative: ['CONDITIONING'],
          latent_image: ['LATENT'],
          denoise: ['FLOAT', { default: 1.0, min: 0.0, max: 1.0, step: 0.01 }],
        },
      }),
      async execute(i, ctx) {
        const l = i.latent_image as Latent;
        const seedText = pyJson([
          (i.model as { name: string }).name,
          (i.positive as { text: string }).text,
          (i.negative as { text: string }).text,
          i.seed,
          i.steps,
          i.cfg,
          i.sampler_name,
          i.scheduler,
          i.denoise,
          l.seedText,
        ]);
        const steps = num(i.steps);
        for (let s = 1; s <= steps; s++) {
          await ctx.work(ctx.samplerStepMs);
          await ctx.progress(
            s,
            steps,
            synthFrame(Math.max(1, l.width >> 3), Math.max(1, l.height >> 3), `${seedText}#${s}`),
          );
        }
        return { result: [{ ...l, seedText } satisfies Latent] };
      },
    },
    {
      ...v1,
      name: 'VAEDecode',
      display_name: 'VAE Decode',
      category: 'latent',
      output: ['IMAGE'],
      output_node: false,
      inputTypes: () => ({ required: { samples: ['LATENT'], vae: ['VAE'] } }),
      async execute(i, ctx) {
        await ctx.work();
        const l = i.samples as Latent;
        const frames = Array.from({ length: l.batch }, (_, k) =>
          synthFrame(l.width, l.height, `${l.seedText}/${k}`),
        );
        return { result: [{ kind: 'IMAGE', frames } satisfies ImageBatch] };
      },
    },
    {
      ...v1,
      name: 'VAEEncode',
      display_name: 'VAE Encode',
      category: 'latent',
      output: ['LATENT'],
      output_node: false,
      inputTypes: () => ({ required: { pixels: ['IMAGE'], vae: ['VAE'] } }),
      async execute(i, ctx) {
        await ctx.work();
        const b = images(i.pixels);
        const f = b.frames[0];
        const digest = createHash('sha256').update(f.rgb).digest('hex');
        return {
          result: [
            {
              kind: 'LATENT',
              width: f.width,
              height: f.height,
              batch: b.frames.length,
              seedText: digest,
            } satisfies Latent,
          ],
        };
      },
    },
  ];
  return new Map(defs.map((d) => [d.name, d]));
}

/** `/object_info` node_info (V1 shape, reference §1). */
export function nodeInfo(def: NodeDef, env: CatalogueEnv): Record<string, unknown> {
  const types = def.inputTypes(env);
  const input: Record<string, unknown> = { required: types.required };
  const input_order: Record<string, string[]> = { required: Object.keys(types.required) };
  if (types.optional) {
    input.optional = types.optional;
    input_order.optional = Object.keys(types.optional);
  }
  if (types.hidden) {
    input.hidden = types.hidden;
    input_order.hidden = Object.keys(types.hidden);
  }
  return {
    input,
    input_order,
    output: def.output,
    output_is_list: def.output_is_list ?? def.output.map(() => false),
    output_name: def.output_name ?? def.output,
    name: def.name,
    display_name: def.display_name,
    description: def.description,
    python_module: def.python_module,
    category: def.category,
    output_node: def.output_node,
  };
}
