import { GraphqlPodsApi } from './graphql-pods-api';
import type { CreatePodSpec } from './pods-api';
import { RunPodHttp } from './runpod-http';
import { GpuCapacityError, RunPodAuthError, RunPodRequestError } from './runpod.errors';
import {
  RecordingLogger,
  ScriptedServer,
  TEST_API_KEY,
  caught,
  keyLeaks,
  recordingSleep,
  type RecordedRequest,
} from './testing/scripted-server';

const spec: CreatePodSpec = {
  name: 'comfyui-worker-"quoted"\\name',
  imageName: 'runpod/comfyui:latest',
  gpuTypeId: 'NVIDIA GeForce RTX 3090',
  cloudType: 'SECURE',
  ports: ['8188/http'],
  containerDiskInGb: 40,
  env: { COMFY_FLAG: '1', OTHER: 'x=y' },
};

/** A GraphQL `Pod` with the fields our queries select (reference/runpod.md §1.5). */
function gqlPod(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: '50qynxzilsxoey',
    name: 'comfyui-worker-1',
    desiredStatus: 'RUNNING',
    costPerHr: 0.72,
    imageName: 'runpod/comfyui:latest',
    machine: { gpuDisplayName: 'RTX PRO 4500' },
    runtime: { uptimeInSeconds: 3931 },
    ...overrides,
  };
}

const NO_INSTANCES =
  'There are no longer any instances available with the requested specifications. Please refresh and try again.';

const gql = (req: RecordedRequest) => req.body as { query: string; variables: Record<string, unknown> };

describe('GraphqlPodsApi', () => {
  let server: ScriptedServer;
  let api: GraphqlPodsApi;

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
    });
    api = new GraphqlPodsApi({ url: `${server.url}/graphql`, http });
  });

  describe('create', () => {
    it('sends podFindAndDeployOnDemand with every user value in variables and the key in the header', async () => {
      server.reply({ status: 200, body: { data: { podFindAndDeployOnDemand: gqlPod({ runtime: null }) } } });
      const pod = await api.create(spec);

      const req = server.requests[0];
      expect(req.method).toBe('POST');
      expect(req.url).toBe('/graphql');
      expect(req.headers.authorization).toBe(`Bearer ${TEST_API_KEY}`);
      const { query, variables } = gql(req);
      expect(query).toContain('mutation CreateOnDemandPod($input: PodFindAndDeployOnDemandInput!)');
      expect(query).toContain('podFindAndDeployOnDemand(input: $input)');
      for (const value of [spec.name, spec.gpuTypeId, spec.imageName, 'COMFY_FLAG', '8188/http']) {
        expect(query).not.toContain(value);
      }
      expect(variables).toEqual({
        input: {
          cloudType: 'SECURE',
          gpuCount: 1,
          gpuTypeId: 'NVIDIA GeForce RTX 3090',
          name: spec.name,
          imageName: 'runpod/comfyui:latest',
          dockerArgs: '',
          ports: '8188/http',
          containerDiskInGb: 40,
          volumeInGb: 0,
          env: [
            { key: 'COMFY_FLAG', value: '1' },
            { key: 'OTHER', value: 'x=y' },
          ],
        },
      });
      expect(pod).toEqual({
        id: '50qynxzilsxoey',
        name: 'comfyui-worker-1',
        status: 'STARTING',
        costPerHour: 0.72,
        gpuTypeId: 'NVIDIA GeForce RTX 3090',
        createdAt: null,
        hasRuntime: false,
      });
    });

    it('passes the network volume, its mount path, the data center and the template (§1.2 input names)', async () => {
      server.reply({ status: 200, body: { data: { podFindAndDeployOnDemand: gqlPod({ runtime: null }) } } });
      await api.create({
        ...spec,
        env: { HF_TOKEN: 'hf_secret' },
        networkVolume: { id: 'agv6w2qcg7', mountPath: '/workspace' },
        dataCenterIds: ['EU-RO-1'],
        templateId: '30zmvf89kd',
      });
      const { query, variables } = gql(server.requests[0]);
      for (const value of ['agv6w2qcg7', 'EU-RO-1', '30zmvf89kd', 'hf_secret']) expect(query).not.toContain(value);
      expect(variables.input).toMatchObject({
        containerDiskInGb: 40,
        volumeInGb: 0,
        env: [{ key: 'HF_TOKEN', value: 'hf_secret' }],
        networkVolumeId: 'agv6w2qcg7',
        volumeMountPath: '/workspace',
        dataCenterId: 'EU-RO-1',
        templateId: '30zmvf89kd',
      });
    });

    it('joins several ports with commas', async () => {
      server.reply({ status: 200, body: { data: { podFindAndDeployOnDemand: gqlPod() } } });
      await api.create({ ...spec, ports: ['8188/http', ' 22/tcp'] });
      expect((gql(server.requests[0]).variables.input as { ports: string }).ports).toBe('8188/http,22/tcp');
    });

    it.each([
      NO_INSTANCES,
      'There are no longer any instances available with the request specifications. Please try again later.',
      'There are no longer any instances available with enough disk space.',
      'No compatible CUDA host is currently available.\n',
    ])('maps the HTTP 200 error "%s" to GpuCapacityError', async (message) => {
      server.reply({
        status: 200,
        body: {
          data: { podFindAndDeployOnDemand: null },
          errors: [{ message, path: ['podFindAndDeployOnDemand'] }],
        },
      });
      const err = await caught(api.create(spec));
      expect(err).toBeInstanceOf(GpuCapacityError);
      expect((err as GpuCapacityError).gpuTypeId).toBe('NVIDIA GeForce RTX 3090');
      expect(server.requests).toHaveLength(1);
      expect(keyLeaks(err)).toEqual([]);
    });

    it('maps an "Unauthorized" error message to RunPodAuthError', async () => {
      server.reply({ status: 200, body: { data: null, errors: [{ message: 'Unauthorized' }] } });
      await expect(api.create(spec)).rejects.toBeInstanceOf(RunPodAuthError);
    });

    it('maps HTTP 401 to RunPodAuthError', async () => {
      server.reply({
        status: 401,
        body: { errors: [{ message: 'Unauthorized request, please check your API key.' }] },
      });
      const err = await caught(api.create(spec));
      expect(err).toBeInstanceOf(RunPodAuthError);
      expect(keyLeaks(err)).toEqual([]);
    });

    it('maps other GraphQL errors to RunPodRequestError with the message', async () => {
      server.reply({ status: 200, body: { data: null, errors: [{ message: 'Invalid gpuTypeId' }] } });
      const err = (await caught(api.create(spec))) as RunPodRequestError;
      expect(err).toBeInstanceOf(RunPodRequestError);
      expect(err.detail).toBe('Invalid gpuTypeId');
    });

    it('maps a 400 GraphQL validation answer to RunPodRequestError without retrying', async () => {
      server.reply({
        status: 400,
        body: { errors: [{ message: 'Cannot query field "bogus" on type "Pod".' }] },
      });
      await expect(api.create(spec)).rejects.toBeInstanceOf(RunPodRequestError);
      expect(server.requests).toHaveLength(1);
    });
  });

  describe('get', () => {
    it('queries pod(input:{podId}) with a variable and maps desiredStatus + runtime', async () => {
      server.reply({ status: 200, body: { data: { pod: gqlPod() } } });
      const pod = await api.get('50qynxzilsxoey');
      const { query, variables } = gql(server.requests[0]);
      expect(query).toContain('pod(input: { podId: $podId })');
      expect(query).not.toContain('50qynxzilsxoey');
      expect(variables).toEqual({ podId: '50qynxzilsxoey' });
      expect(pod).toEqual({
        id: '50qynxzilsxoey',
        name: 'comfyui-worker-1',
        status: 'RUNNING',
        costPerHour: 0.72,
        gpuTypeId: 'NVIDIA RTX PRO 4500 Blackwell',
        createdAt: null,
        hasRuntime: true,
      });
    });

    it.each([
      ['RUNNING', null, 'STARTING'],
      ['RUNNING', { uptimeInSeconds: 1 }, 'RUNNING'],
      ['EXITED', null, 'EXITED'],
      ['TERMINATED', null, 'TERMINATED'],
      ['CREATED', null, 'PROVISIONING'],
      ['DEAD', null, 'ERROR'],
      ['SOMETHING_NEW', null, 'STARTING'],
    ])('maps desiredStatus %s with runtime %j to %s', async (desiredStatus, runtime, expected) => {
      server.reply({ status: 200, body: { data: { pod: gqlPod({ desiredStatus, runtime }) } } });
      expect((await api.get('p'))?.status).toBe(expected);
    });

    it('returns null for a null pod', async () => {
      server.reply({ status: 200, body: { data: { pod: null } } });
      expect(await api.get('gone')).toBeNull();
    });

    it('returns null for a "not found" error', async () => {
      server.reply({
        status: 200,
        body: { data: { pod: null }, errors: [{ message: 'Pod not found', path: ['pod'] }] },
      });
      expect(await api.get('gone')).toBeNull();
    });

    it('retries a 502 (queries are safe to repeat)', async () => {
      server.reply({ status: 502 }, { status: 200, body: { data: { pod: gqlPod() } } });
      expect((await api.get('p'))?.id).toBe('50qynxzilsxoey');
      expect(server.requests).toHaveLength(2);
    });
  });

  describe('listByNamePrefix', () => {
    it('reads myself.pods and keeps the names with the prefix', async () => {
      server.reply({
        status: 200,
        body: {
          data: {
            myself: {
              pods: [
                gqlPod({ id: 'a', name: 'comfyui-worker-1' }),
                gqlPod({ id: 'b', name: 'mine-not' }),
                gqlPod({ id: 'c', name: 'comfyui-worker-2', desiredStatus: 'EXITED', runtime: null }),
              ],
            },
          },
        },
      });
      const pods = await api.listByNamePrefix('comfyui-worker');
      expect(gql(server.requests[0]).query).toContain('myself { pods {');
      expect(pods.map((p) => [p.id, p.status])).toEqual([
        ['a', 'RUNNING'],
        ['c', 'EXITED'],
      ]);
    });
  });

  describe('terminate', () => {
    it('sends podTerminate with the id in variables', async () => {
      server.reply({ status: 200, body: { data: { podTerminate: null } } });
      await api.terminate('50qynxzilsxoey');
      const { query, variables } = gql(server.requests[0]);
      expect(query).toContain(
        'mutation TerminatePod($podId: String!) { podTerminate(input: { podId: $podId }) }',
      );
      expect(variables).toEqual({ podId: '50qynxzilsxoey' });
    });

    it('is idempotent: a "not found" error counts as terminated', async () => {
      server.reply({
        status: 200,
        body: { data: { podTerminate: null }, errors: [{ message: 'pod not found' }] },
      });
      await expect(api.terminate('gone')).resolves.toBeUndefined();
    });

    it('reports other errors', async () => {
      server.reply({ status: 200, body: { data: null, errors: [{ message: 'Something went wrong' }] } });
      await expect(api.terminate('p')).rejects.toBeInstanceOf(RunPodRequestError);
    });
  });

  describe('listGpuTypes', () => {
    it('maps gpuTypes with lowestPrice.uninterruptablePrice, falling back to the listed prices', async () => {
      server.reply({
        status: 200,
        body: {
          data: {
            gpuTypes: [
              {
                id: 'NVIDIA GeForce RTX 3090',
                displayName: 'RTX 3090',
                memoryInGb: 24,
                securePrice: 0.43,
                communityPrice: 0.22,
                lowestPrice: { uninterruptablePrice: 0.3 },
              },
              {
                id: 'NVIDIA A40',
                displayName: 'A40',
                memoryInGb: 48,
                securePrice: 0.44,
                communityPrice: 0,
                lowestPrice: { uninterruptablePrice: null },
              },
              { id: 'unknown', displayName: 'unknown', memoryInGb: 0 },
            ],
          },
        },
      });
      const gpus = await api.listGpuTypes();
      expect(gql(server.requests[0]).query).toContain(
        'lowestPrice(input: { gpuCount: 1 }) { uninterruptablePrice }',
      );
      expect(gpus).toEqual([
        {
          id: 'NVIDIA GeForce RTX 3090',
          displayName: 'RTX 3090',
          memoryInGb: 24,
          pricePerHour: 0.3,
          pricePerHourByCloud: { SECURE: 0.43, COMMUNITY: 0.22 },
        },
        {
          id: 'NVIDIA A40',
          displayName: 'A40',
          memoryInGb: 48,
          pricePerHour: 0.44,
          pricePerHourByCloud: { SECURE: 0.44, COMMUNITY: null },
        },
      ]);
    });
  });

  describe('getNetworkVolume', () => {
    it('reads myself.networkVolumes and picks the volume by id', async () => {
      server.reply({
        status: 200,
        body: {
          data: {
            myself: {
              networkVolumes: [
                { id: 'other', name: 'x', size: 10, dataCenterId: 'US-TX-3' },
                { id: 'agv6w2qcg7', name: 'models', size: 100, dataCenterId: 'EU-RO-1' },
              ],
            },
          },
        },
      });
      await expect(api.getNetworkVolume('agv6w2qcg7')).resolves.toEqual({
        id: 'agv6w2qcg7',
        name: 'models',
        dataCenterId: 'EU-RO-1',
      });
      expect(gql(server.requests[0]).query).toContain('networkVolumes { id name size dataCenterId }');
    });

    it('answers null for a volume the account does not have', async () => {
      server.reply({ status: 200, body: { data: { myself: { networkVolumes: [] } } } });
      await expect(api.getNetworkVolume('agv6w2qcg7')).resolves.toBeNull();
    });
  });
});
