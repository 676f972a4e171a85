import { FakeClock, MINUTE } from '../../../src/common/clock';
import { FakeRunPod, NO_CAPACITY_MESSAGE } from './fake-runpod';
import { call, gql } from './spec-helpers';

// Queries below are copied from reference/runpod.md §1 (DOCS examples, runpod-python and runpodctl field lists).
const DOC_DEPLOY = `mutation { podFindAndDeployOnDemand(input: {
  cloudType: ALL, gpuCount: 1, volumeInGb: 40, containerDiskInGb: 40,
  minVcpuCount: 2, minMemoryInGb: 15, gpuTypeId: "NVIDIA RTX A6000",
  name: "Runpod Tensorflow", imageName: "runpod/tensorflow", dockerArgs: "",
  ports: "8888/http", volumeMountPath: "/workspace",
  env: [{ key: "JUPYTER_PASSWORD", value: "your-password" }] })
  { id imageName env machineId machine { podHostId } } }`;

const CTL_CREATE = `mutation createPod($input: PodFindAndDeployOnDemandInput!) { podFindAndDeployOnDemand(input: $input) {
  id name imageName desiredStatus costPerHr containerDiskInGb volumeInGb volumeMountPath gpuCount memoryInGb vcpuCount
  ports lastStatusChange env machine { gpuDisplayName location } } }`;

const PY_MY_PODS = `query myPods { myself { pods {
  id containerDiskInGb costPerHr desiredStatus dockerArgs dockerId env gpuCount imageName lastStatusChange machineId
  memoryInGb name podType port ports uptimeSeconds vcpuCount volumeInGb volumeMountPath
  runtime { ports { ip isIpPublic privatePort publicPort PortType: type } }
  machine { gpuDisplayName location } } } }`;

const DOC_PODS = `query { myself { pods { id name runtime { uptimeInSeconds
  ports { ip isIpPublic privatePort publicPort type }
  gpus { id gpuUtilPercent memoryUtilPercent }
  container { cpuPercent memoryPercent } } } } }`;

const DOC_GPU_TYPES = `query GpuTypes { gpuTypes(input: {id: "NVIDIA GeForce RTX 3090"}) {
  maxGpuCount id displayName manufacturer memoryInGb cudaCores secureCloud communityCloud
  securePrice communityPrice oneMonthPrice threeMonthPrice oneWeekPrice communitySpotPrice secureSpotPrice
  lowestPrice(input: {gpuCount: 1}) { minimumBidPrice uninterruptablePrice } } }`;

const CTL_INPUT = {
  cloudType: 'SECURE',
  gpuCount: 1,
  gpuTypeId: 'NVIDIA GeForce RTX 4090',
  name: 'cw-pod-1',
  imageName: 'runpod/worker-comfyui:5.8.5-base',
  containerDiskInGb: 50,
  volumeInGb: 0,
  ports: '8188/http, 22/tcp',
  env: [{ key: 'A', value: '1' }],
  dataCenterId: null,
};

describe('FakeRunPod GraphQL', () => {
  let clock: FakeClock;
  let fake: FakeRunPod;

  beforeEach(async () => {
    clock = new FakeClock();
    fake = new FakeRunPod({ clock, bootMs: 3 * MINUTE });
    await fake.start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  it('accepts the key as ?api_key= or Bearer, and answers HTTP 401 otherwise', async () => {
    const q = 'query { myself { id } }';
    expect((await gql(fake, q, undefined, 'query')).status).toBe(200);
    expect((await gql(fake, q, undefined, 'bearer')).status).toBe(200);
    expect((await gql(fake, q, undefined, 'none')).status).toBe(401);
    expect((await gql(fake, q, undefined, 'query', 'rpa_wrong')).status).toBe(401);
    fake.faults.rejectAllKeys();
    expect((await gql(fake, q, undefined, 'bearer')).status).toBe(401);
  });

  it('runs the docs deploy mutation (inline literals, unquoted enum) and returns only the requested fields', async () => {
    const res = await gql(fake, DOC_DEPLOY);
    expect(res.status).toBe(200);
    expect(res.body.errors).toBeUndefined();
    const pod = res.body.data.podFindAndDeployOnDemand;
    expect(Object.keys(pod).sort()).toEqual(['env', 'id', 'imageName', 'machine', 'machineId']);
    expect(pod.id).toMatch(/^[a-z0-9]{14}$/);
    expect(pod.machineId).toMatch(/^[a-z0-9]{12}$/);
    expect(pod.machine).toEqual({ podHostId: expect.stringMatching(new RegExp(`^${pod.id}-\\d+$`)) });
    expect(pod).toMatchObject({ imageName: 'runpod/tensorflow', env: ['JUPYTER_PASSWORD=your-password'] });
    const [entry] = fake.listAllPods();
    expect(entry).toMatchObject({ id: pod.id, gpuTypeId: 'NVIDIA RTX A6000', cloud: 'COMMUNITY', costPerHour: 0.39, createdVia: 'graphql' });
  });

  it('runs runpodctl create with variables, then runpod-python myPods with an alias; runtime is null until boot', async () => {
    const created = await gql(fake, CTL_CREATE, { input: CTL_INPUT }, 'bearer');
    expect(created.body.errors).toBeUndefined();
    const pod = created.body.data.podFindAndDeployOnDemand;
    expect(pod).toMatchObject({
      name: 'cw-pod-1',
      desiredStatus: 'RUNNING',
      costPerHr: 0.69,
      gpuCount: 1,
      ports: '8188/http,22/tcp',
      env: ['A=1'],
      machine: { gpuDisplayName: 'RTX 4090' },
    });

    const before = await gql(fake, PY_MY_PODS);
    expect(before.body.data.myself.pods).toHaveLength(1);
    expect(before.body.data.myself.pods[0]).toMatchObject({ id: pod.id, desiredStatus: 'RUNNING', runtime: null, uptimeSeconds: 0 });

    clock.advance(3 * MINUTE + 42_000);
    const after = await gql(fake, PY_MY_PODS);
    const p = after.body.data.myself.pods[0];
    expect(p.uptimeSeconds).toBe(42);
    expect(p.runtime.ports).toEqual([
      { ip: expect.stringMatching(/^100\.65\./), isIpPublic: false, privatePort: 8188, publicPort: expect.any(Number), PortType: 'http' },
      { ip: expect.any(String), isIpPublic: true, privatePort: 22, publicPort: expect.any(Number), PortType: 'tcp' },
    ]);
    expect(p.runtime.ports[1].publicPort).not.toBe(22);

    const docs = await gql(fake, DOC_PODS);
    expect(docs.body.data.myself.pods[0].runtime).toMatchObject({
      uptimeInSeconds: 42,
      gpus: [{ id: expect.stringMatching(/^GPU-/), gpuUtilPercent: 0, memoryUtilPercent: 0 }],
      container: { cpuPercent: 0, memoryPercent: 0 },
    });
  });

  it('stops, resumes and terminates with variables; terminated pods vanish; unknown pod is null', async () => {
    const id = (await gql(fake, CTL_CREATE, { input: CTL_INPUT })).body.data.podFindAndDeployOnDemand.id as string;
    clock.advance(5 * MINUTE);
    const stop = await gql(fake, 'mutation stopPod($podId: String!) { podStop(input: {podId: $podId}) { id desiredStatus lastStatusChange } }', { podId: id });
    expect(stop.body.data.podStop).toMatchObject({ id, desiredStatus: 'EXITED' });
    const single = await gql(fake, `query pod { pod(input: {podId: "${id}"}) { id desiredStatus runtime { uptimeInSeconds } } }`);
    expect(single.body.data.pod).toEqual({ id, desiredStatus: 'EXITED', runtime: null });

    const resume = await gql(fake, `mutation { podResume(input: {podId: "${id}", gpuCount: 1}) { id desiredStatus imageName } }`);
    expect(resume.body.data.podResume).toEqual({ id, desiredStatus: 'RUNNING', imageName: CTL_INPUT.imageName });

    const term = await gql(fake, 'mutation terminatePod($podId: String!) { podTerminate(input: {podId: $podId}) }', { podId: id });
    expect(term.status).toBe(200);
    expect(term.body).toEqual({ data: { podTerminate: null } });
    expect((await gql(fake, DOC_PODS)).body.data.myself.pods).toEqual([]);
    expect((await gql(fake, `query { pod(input: {podId: "${id}"}) { id } }`)).body).toEqual({ data: { pod: null } });
    expect(fake.getPod(id)?.terminatedAt).toEqual(new Date(clock.now()));

    const again = await gql(fake, `mutation { podTerminate(input: {podId: "${id}"}) }`);
    expect(again.status).toBe(200);
    expect(again.body.errors[0].path).toEqual(['podTerminate']);
  });

  it('reports no capacity as HTTP 200 with data null and the exact RunPod message', async () => {
    fake.faults.noCapacity('NVIDIA GeForce RTX 4090');
    const res = await gql(fake, CTL_CREATE, { input: CTL_INPUT });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({ podFindAndDeployOnDemand: null });
    expect(res.body.errors).toEqual([expect.objectContaining({ message: NO_CAPACITY_MESSAGE, path: ['podFindAndDeployOnDemand'] })]);
    expect(fake.listAllPods()).toEqual([]);

    const stock = await gql(fake, 'query { gpuTypes(input: {id: "NVIDIA GeForce RTX 4090"}) { id lowestPrice(input: {gpuCount: 1}) { stockStatus availableGpuCounts } } }');
    expect(stock.body.data.gpuTypes[0].lowestPrice).toEqual({ stockStatus: 'None', availableGpuCounts: [] });
  });

  it('rejects bad input as GraphQL errors (unknown gpu, quoted enum, bad port) with HTTP 200', async () => {
    const unknown = await gql(fake, CTL_CREATE, { input: { ...CTL_INPUT, gpuTypeId: 'RTX 4090' } });
    expect(unknown.status).toBe(200);
    expect(unknown.body.data.podFindAndDeployOnDemand).toBeNull();
    expect(unknown.body.errors[0].path).toEqual(['podFindAndDeployOnDemand']);
    const quoted = await gql(fake, 'mutation { podFindAndDeployOnDemand(input: {cloudType: "ALL", gpuTypeId: "NVIDIA L4", imageName: "x"}) { id } }');
    expect(quoted.status).toBe(200);
    expect(quoted.body.errors[0].message).toMatch(/CloudTypeEnum/);
    const badVar = await gql(fake, CTL_CREATE, { input: { ...CTL_INPUT, cloudType: 'ANY' } });
    expect(badVar.body.errors[0].message).toMatch(/CloudTypeEnum/);
    const port = await gql(fake, CTL_CREATE, { input: { ...CTL_INPUT, ports: '8188/udp' } });
    expect(port.body.errors[0].message).toMatch(/invalid port/);
    expect(fake.listAllPods()).toEqual([]);
  });

  it('lists GPU types (always a list) with prices and lowestPrice, as in the docs', async () => {
    const all = await gql(fake, 'query GpuTypes { gpuTypes { id displayName memoryInGb } }');
    expect(all.body.data.gpuTypes).toHaveLength(45);
    expect(all.body.data.gpuTypes).toContainEqual({ id: 'NVIDIA GeForce RTX 3090', displayName: 'RTX 3090', memoryInGb: 24 });
    const one = await gql(fake, DOC_GPU_TYPES);
    expect(one.body.errors).toBeUndefined();
    expect(one.body.data.gpuTypes).toHaveLength(1);
    expect(one.body.data.gpuTypes[0]).toMatchObject({
      id: 'NVIDIA GeForce RTX 3090',
      displayName: 'RTX 3090',
      memoryInGb: 24,
      securePrice: 0.34,
      communityPrice: 0.22,
      lowestPrice: { minimumBidPrice: 0.11, uninterruptablePrice: 0.22 },
    });
    const secure = await gql(fake, 'query { gpuTypes(input: {id: "NVIDIA GeForce RTX 3090"}) { lowestPrice(input: {gpuCount: 1, secureCloud: true}) { uninterruptablePrice stockStatus } } }');
    expect(secure.body.data.gpuTypes[0].lowestPrice).toEqual({ uninterruptablePrice: 0.34, stockStatus: 'High' });
    expect((await gql(fake, 'query { gpuTypes(input: {id: "nope"}) { id } }')).body.data.gpuTypes).toEqual([]);
  });

  it('supports podRentInterruptable with bidPerGpu (cost = bid) and spot floor', async () => {
    const q = `mutation { podRentInterruptable(input: { bidPerGpu: 0.2, cloudType: SECURE, gpuCount: 1, volumeInGb: 40,
      containerDiskInGb: 40, minVcpuCount: 2, minMemoryInGb: 15, gpuTypeId: "NVIDIA RTX A6000",
      name: "Runpod Pytorch", imageName: "runpod/pytorch", dockerArgs: "", ports: "8888/http",
      volumeMountPath: "/workspace", env: [{ key: "JUPYTER_PASSWORD", value: "your-password" }] })
      { id imageName env machineId machine { podHostId } podType costPerHr } }`;
    const res = await gql(fake, q);
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.podRentInterruptable).toMatchObject({ podType: 'INTERRUPTABLE', costPerHr: 0.2 });
    const low = await gql(fake, q.replace('bidPerGpu: 0.2', 'bidPerGpu: 0.01'));
    expect(low.body.data.podRentInterruptable).toBeNull();
  });

  it('answers 5xx injected on the GraphQL API only', async () => {
    fake.faults.failNext(2, 502, { api: 'graphql' });
    expect((await gql(fake, 'query { myself { id } }')).status).toBe(502);
    expect((await call(`${fake.url}/v2/pods`, { headers: { authorization: `Bearer ${fake.apiKey}` } })).status).toBe(200);
    expect((await gql(fake, 'query { myself { id } }')).status).toBe(502);
    expect((await gql(fake, 'query { myself { id } }')).status).toBe(200);
    expect(fake.requests({ api: 'graphql' }).map((r) => r.status)).toEqual([502, 502, 200]);
  });
});
