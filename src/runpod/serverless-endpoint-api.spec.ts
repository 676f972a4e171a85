import { RunPodHttp } from './runpod-http';
import { RunPodAuthError, RunPodRequestError, RunPodUnavailableError } from './runpod.errors';
import { ServerlessEndpointApi } from './serverless-endpoint-api';
import {
  RecordingLogger,
  ScriptedServer,
  TEST_API_KEY,
  caught,
  keyLeaks,
  recordingSleep,
} from './testing/scripted-server';

/** A v2 `Endpoint` as the OpenAPI example shows it (reference/runpod-rest-v2.openapi.json, getEndpoint 200). */
function wireEndpoint(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '4m7x2k9q',
    name: 'image-generator',
    type: 'QUEUE',
    image: 'runpod/worker-comfyui:5.8.5-base',
    gpu: { pools: ['ADA_24'], count: 1, allowedCudaVersions: [], minCudaVersion: null },
    workers: { min: 0, max: 5, idleTimeout: 5 },
    scaling: { type: 'QUEUE_DELAY', queueDelay: 4 },
    dataCenterIds: ['US-KS-2'],
    networkVolumes: [],
    timeout: 300000,
    flashboot: 'OFF',
    createdAt: '2026-06-01T12:00:00Z',
    ...overrides,
  };
}

describe('ServerlessEndpointApi', () => {
  let server: ScriptedServer;
  let api: ServerlessEndpointApi;

  beforeAll(async () => {
    server = await ScriptedServer.start();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.reset();
    const http = new RunPodHttp({
      apiKey: TEST_API_KEY,
      sleep: recordingSleep().sleep,
      random: () => 1,
      logger: new RecordingLogger(),
      timeoutMs: 2000,
      maxRetries: 2,
    });
    api = new ServerlessEndpointApi({ baseUrl: `${server.url}/v2/`, http });
  });

  it('GETs /v2/serverless/{id} with the bearer key and maps workers.max/min/idleTimeout', async () => {
    server.reply({ status: 200, body: wireEndpoint({ workers: { min: 1, max: 7, idleTimeout: 30 } }) });
    expect(await api.get('4m7x2k9q')).toEqual({ workersMax: 7, workersMin: 1, idleTimeoutS: 30 });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0].method).toBe('GET');
    expect(server.requests[0].url).toBe('/v2/serverless/4m7x2k9q');
    expect(server.requests[0].headers.authorization).toBe(`Bearer ${TEST_API_KEY}`);
  });

  it('url-encodes the endpoint id', async () => {
    server.reply({ status: 404 });
    await api.get('a/b?c');
    expect(server.requests[0].url).toBe('/v2/serverless/a%2Fb%3Fc');
  });

  it('returns null on 404 without retrying', async () => {
    server.reply({ status: 404, body: { title: 'Not Found', status: 404, detail: 'resource not found' } });
    expect(await api.get('gone')).toBeNull();
    expect(server.requests).toHaveLength(1);
  });

  it('gives null for each missing field (idleTimeout is omitted for REQUEST_COUNT scaling)', async () => {
    server.reply({ status: 200, body: wireEndpoint({ workers: { min: 0, max: 3 } }) });
    expect(await api.get('x')).toEqual({ workersMax: 3, workersMin: 0, idleTimeoutS: null });

    server.reply({ status: 200, body: wireEndpoint({ workers: undefined }) });
    expect(await api.get('x')).toEqual({ workersMax: null, workersMin: null, idleTimeoutS: null });
  });

  it('gives null for garbage values: strings, negatives, null, objects, arrays, booleans', async () => {
    server.reply({ status: 200, body: wireEndpoint({ workers: { min: -1, max: '5', idleTimeout: null } }) });
    expect(await api.get('x')).toEqual({ workersMax: null, workersMin: null, idleTimeoutS: null });

    server.reply({ status: 200, body: wireEndpoint({ workers: { min: {}, max: [3], idleTimeout: true } }) });
    expect(await api.get('x')).toEqual({ workersMax: null, workersMin: null, idleTimeoutS: null });

    server.reply({ status: 200, body: wireEndpoint({ workers: [1, 2] }) });
    expect(await api.get('x')).toEqual({ workersMax: null, workersMin: null, idleTimeoutS: null });
  });

  it('gives all-null limits for a 200 that is not an object', async () => {
    server.reply({ status: 200, body: 'not json' });
    expect(await api.get('x')).toEqual({ workersMax: null, workersMin: null, idleTimeoutS: null });
    server.reply({ status: 200 });
    expect(await api.get('x')).toEqual({ workersMax: null, workersMin: null, idleTimeoutS: null });
  });

  it('maps 401 to RunPodAuthError without the key anywhere in the error', async () => {
    server.reply({ status: 401, body: { title: 'Unauthorized', status: 401, detail: 'missing bearer token' } });
    const err = await caught(api.get('x'));
    expect(err).toBeInstanceOf(RunPodAuthError);
    expect(keyLeaks(err)).toEqual([]);
  });

  it('maps another 4xx to RunPodRequestError, scrubbing a key RunPod echoes back', async () => {
    server.reply({
      status: 400,
      body: { title: 'Bad Request', status: 400, detail: `bad token Bearer ${TEST_API_KEY} for x` },
    });
    const err = await caught(api.get('x'));
    expect(err).toBeInstanceOf(RunPodRequestError);
    expect((err as RunPodRequestError).status).toBe(400);
    expect(keyLeaks(err)).toEqual([]);
  });

  it('retries 5xx (a GET is idempotent), then gives RunPodUnavailableError without the key', async () => {
    server.fallback = () => ({ status: 503, body: { title: 'Service Unavailable', status: 503, detail: TEST_API_KEY } });
    const err = await caught(api.get('x'));
    expect(err).toBeInstanceOf(RunPodUnavailableError);
    expect(server.requests).toHaveLength(3);
    expect(keyLeaks(err)).toEqual([]);
  });

  it('retries a 502 then maps the 200', async () => {
    server.reply({ status: 502 }, { status: 200, body: wireEndpoint() });
    expect(await api.get('4m7x2k9q')).toEqual({ workersMax: 5, workersMin: 0, idleTimeoutS: 5 });
    expect(server.requests).toHaveLength(2);
  });
});
