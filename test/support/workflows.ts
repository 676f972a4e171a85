import { samplerWorkflow } from '../../src/comfyui/testing/comfyui-test-kit';

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

/** A job that takes `steps` sampler steps (progress events), with the fake's simulated model nodes. */
export function slowWorkflow(steps: number, seed = 1): Record<string, unknown> {
  return samplerWorkflow(steps, seed);
}

/** `slowWorkflow` with frames (`length`): the service classes it as a video (`workload_kind`). */
export function videoSamplerWorkflow(steps: number, seed = 1): Record<string, unknown> {
  const workflow = samplerWorkflow(steps, seed);
  const latent = workflow['5'];
  return { ...workflow, '5': { ...latent, inputs: { ...latent.inputs, length: 16 } } };
}

/**
 * A workflow every worker accepts for routing (core nodes, no models) that ComfyUI's own validation refuses:
 * LoadImage of a file the worker does not have ("Value not in list"). For tests of a job that fails on its worker.
 */
export const MISSING_INPUT_WORKFLOW = {
  '1': { class_type: 'LoadImage', inputs: { image: 'no-such-input.png' } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
};

export const UNKNOWN_NODE_WORKFLOW = {
  '1': { class_type: 'NoSuchNodeAnywhere', inputs: {} },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
};
