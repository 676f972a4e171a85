import type { ServerlessEndpointConfig } from '../config/serverless-endpoints';
import { workflowRequirements } from '../workflows';
import {
  anyEndpointDeclaresModels,
  endpointsFor,
  missingOnEveryEndpoint,
  untriedEndpointsFirst,
} from './serverless-endpoint-choice';

const endpoint = (id: string, pricePerSecond: number, models: string[] | null): ServerlessEndpointConfig => ({
  id,
  pricePerSecond,
  label: null,
  models:
    models?.map((m) => ({ folder: m.slice(0, m.indexOf('/')), name: m.slice(m.indexOf('/') + 1) })) ?? null,
});

const needs = (ckpt: string, unet?: string) =>
  workflowRequirements({
    '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: ckpt } },
    ...(unet
      ? { '2': { class_type: 'UNETLoader', inputs: { unet_name: unet, weight_dtype: 'default' } } }
      : {}),
  });

describe('serverless endpoint choice', () => {
  const sdxlOnly = endpoint('sdxl-only', 0.0002, ['checkpoints/sdxl.safetensors']);
  const both = endpoint('both', 0.0008, ['checkpoints/sdxl.safetensors', 'unet/sub\\flux.safetensors']);
  const undeclared = endpoint('any', 0.0005, null);

  it('offers the endpoints that declare every model, cheapest first; an undeclared one takes anything', () => {
    expect(endpointsFor([both, sdxlOnly, undeclared], needs('sdxl.safetensors')).map((e) => e.id)).toEqual([
      'sdxl-only',
      'any',
      'both',
    ]);
    // `unet` and `diffusion_models` are one folder; `\` and `/` one separator.
    expect(
      endpointsFor([both, sdxlOnly], needs('sdxl.safetensors', 'sub/flux.safetensors')).map((e) => e.id),
    ).toEqual(['both']);
  });

  it('keeps the configured order between equal prices, and offers every endpoint for an unreadable workflow', () => {
    const twin = endpoint('twin', 0.0002, ['checkpoints/other.safetensors']);
    expect(endpointsFor([sdxlOnly, twin], null).map((e) => e.id)).toEqual(['sdxl-only', 'twin']);
    expect(endpointsFor([twin, sdxlOnly], null).map((e) => e.id)).toEqual(['twin', 'sdxl-only']);
  });

  it('says what the closest endpoint lacks when none can run the job', () => {
    const missing = missingOnEveryEndpoint(
      [sdxlOnly, both],
      needs('sd15.safetensors', 'sub/flux.safetensors'),
    );
    expect(missing?.models).toEqual([{ folder: 'checkpoints', name: 'sd15.safetensors' }]);
    expect(missingOnEveryEndpoint([sdxlOnly, undeclared], needs('sd15.safetensors'))).toBeUndefined();
    expect(missingOnEveryEndpoint([], needs('sd15.safetensors'))).toBeUndefined();
  });

  it('offers an endpoint the job failed on only after the others, in their order', () => {
    const ids = (failed: string[]) =>
      untriedEndpointsFirst([sdxlOnly, undeclared, both], failed).map((e) => e.id);
    expect(ids([])).toEqual(['sdxl-only', 'any', 'both']);
    expect(ids(['sdxl-only', 'local-1'])).toEqual(['any', 'both', 'sdxl-only']);
    expect(ids(['both', 'sdxl-only', 'any'])).toEqual(['sdxl-only', 'any', 'both']);
  });

  it('knows whether routing needs a job requirements at all', () => {
    expect(anyEndpointDeclaresModels([undeclared])).toBe(false);
    expect(anyEndpointDeclaresModels([undeclared, sdxlOnly])).toBe(true);
  });
});

describe('serverless endpoint choice: the same name matching as for workers', () => {
  it('matches a prompt embedding declared with its extension, as missingFor does for a worker', () => {
    const endpoint: ServerlessEndpointConfig = {
      id: 'with-embedding',
      pricePerSecond: 0.0002,
      label: null,
      models: [
        { folder: 'checkpoints', name: 'sdxl.safetensors' },
        { folder: 'embeddings', name: 'easynegative.safetensors' },
      ],
    };
    const requirements = workflowRequirements({
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sdxl.safetensors' } },
      '2': {
        class_type: 'CLIPTextEncode',
        inputs: { text: 'a cat, embedding:easynegative', clip: ['1', 1] },
      },
    });
    expect(requirements.models).toContainEqual(expect.objectContaining({ folder: 'embeddings' }));
    expect(endpointsFor([endpoint], requirements).map((e) => e.id)).toEqual(['with-embedding']);
  });
});
