import type { WorkerCapabilities, WorkflowRequirements } from '../workflows';
import { localWorkerOrder, type LocalWorkerOrderInput } from './local-worker-order';

const caps = (...checkpoints: string[]): WorkerCapabilities => ({
  nodeClasses: ['CheckpointLoaderSimple', 'KSampler'],
  models: { checkpoints },
  fetchedAt: 0,
});
const needs = (checkpoint: string): WorkflowRequirements => ({
  nodeClasses: ['CheckpointLoaderSimple', 'KSampler'],
  models: [{ folder: 'checkpoints', name: checkpoint }],
  fileInputs: [],
});

function order(
  overrides: Partial<LocalWorkerOrderInput> & {
    capabilities: Record<string, WorkerCapabilities | undefined>;
    last?: Record<string, string>;
  },
): string[] {
  const { capabilities, last = {}, ...rest } = overrides;
  return localWorkerOrder({
    requirements: needs('flux.safetensors'),
    idle: Object.keys(capabilities),
    allWorkers: Object.keys(capabilities),
    capabilitiesOf: (id) => capabilities[id],
    lastModelOf: (id) => last[id],
    requestedBackend: 'auto',
    cloudPossible: true,
    ...rest,
  });
}

describe('localWorkerOrder', () => {
  it('keeps only the idle workers that have the checkpoint, in the given order', () => {
    expect(
      order({
        capabilities: {
          a: caps('sdxl.safetensors'),
          b: caps('flux.safetensors'),
          c: caps('flux.safetensors'),
        },
      }),
    ).toEqual(['b', 'c']);
  });

  it('puts first the workers whose last job used the checkpoint', () => {
    expect(
      order({
        capabilities: {
          a: caps('flux.safetensors'),
          b: caps('flux.safetensors'),
          c: caps('flux.safetensors'),
        },
        last: { a: 'checkpoints/sdxl.safetensors', c: 'checkpoints/flux.safetensors' },
      }),
    ).toEqual(['c', 'a', 'b']);
  });

  it('lets a worker whose capabilities are unknown take anything', () => {
    expect(order({ capabilities: { a: caps('sdxl.safetensors'), b: undefined } })).toEqual(['b']);
  });

  it('returns the idle workers unchanged when no capabilities are known or the workflow cannot be read', () => {
    expect(order({ capabilities: { a: undefined, b: undefined } })).toEqual(['a', 'b']);
    expect(order({ capabilities: { a: caps('sdxl.safetensors') }, requirements: null })).toEqual(['a']);
  });

  it('sends nothing local when the cloud may run it and no idle worker can', () => {
    expect(order({ capabilities: { a: caps('sdxl.safetensors') } })).toEqual([]);
  });

  it('keeps every idle worker when nothing at all could run it (ComfyUI then says why)', () => {
    expect(order({ capabilities: { a: caps('sdxl.safetensors') }, cloudPossible: false })).toEqual(['a']);
    expect(order({ capabilities: { a: caps('sdxl.safetensors') }, requestedBackend: 'local' })).toEqual([
      'a',
    ]);
  });

  it('waits for a busy capable worker rather than keep the incapable idle ones', () => {
    expect(
      order({
        capabilities: { a: caps('sdxl.safetensors'), b: caps('flux.safetensors') },
        idle: ['a'],
        cloudPossible: false,
      }),
    ).toEqual([]);
  });
});
