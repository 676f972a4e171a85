import type { CreatePodSpec } from './pods-api';
import { RestV2PodsApi } from './rest-v2-pods-api';
import { RunPodHttp } from './runpod-http';
import {
  GpuCapacityError,
  RunPodAuthError,
  RunPodInsufficientBalanceError,
  RunPodRequestError,
  RunPodUnavailableError,
} from './runpod.errors';
import {
  RecordingLogger,
  ScriptedServer,
  TEST_API_KEY,
  caught,
  keyLeaks,
  recordingSleep,
} from './testing/scripted-server';

/** A v2 `Pod` as the OpenAPI example shows it (reference/runpod-rest-v2.openapi.json, getPod 200). */
function wirePod(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '7h9k2m4n6p',
    name: 'comfyui-worker-abc',
    image: 'runpod/comfyui:latest',
    args: '',
    disk: 50,
    ports: ['8188/http'],
    env: {},
    registry: null,
    status: 'RUNNING',
    actions: ['stop', 'restart', 'terminate'],
    mounts: {},
    gpu: { id: 'NVIDIA GeForce RTX 4090', count: 1 },
    cloud: 'SECURE',
    dataCenterId: 'US-KS-2',
    cudaVersion: '12.8',
    ssh: { proxy: null, direct: null },
    template: null,
    cost: 0.44,
    locked: false,
    globalNetworking: { enabled: false },
    runtime: { uptime: 3600, ports: [{ private: 8188, public: 8188, type: 'http', ip: '100.65.0.101' }] },
    createdAt: '2026-06-01T12:00:00Z',
    startedAt: '2026-06-01T12:02:00Z',
    ...overrides,
  };
}

const CAPACITY_DETAIL =
  'There are no longer any instances available with the requested specifications. Please refresh and try again.';

const spec: CreatePodSpec = {
  name: 'comfyui-worker-abc',
  imageName: 'runpod/comfyui:latest',
  gpuTypeId: 'NVIDIA GeForce RTX 3090',
  cloudType: 'COMMUNITY',
  ports: ['8188/http'],
  containerDiskInGb: 40,
  env: { COMFY_FLAG: '1' },
};

describe('RestV2PodsApi', () => {
  let server: ScriptedServer;
  let recorder: ReturnType<typeof recordingSleep>;
  let api: RestV2PodsApi;

  beforeAll(async () => {
    server = await ScriptedServer.start();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.reset();
    recorder = recordingSleep();
    const http = new RunPodHttp({
      apiKey: TEST_API_KEY,
      sleep: recorder.sleep,
      random: () => 1,
      logger: new RecordingLogger(),
      timeoutMs: 2000,
    });
    api = new RestV2PodsApi({ baseUrl: `${server.url}/v2/`, http });
  });

  describe('create', () => {
    it('POSTs a CreatePodRequest with only schema fields and maps the 201 pod', async () => {
      server.reply({
        status: 201,
        body: wirePod({
          status: 'PROVISIONING',
          runtime: {},
          startedAt: null,
          gpu: { id: spec.gpuTypeId, count: 1 },
        }),
      });
      const pod = await api.create(spec);

      const req = server.requests[0];
      expect(req.method).toBe('POST');
      expect(req.url).toBe('/v2/pods');
      expect(req.headers.authorization).toBe(`Bearer ${TEST_API_KEY}`);
      expect(req.headers['content-type']).toContain('application/json');
      expect(req.body).toEqual({
        name: 'comfyui-worker-abc',
        image: 'runpod/comfyui:latest',
        gpu: { id: 'NVIDIA GeForce RTX 3090', count: 1 },
        cloud: 'COMMUNITY',
        ports: ['8188/http'],
        env: { COMFY_FLAG: '1' },
        disk: 40,
      });
      expect(pod).toEqual({
        id: '7h9k2m4n6p',
        name: 'comfyui-worker-abc',
        status: 'PROVISIONING',
        costPerHour: 0.44,
        gpuTypeId: 'NVIDIA GeForce RTX 3090',
        createdAt: new Date('2026-06-01T12:00:00Z'),
        // The spec's create example has `runtime: {}`: not a runtime yet.
        hasRuntime: false,
      });
    });

    it('sends the network volume as mounts.network, the data centers and the template (exact V2OAS names)', async () => {
      server.reply({ status: 201, body: wirePod({ status: 'PROVISIONING', runtime: null }) });
      await api.create({
        ...spec,
        env: { HF_TOKEN: 'hf_secret', COMFY_ARGS: '--lowvram' },
        networkVolume: { id: 'agv6w2qcg7', mountPath: '/workspace' },
        dataCenterIds: ['EU-RO-1', 'US-TX-3'],
        templateId: '30zmvf89kd',
      });
      expect(server.requests[0].body).toEqual({
        name: 'comfyui-worker-abc',
        image: 'runpod/comfyui:latest',
        gpu: { id: 'NVIDIA GeForce RTX 3090', count: 1 },
        cloud: 'COMMUNITY',
        ports: ['8188/http'],
        env: { HF_TOKEN: 'hf_secret', COMFY_ARGS: '--lowvram' },
        disk: 40,
        mounts: { network: [{ volumeId: 'agv6w2qcg7', path: '/workspace' }] },
        dataCenterIds: ['EU-RO-1', 'US-TX-3'],
        templateId: '30zmvf89kd',
      });
    });

    it('leaves out empty placement settings (no networkVolumeId: that is REST v1)', async () => {
      server.reply({ status: 201, body: wirePod({ status: 'PROVISIONING', runtime: null }) });
      await api.create({ ...spec, dataCenterIds: [], templateId: undefined, networkVolume: undefined });
      const body = server.requests[0].body as Record<string, unknown>;
      for (const key of ['mounts', 'dataCenterIds', 'templateId', 'networkVolumeId', 'containerDiskInGb']) {
        expect(body).not.toHaveProperty(key);
      }
    });

    it('maps a 400 capacity detail to GpuCapacityError, without retrying', async () => {
      server.reply({ status: 400, body: { detail: CAPACITY_DETAIL, status: 400, title: 'Bad Request' } });
      const err = await caught(api.create(spec));
      expect(err).toBeInstanceOf(GpuCapacityError);
      expect((err as GpuCapacityError).gpuTypeId).toBe('NVIDIA GeForce RTX 3090');
      expect((err as GpuCapacityError).status).toBe(400);
      expect((err as Error).message).toContain('There are no longer any instances available');
      expect(server.requests).toHaveLength(1);
      expect(keyLeaks(err)).toEqual([]);
    });

    it('maps "No compatible CUDA host" to GpuCapacityError', async () => {
      server.reply({
        status: 400,
        body: {
          detail: 'No compatible CUDA host is currently available.\n',
          status: 400,
          title: 'Bad Request',
        },
      });
      await expect(api.create(spec)).rejects.toBeInstanceOf(GpuCapacityError);
    });

    it('maps another 400 to RunPodRequestError carrying the detail', async () => {
      server.reply({
        status: 400,
        body: { detail: 'gpu and cpu are mutually exclusive', status: 400, title: 'Bad Request' },
      });
      const err = await caught(api.create(spec));
      expect(err).toBeInstanceOf(RunPodRequestError);
      expect(err).not.toBeInstanceOf(GpuCapacityError);
      expect((err as RunPodRequestError).detail).toBe('gpu and cpu are mutually exclusive');
      expect(server.requests).toHaveLength(1);
    });

    it('maps 422 to RunPodRequestError with the validation errors', async () => {
      server.reply({
        status: 422,
        body: {
          detail: 'Request validation failed.',
          errors: ["$: additional properties 'bogus' not allowed"],
          status: 422,
          title: 'Unprocessable Entity',
        },
      });
      const err = (await caught(api.create(spec))) as RunPodRequestError;
      expect(err).toBeInstanceOf(RunPodRequestError);
      expect(err.status).toBe(422);
      expect(err.errors).toEqual(["$: additional properties 'bogus' not allowed"]);
      expect(server.requests).toHaveLength(1);
    });

    it('maps 402 to RunPodInsufficientBalanceError', async () => {
      server.reply({
        status: 402,
        body: { title: 'Payment Required', status: 402, detail: 'insufficient balance' },
      });
      await expect(api.create(spec)).rejects.toBeInstanceOf(RunPodInsufficientBalanceError);
    });

    it('maps 401 to RunPodAuthError', async () => {
      server.reply({
        status: 401,
        body: { title: 'Unauthorized', status: 401, detail: 'missing bearer token' },
      });
      const err = await caught(api.create(spec));
      expect(err).toBeInstanceOf(RunPodAuthError);
      expect(keyLeaks(err)).toEqual([]);
    });

    it('does not repeat a create after a 500 (a second pod could be started)', async () => {
      server.fallback = () => ({
        status: 500,
        body: { title: 'Internal Server Error', status: 500, detail: 'x' },
      });
      await expect(api.create(spec)).rejects.toBeInstanceOf(RunPodUnavailableError);
      expect(server.requests).toHaveLength(1);
    });

    it('retries a create on 503 and 429, which RunPod did not act on', async () => {
      server.reply(
        { status: 503 },
        { status: 429, headers: { 'retry-after': '1' } },
        { status: 201, body: wirePod() },
      );
      const pod = await api.create(spec);
      expect(pod.id).toBe('7h9k2m4n6p');
      expect(server.requests).toHaveLength(3);
      expect(recorder.delays).toEqual([500, 1000]);
    });
  });

  describe('get', () => {
    it('maps a running pod', async () => {
      server.reply({ status: 200, body: wirePod() });
      const pod = await api.get('7h9k2m4n6p');
      expect(server.requests[0].url).toBe('/v2/pods/7h9k2m4n6p');
      expect(pod).toEqual({
        id: '7h9k2m4n6p',
        name: 'comfyui-worker-abc',
        status: 'RUNNING',
        costPerHour: 0.44,
        gpuTypeId: 'NVIDIA GeForce RTX 4090',
        createdAt: new Date('2026-06-01T12:00:00Z'),
        hasRuntime: true,
      });
    });

    it('reports RUNNING with a null runtime as not having a runtime', async () => {
      server.reply({ status: 200, body: wirePod({ runtime: null }) });
      expect(await api.get('7h9k2m4n6p')).toEqual(
        expect.objectContaining({ status: 'RUNNING', hasRuntime: false }),
      );
    });

    it('returns null on 404 without retrying', async () => {
      server.reply({ status: 404, body: { title: 'Not Found', status: 404, detail: 'resource not found' } });
      expect(await api.get('gone')).toBeNull();
      expect(server.requests).toHaveLength(1);
    });

    it('url-encodes the pod id', async () => {
      server.reply({ status: 404 });
      await api.get('a/b?c');
      expect(server.requests[0].url).toBe('/v2/pods/a%2Fb%3Fc');
    });
  });

  describe('listByNamePrefix', () => {
    it('lists pods and keeps those whose name starts with the prefix', async () => {
      server.reply({
        status: 200,
        body: {
          pods: [
            wirePod({ id: 'a', name: 'comfyui-worker-1' }),
            wirePod({ id: 'b', name: 'someone-elses-pod' }),
            wirePod({ id: 'c', name: 'comfyui-worker-2', status: 'EXITED', cost: 0, runtime: null }),
            wirePod({ id: 'd', name: 'xcomfyui-worker-3' }),
          ],
        },
      });
      const pods = await api.listByNamePrefix('comfyui-worker');
      expect(server.requests[0].method).toBe('GET');
      expect(server.requests[0].url).toBe('/v2/pods');
      expect(pods.map((p) => [p.id, p.status, p.costPerHour])).toEqual([
        ['a', 'RUNNING', 0.44],
        ['c', 'EXITED', 0],
      ]);
    });
  });

  describe('terminate', () => {
    it('DELETEs the pod (204)', async () => {
      server.reply({ status: 204 });
      await api.terminate('7h9k2m4n6p');
      expect(server.requests[0]).toEqual(
        expect.objectContaining({ method: 'DELETE', url: '/v2/pods/7h9k2m4n6p' }),
      );
    });

    it('treats 404 as already terminated', async () => {
      server.reply({ status: 404, body: { title: 'Not Found', status: 404, detail: 'pod not found' } });
      await expect(api.terminate('gone')).resolves.toBeUndefined();
      expect(server.requests).toHaveLength(1);
    });

    it('retries a 502 (terminating twice is harmless)', async () => {
      server.reply({ status: 502 }, { status: 204 });
      await api.terminate('7h9k2m4n6p');
      expect(server.requests).toHaveLength(2);
    });

    it('reports 409 as RunPodRequestError', async () => {
      server.reply({
        status: 409,
        body: { title: 'Conflict', status: 409, detail: 'pod belongs to a cluster' },
      });
      await expect(api.terminate('c1')).rejects.toBeInstanceOf(RunPodRequestError);
    });
  });

  describe('listGpuTypes', () => {
    it('maps the catalog, taking the cheaper cloud that offers the type', async () => {
      server.reply({
        status: 200,
        body: {
          gpus: [
            {
              id: 'NVIDIA GeForce RTX 4090',
              name: 'RTX 4090',
              pool: 'ADA_24',
              manufacturer: 'NVIDIA',
              memory: 24,
              secure: true,
              community: true,
              price: { secure: 0.44, community: 0.31, serverless: 1.1 },
              maxCount: { secure: 8, community: 4 },
            },
            {
              id: 'NVIDIA H100 80GB HBM3',
              name: 'H100 SXM',
              pool: 'ADA_80_PRO',
              manufacturer: 'NVIDIA',
              memory: 80,
              secure: true,
              community: false,
              price: { secure: 2.99, community: 0 },
              maxCount: { secure: 8, community: 0 },
            },
            {
              id: 'AMD Instinct MI300X OAM',
              name: 'MI300X',
              pool: null,
              manufacturer: 'AMD',
              memory: 192,
              secure: false,
              community: false,
              price: { secure: 0, community: 0 },
              maxCount: { secure: 0, community: 0 },
            },
          ],
        },
      });
      const gpus = await api.listGpuTypes();
      expect(server.requests[0].url).toBe('/v2/catalog/gpus');
      expect(gpus).toEqual([
        {
          id: 'NVIDIA GeForce RTX 4090',
          displayName: 'RTX 4090',
          memoryInGb: 24,
          pricePerHour: 0.31,
          pricePerHourByCloud: { SECURE: 0.44, COMMUNITY: 0.31 },
        },
        {
          id: 'NVIDIA H100 80GB HBM3',
          displayName: 'H100 SXM',
          memoryInGb: 80,
          pricePerHour: 2.99,
          pricePerHourByCloud: { SECURE: 2.99, COMMUNITY: null },
        },
        {
          id: 'AMD Instinct MI300X OAM',
          displayName: 'MI300X',
          memoryInGb: 192,
          pricePerHour: null,
          pricePerHourByCloud: { SECURE: null, COMMUNITY: null },
        },
      ]);
    });
  });

  describe('getNetworkVolume', () => {
    it('GETs /network-volumes/{id} and reads its data center', async () => {
      server.reply({
        status: 200,
        body: { id: 'agv6w2qcg7', name: 'models', size: 100, dataCenter: 'EU-RO-1', type: 'STANDARD' },
      });
      await expect(api.getNetworkVolume('agv6w2qcg7')).resolves.toEqual({
        id: 'agv6w2qcg7',
        name: 'models',
        dataCenterId: 'EU-RO-1',
      });
      expect(server.requests[0]).toMatchObject({ method: 'GET', url: '/v2/network-volumes/agv6w2qcg7' });
    });

    it('answers null for 404 and RunPodRequestError for a body without an id', async () => {
      server.reply({ status: 404, body: { title: 'Not Found', status: 404, detail: 'resource not found' } });
      await expect(api.getNetworkVolume('nope')).resolves.toBeNull();
      server.reply({ status: 200, body: {} });
      expect(await caught(api.getNetworkVolume('x'))).toBeInstanceOf(RunPodRequestError);
    });
  });
});
