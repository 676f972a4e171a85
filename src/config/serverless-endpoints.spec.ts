import { ConfigError } from './env-parsers';
import { dearestPricePerSecond, readServerlessEndpoints } from './serverless-endpoints';

describe('readServerlessEndpoints', () => {
  it('is empty without endpoints, and the primary alone keeps its price and takes any job', () => {
    expect(readServerlessEndpoints({})).toEqual([]);
    expect(readServerlessEndpoints({ RUNPOD_SERVERLESS_ENDPOINT_ID: 'abc123' })).toEqual([
      { id: 'abc123', pricePerSecond: 0.00034, label: null, models: null },
    ]);
  });

  it('reads the primary models and more endpoints, the primary first', () => {
    const endpoints = readServerlessEndpoints({
      RUNPOD_SERVERLESS_ENDPOINT_ID: 'cheap',
      RUNPOD_SERVERLESS_PRICE_PER_SECOND: '0.0002',
      RUNPOD_SERVERLESS_MODELS: 'checkpoints/sdxl.safetensors, loras\\sub\\detail.safetensors',
      RUNPOD_SERVERLESS_ENDPOINTS: JSON.stringify([
        { id: 'a100', pricePerSecond: 0.00076, label: ' A100 80GB ', models: ['unet/flux1-dev.safetensors'] },
        { id: 'any', pricePerSecond: 0.0005 },
      ]),
    });
    expect(endpoints).toEqual([
      {
        id: 'cheap',
        pricePerSecond: 0.0002,
        label: null,
        models: [
          { folder: 'checkpoints', name: 'sdxl.safetensors' },
          { folder: 'loras', name: 'sub/detail.safetensors' },
        ],
      },
      {
        id: 'a100',
        pricePerSecond: 0.00076,
        label: 'A100 80GB',
        models: [{ folder: 'unet', name: 'flux1-dev.safetensors' }],
      },
      { id: 'any', pricePerSecond: 0.0005, label: null, models: null },
    ]);
    expect(dearestPricePerSecond(endpoints)).toBe(0.00076);
    expect(dearestPricePerSecond([])).toBe(0);
  });

  it('makes the first listed endpoint the primary when RUNPOD_SERVERLESS_ENDPOINT_ID is not set', () => {
    const endpoints = readServerlessEndpoints({
      RUNPOD_SERVERLESS_ENDPOINTS: '[{"id":"x1","pricePerSecond":0.001},{"id":"x2","pricePerSecond":0.0001}]',
    });
    expect(endpoints.map((e) => e.id)).toEqual(['x1', 'x2']);
  });

  it.each([
    [{ RUNPOD_SERVERLESS_ENDPOINTS: 'not json' }, 'RUNPOD_SERVERLESS_ENDPOINTS must be a JSON array'],
    [{ RUNPOD_SERVERLESS_ENDPOINTS: '{"id":"x"}' }, 'must be a JSON array'],
    [{ RUNPOD_SERVERLESS_ENDPOINTS: '[{"id":"x"}]' }, 'RUNPOD_SERVERLESS_ENDPOINTS[0].pricePerSecond'],
    [{ RUNPOD_SERVERLESS_ENDPOINTS: '[{"id":"x","pricePerSecond":-1}]' }, 'pricePerSecond'],
    [{ RUNPOD_SERVERLESS_ENDPOINTS: '[{"id":"../x","pricePerSecond":1}]' }, 'must be a RunPod endpoint id'],
    [{ RUNPOD_SERVERLESS_ENDPOINTS: '[{"id":"x","pricePerSecond":1,"gpu":"A"}]' }, 'unknown key(s): gpu'],
    [
      { RUNPOD_SERVERLESS_ENDPOINTS: '[{"id":"x","pricePerSecond":1,"models":[3]}]' },
      '"folder/name" strings',
    ],
    [
      { RUNPOD_SERVERLESS_ENDPOINTS: '[{"id":"x","pricePerSecond":1,"models":["sdxl"]}]' },
      'as "folder/name"',
    ],
    [
      { RUNPOD_SERVERLESS_ENDPOINT_ID: 'x', RUNPOD_SERVERLESS_ENDPOINTS: '[{"id":"x","pricePerSecond":1}]' },
      'names endpoint "x" twice',
    ],
    [{ RUNPOD_SERVERLESS_MODELS: 'checkpoints/a.safetensors' }, 'needs RUNPOD_SERVERLESS_ENDPOINT_ID'],
    [
      {
        RUNPOD_SERVERLESS_ENDPOINTS: JSON.stringify(
          Array.from({ length: 17 }, (_, i) => ({ id: `e${i}`, pricePerSecond: 1 })),
        ),
      },
      'at most 16 endpoints',
    ],
  ])('refuses %j, naming the variable', (env, message) => {
    expect(() => readServerlessEndpoints(env)).toThrow(ConfigError);
    expect(() => readServerlessEndpoints(env)).toThrow(message);
  });
});
