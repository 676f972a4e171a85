import { loadConfig } from './app-config';
import { ConfigError } from './env-parsers';

describe('loadConfig', () => {
  it('applies the seed defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config.port).toBe(8000);
    expect(config.host).toBe('127.0.0.1');
    expect(config.runpod.apiKey).toBeUndefined();
    expect(config.runpod.podApi).toBe('rest');
    expect(config.runpod.restUrl).toBe('https://api.runpod.io/v2');
    expect(config.runpod.graphqlUrl).toBe('https://api.runpod.io/graphql');
    expect(config.runpod.serverlessUrl).toBe('https://api.runpod.ai/v2');
    expect(config.runpod.podUrlTemplate).toBe('https://{podId}-8188.proxy.runpod.net');
    expect(config.runpod.serverlessPricePerSecond).toBe(0.00034);
    expect(config.cloud.defaults).toEqual({
      maxPods: 5,
      idleTimeoutMs: 300000,
      autoScaleThreshold: 5,
      preferServerless: true,
      routingPreference: 'balanced',
      gpuTypeId: 'NVIDIA GeForce RTX 3090',
      dailyBudgetUsd: 10,
    });
    expect(config.cloud.podNamePrefix).toBe('comfyui-worker');
    expect(config.cloud.bootTimeoutMs).toBe(600000);
    expect(config.cloud.tickIntervalMs).toBe(5000);
    expect(config.cloud.terminateOnShutdown).toBe(true);
    expect(config.cloud.sweepIntervalMs).toBe(60000);
    expect(config.cloud.orphanPolicy).toBe('terminate');
    expect(config.cloud.maxPodLifetimeMs).toBeUndefined();
    expect(config.dataDir).toBe('./data');
  });

  it('reads the sweeper and pod lifetime settings, and rejects an unknown orphan policy', () => {
    const config = loadConfig({
      CLOUD_SWEEP_INTERVAL: '30000',
      CLOUD_ORPHAN_POLICY: 'adopt',
      CLOUD_MAX_POD_LIFETIME: '7200000',
    });
    expect(config.cloud).toMatchObject({
      sweepIntervalMs: 30000,
      orphanPolicy: 'adopt',
      maxPodLifetimeMs: 7200000,
    });
    expect(() => loadConfig({ CLOUD_ORPHAN_POLICY: 'ignore' })).toThrow(
      'Invalid configuration: CLOUD_ORPHAN_POLICY must be one of terminate, adopt, got "ignore"',
    );
  });

  it("accepts the seed's GPU display name as an alias of the exact RunPod id", () => {
    expect(loadConfig({ RUNPOD_GPU_TYPE: 'NVIDIA RTX 3090' }).cloud.defaults.gpuTypeId).toBe(
      'NVIDIA GeForce RTX 3090',
    );
    expect(loadConfig({ CLOUD_GPU_FALLBACKS: 'RTX 4090, NVIDIA RTX A5000' }).cloud.gpuFallbacks).toEqual([
      'NVIDIA GeForce RTX 4090',
      'NVIDIA RTX A5000',
    ]);
  });

  it.each([
    ['CLOUD_MAX_PODS', 'five', /CLOUD_MAX_PODS must be a whole number/],
    ['CLOUD_IDLE_TIMEOUT', '10', /CLOUD_IDLE_TIMEOUT must be between 1000/],
    ['CLOUD_AUTOSCALE_THRESHOLD', '0', /CLOUD_AUTOSCALE_THRESHOLD must be between 1/],
    ['CLOUD_PREFER_SERVERLESS', 'maybe', /CLOUD_PREFER_SERVERLESS must be true or false/],
    ['RUNPOD_POD_API', 'soap', /RUNPOD_POD_API must be one of rest, graphql/],
    ['RUNPOD_CLOUD_TYPE', 'ALL', /RUNPOD_CLOUD_TYPE must be one of SECURE, COMMUNITY/],
    ['RUNPOD_REST_URL', 'not a url', /RUNPOD_REST_URL must be an absolute URL/],
    ['RUNPOD_POD_URL_TEMPLATE', 'https://example.com', /RUNPOD_POD_URL_TEMPLATE must contain \{podId\}/],
    ['RUNPOD_GPU_TYPE', 'RTX 3091', /RUNPOD_GPU_TYPE .*Did you mean.*NVIDIA GeForce RTX 3090/],
    ['CLOUD_GPU_FALLBACKS', 'RTX 4090,GTX 1080', /CLOUD_GPU_FALLBACKS/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL must be a postgres/],
    ['PORT', '70000', /PORT must be between 0 and 65535/],
  ])('stops boot naming %s when it is "%s"', (variable, value, message) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(message);
  });

  it('listens on all interfaces only when API_KEY protects the API', () => {
    expect(loadConfig({ API_KEY: 'secret' }).host).toBe('0.0.0.0');
    expect(() => loadConfig({ HOST: '0.0.0.0' })).toThrow(/HOST .*without API_KEY/);
  });
});
