import type { WorkerCapabilities, WorkflowRequirements } from '../workflows';
import {
  capabilitiesView,
  inWorkerSpelling,
  MAX_MODELS_SHOWN,
  missingOnEveryWorker,
  primaryModel,
} from './local-worker-capabilities';

const caps = (models: Record<string, string[]>, nodeClasses = ['CheckpointLoaderSimple', 'KSampler']) =>
  ({ nodeClasses, models, fileCombos: {}, fetchedAt: 1 }) as WorkerCapabilities;

const needs = (
  models: Array<{ folder: string; name: string }>,
  nodeClasses = ['CheckpointLoaderSimple'],
): WorkflowRequirements => ({ nodeClasses, models, fileInputs: [] });

describe('local worker capabilities helpers', () => {
  it('shows a count of node classes and at most MAX_MODELS_SHOWN names per folder, with the real counts', () => {
    const many = Array.from({ length: MAX_MODELS_SHOWN + 5 }, (_, i) => `m${i}.safetensors`);
    const view = capabilitiesView(caps({ checkpoints: many, vae: ['a.safetensors'] }));
    expect(view.nodeClasses).toBe(2);
    expect(view.models.checkpoints).toHaveLength(MAX_MODELS_SHOWN);
    expect(view.models.vae).toEqual(['a.safetensors']);
    expect(view.modelCounts).toEqual({ checkpoints: MAX_MODELS_SHOWN + 5, vae: 1 });
    expect(view.fetchedAt).toBe(1);
  });

  it('takes the first checkpoint, else the first diffusion model, as the primary model (separators normalized)', () => {
    expect(primaryModel(needs([{ folder: 'loras', name: 'l.safetensors' }]))).toBeUndefined();
    expect(
      primaryModel(
        needs([
          { folder: 'diffusion_models', name: 'flux.safetensors' },
          { folder: 'checkpoints', name: 'sdxl\\base.safetensors' },
        ]),
      ),
    ).toBe('checkpoints/sdxl/base.safetensors');
    expect(primaryModel(needs([{ folder: 'unet', name: 'flux.safetensors' }]))).toBe(
      'diffusion_models/flux.safetensors',
    );
  });

  it('names what the closest worker lacks only when every worker is known and none can run it', () => {
    const job = needs([
      { folder: 'checkpoints', name: 'a.safetensors' },
      { folder: 'loras', name: 'b.safetensors' },
    ]);
    const hasA = caps({ checkpoints: ['a.safetensors'] });
    const hasNothing = caps({});
    const hasBoth = caps({ checkpoints: ['a.safetensors'], loras: ['b.safetensors'] });
    expect(missingOnEveryWorker(job, [hasNothing, hasA])?.models).toEqual([
      { folder: 'loras', name: 'b.safetensors' },
    ]);
    expect(missingOnEveryWorker(job, [hasNothing, hasBoth])).toBeUndefined();
    // Unknown capabilities may run anything.
    expect(missingOnEveryWorker(job, [hasNothing, undefined])).toBeUndefined();
    expect(missingOnEveryWorker(job, [])).toBeUndefined();
    expect(missingOnEveryWorker(needs([], ['NoSuchNode']), [hasA])?.nodes).toEqual(['NoSuchNode']);
  });

  it("rewrites the core loaders' model names to the worker's spelling, copying only what changes", () => {
    const windows = caps({ checkpoints: ['sdxl\\base.safetensors'], loras: ['x.safetensors'] });
    const other = { class_type: 'LoraLoader', inputs: { lora_name: 'x.safetensors', model: ['1', 0] } };
    const workflow = {
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sdxl/base.safetensors' } },
      '2': other,
      '3': { class_type: 'CLIPTextEncode', inputs: { text: 'sdxl/base.safetensors', clip: ['1', 1] } },
    };
    const rewritten = inWorkerSpelling(workflow, windows);
    expect((rewritten['1'] as any).inputs.ckpt_name).toBe('sdxl\\base.safetensors');
    expect(rewritten['2']).toBe(other);
    expect((rewritten['3'] as any).inputs.text).toBe('sdxl/base.safetensors');
    expect(workflow['1'].inputs.ckpt_name).toBe('sdxl/base.safetensors');
    expect(inWorkerSpelling(workflow, caps({ checkpoints: ['sdxl/base.safetensors'] }))).toBe(workflow);
  });
});
