import { FakeClock, MINUTE, SECOND } from '../../../src/common/clock';
import { RunPodHttp } from '../../../src/runpod/runpod-http';
import { ServerlessEndpointApi } from '../../../src/runpod/serverless-endpoint-api';
import { FakeRunPod, NO_CAPACITY_MESSAGE } from './fake-runpod';
import { CREATE_BODY, expectSchema, rest, schemaErrors } from './spec-helpers';

describe('FakeRunPod REST v2 (validated against the RunPod OpenAPI schemas)', () => {
  let clock: FakeClock;
  let fake: FakeRunPod;

  beforeEach(async () => {
    clock = new FakeClock();
    fake = new FakeRunPod({ clock, bootMs: 2 * MINUTE });
    await fake.start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  it('uses a validator that really rejects off-schema bodies', () => {
    expect(schemaErrors('Pod', { id: 'x' }).length).toBeGreaterThan(0);
    expect(schemaErrors('ErrorResponse', { title: 'x', status: '400', detail: 'y' }).length).toBeGreaterThan(0);
    expect(schemaErrors('ListPodsResponse', { pods: [{}] }).length).toBeGreaterThan(0);
  });

  it('answers 401 problem+json without / with a wrong bearer token', async () => {
    const missing = await rest(fake, 'GET', '/v2/pods', undefined, null);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toContain('application/problem+json');
    expect(missing.body).toEqual({ title: 'Unauthorized', status: 401, detail: 'missing bearer token' });
    expectSchema('ErrorResponse', missing.body);
    const wrong = await rest(fake, 'GET', '/v2/pods', undefined, 'rpa_wrong');
    expect(wrong.status).toBe(401);
    expectSchema('ErrorResponse', wrong.body);
    fake.faults.rejectAllKeys();
    expect((await rest(fake, 'GET', '/v2/pods')).status).toBe(401);
  });

  it('creates a pod that goes PROVISIONING -> STARTING -> RUNNING as the clock advances', async () => {
    const created = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
    expect(created.status).toBe(201);
    expectSchema('Pod', created.body);
    const pod = created.body;
    expect(pod.id).toMatch(/^[a-z0-9]{14}$/);
    expect(pod).toMatchObject({
      name: 'cw-test-pod',
      status: 'PROVISIONING',
      runtime: null,
      startedAt: null,
      cost: 0.69,
      gpu: { id: 'NVIDIA GeForce RTX 4090', count: 1 },
      cloud: 'SECURE',
      ports: ['8188/http', '22/tcp'],
      env: { COMFY_LOG_LEVEL: 'INFO' },
      actions: ['stop', 'terminate'],
      createdAt: new Date(clock.now()).toISOString(),
    });
    expect(pod.ssh.direct).toBeNull();

    clock.advance(45 * SECOND);
    const starting = await rest(fake, 'GET', `/v2/pods/${pod.id}`);
    expectSchema('Pod', starting.body);
    expect(starting.body).toMatchObject({ status: 'STARTING', runtime: null });

    clock.advance(75 * SECOND + 5 * SECOND);
    const running = await rest(fake, 'GET', `/v2/pods/${pod.id}`);
    expectSchema('Pod', running.body);
    expect(running.body.status).toBe('RUNNING');
    expect(running.body.actions).toEqual(['stop', 'restart', 'terminate']);
    expect(running.body.runtime.uptime).toBe(5);
    expect(running.body.runtime.ports).toEqual(
      expect.arrayContaining([expect.objectContaining({ private: 8188, type: 'http' }), expect.objectContaining({ private: 22, type: 'tcp' })]),
    );
    expect(running.body.startedAt).toBe(new Date(Date.parse(pod.createdAt) + 2 * MINUTE).toISOString());
    expect(running.body.ssh.direct).toMatchObject({ username: 'root' });

    const list = await rest(fake, 'GET', '/v2/pods');
    expect(list.status).toBe(200);
    expectSchema('ListPodsResponse', list.body);
    expect(list.body.pods.map((p: { id: string }) => p.id)).toEqual([pod.id]);
  });

  it('stops, starts and terminates through /action, with 409 for invalid transitions and 422 for bad bodies', async () => {
    const { body: pod } = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
    const conflict = await rest(fake, 'POST', `/v2/pods/${pod.id}/action`, { action: 'start' });
    expect(conflict.status).toBe(409);
    expectSchema('ErrorResponse', conflict.body);

    const bad = await rest(fake, 'POST', `/v2/pods/${pod.id}/action`, { action: 'reboot' });
    expect(bad.status).toBe(422);
    expectSchema('ErrorResponse', bad.body);
    expect(bad.body.errors).toEqual(["$.action: value must be one of 'start', 'stop', 'restart', 'terminate'"]);

    clock.advance(3 * MINUTE);
    const stopped = await rest(fake, 'POST', `/v2/pods/${pod.id}/action`, { action: 'stop' });
    expect(stopped.status).toBe(200);
    expectSchema('Pod', stopped.body);
    expect(stopped.body).toMatchObject({ status: 'EXITED', cost: 0, runtime: null, actions: ['start', 'terminate'] });
    expect(stopped.body.startedAt).not.toBeNull();
    expect((await rest(fake, 'POST', `/v2/pods/${pod.id}/action`, { action: 'stop' })).status).toBe(409);

    const started = await rest(fake, 'POST', `/v2/pods/${pod.id}/action`, { action: 'start' });
    expect(started.status).toBe(200);
    expectSchema('Pod', started.body);
    expect(started.body.status).toBe('PROVISIONING');

    const terminated = await rest(fake, 'POST', `/v2/pods/${pod.id}/action`, { action: 'terminate' });
    expect(terminated.status).toBe(204);
    expect(terminated.text).toBe('');
    expect((await rest(fake, 'GET', `/v2/pods/${pod.id}`)).status).toBe(404);
  });

  it('DELETE gives 204, then the pod vanishes (404, not listed) but stays in the ground truth', async () => {
    const { body: pod } = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
    const del = await rest(fake, 'DELETE', `/v2/pods/${pod.id}`);
    expect(del.status).toBe(204);
    const get = await rest(fake, 'GET', `/v2/pods/${pod.id}`);
    expect(get.status).toBe(404);
    expectSchema('ErrorResponse', get.body);
    expect((await rest(fake, 'GET', '/v2/pods')).body).toEqual({ pods: [] });
    expect((await rest(fake, 'DELETE', `/v2/pods/${pod.id}`)).status).toBe(404);
    const [entry] = fake.listAllPods();
    expect(entry).toMatchObject({ id: pod.id, status: 'TERMINATED', gpuTypeId: 'NVIDIA GeForce RTX 4090' });
    expect(entry.terminatedAt).toEqual(new Date(clock.now()));
    expect(fake.runningPods()).toEqual([]);
  });

  it('reports no capacity as HTTP 400 problem+json with RunPod wording, per GPU type', async () => {
    fake.faults.noCapacity('NVIDIA GeForce RTX 4090');
    const res = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
    expect(res.status).toBe(400);
    expectSchema('ErrorResponse', res.body);
    expect(res.body).toEqual({ title: 'Bad Request', status: 400, detail: NO_CAPACITY_MESSAGE });
    expect(NO_CAPACITY_MESSAGE).toBe('There are no longer any instances available with the requested specifications. Please refresh and try again.');

    const other = await rest(fake, 'POST', '/v2/pods', { ...CREATE_BODY, gpu: { id: 'NVIDIA GeForce RTX 3090' } });
    expect(other.status).toBe(201);
    expect(other.body.cost).toBe(0.34);

    const cat = await rest(fake, 'GET', '/v2/catalog/gpus?include=AVAILABILITY&product=POD');
    expectSchema('ListGpuTypesResponse', cat.body);
    const byId = new Map<string, { availability: string }>(cat.body.gpus.map((g: { id: string; availability: string }) => [g.id, g]));
    expect(byId.get('NVIDIA GeForce RTX 4090')?.availability).toBe('NONE');
    expect(byId.get('NVIDIA GeForce RTX 3090')?.availability).toBe('HIGH');

    fake.faults.noCapacity();
    expect((await rest(fake, 'POST', '/v2/pods', { ...CREATE_BODY, gpu: { id: 'NVIDIA GeForce RTX 3090' } })).status).toBe(400);
    fake.faults.reset();
    expect((await rest(fake, 'POST', '/v2/pods', CREATE_BODY)).status).toBe(201);
  });

  it('validates CreatePodRequest: 422 for contract violations, 400 for rejected values', async () => {
    const noName = await rest(fake, 'POST', '/v2/pods', { image: 'x', gpu: { id: 'NVIDIA GeForce RTX 4090' } });
    expect(noName.status).toBe(422);
    expectSchema('ErrorResponse', noName.body);
    const extra = await rest(fake, 'POST', '/v2/pods', { ...CREATE_BODY, bogus: 1 });
    expect(extra.status).toBe(422);
    expect(extra.body.errors).toEqual(["$: additional properties 'bogus' not allowed"]);
    const badCloud = await rest(fake, 'POST', '/v2/pods', { ...CREATE_BODY, cloud: 'ALL' });
    expect(badCloud.status).toBe(422);
    const unknownGpu = await rest(fake, 'POST', '/v2/pods', { ...CREATE_BODY, gpu: { id: 'RTX 4090' } });
    expect(unknownGpu.status).toBe(400);
    expectSchema('ErrorResponse', unknownGpu.body);
    const noGpu = await rest(fake, 'POST', '/v2/pods', { name: 'x', image: 'y' });
    expect(noGpu.status).toBe(400);
  });

  it('serves the GPU catalog with the exact ids of the RunPod docs', async () => {
    const res = await rest(fake, 'GET', '/v2/catalog/gpus');
    expect(res.status).toBe(200);
    expectSchema('ListGpuTypesResponse', res.body);
    const ids = res.body.gpus.map((g: { id: string }) => g.id);
    expect(ids).toHaveLength(45);
    expect(ids).toEqual(expect.arrayContaining(['NVIDIA GeForce RTX 3090', 'NVIDIA GeForce RTX 4090', 'NVIDIA A100 80GB PCIe', 'NVIDIA H100 80GB HBM3']));
    expect(res.body.gpus[0].availability).toBeUndefined();

    const one = await rest(fake, 'GET', `/v2/catalog/gpus/${encodeURIComponent('NVIDIA GeForce RTX 4090')}`);
    expectSchema('GpuType', one.body);
    expect(one.body).toMatchObject({ name: 'RTX 4090', pool: 'ADA_24', memory: 24, price: { secure: 0.69 } });
    expect((await rest(fake, 'GET', '/v2/catalog/gpus/nope')).status).toBe(404);
    expect((await rest(fake, 'GET', '/v2/catalog/gpus?include=AVAILABILITY')).status).toBe(400);
  });

  it('serves getEndpoint for its serverless endpoints: workers.max is the worker count, 404 for unknown ids, 401 without the key', async () => {
    expect(schemaErrors('Endpoint', { id: 'x', name: 'x', workers: { min: 0, max: 1, idleTimeout: 0 } }).length).toBeGreaterThan(0);
    const [id] = fake.serverlessEndpointIds;
    const res = await rest(fake, 'GET', `/v2/serverless/${id}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expectSchema('Endpoint', res.body);
    expect(res.body).toMatchObject({ id, name: id, type: 'QUEUE', workers: { min: 0, max: 1, idleTimeout: 5 } });
    expect(res.body.requestUrls).toBeUndefined();

    const unknown = await rest(fake, 'GET', '/v2/serverless/no-such-endpoint');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('content-type')).toContain('application/problem+json');
    expect(unknown.body).toEqual({ title: 'Not Found', status: 404, detail: 'resource not found' });
    expectSchema('ErrorResponse', unknown.body);

    const anonymous = await rest(fake, 'GET', `/v2/serverless/${id}`, undefined, null);
    expect(anonymous.status).toBe(401);
    expectSchema('ErrorResponse', anonymous.body);
    expect((await rest(fake, 'GET', `/v2/serverless/${id}`, undefined, 'rpa_wrong')).status).toBe(401);
    expect((await rest(fake, 'PATCH', `/v2/serverless/${id}`, { workers: { max: 9 } })).status).toBe(405);
  });

  it('reports each endpoint\'s own worker count as workers.max', async () => {
    const multi = new FakeRunPod({
      clock,
      serverlessEndpoints: [
        { id: 'ep-three', workers: 3 },
        { id: 'ep/odd id', workers: 2 },
      ],
    });
    await multi.start();
    try {
      const three = await rest(multi, 'GET', '/v2/serverless/ep-three');
      expectSchema('Endpoint', three.body);
      expect(three.body.workers).toEqual({ min: 0, max: 3, idleTimeout: 5 });
      const odd = await rest(multi, 'GET', `/v2/serverless/${encodeURIComponent('ep/odd id')}`);
      expect(odd.status).toBe(200);
      expectSchema('Endpoint', odd.body);
      expect(odd.body).toMatchObject({ id: 'ep/odd id', workers: { max: 2 } });

      // The service's client reads it back.
      const api = new ServerlessEndpointApi({ baseUrl: multi.restV2Url, http: new RunPodHttp({ apiKey: multi.apiKey, maxRetries: 0 }) });
      expect(await api.get('ep-three')).toEqual({ workersMax: 3, workersMin: 0, idleTimeoutS: 5 });
      expect(await api.get('ep/odd id')).toEqual({ workersMax: 2, workersMin: 0, idleTimeoutS: 5 });
      expect(await api.get('nope')).toBeNull();
    } finally {
      await multi.stop();
    }
  });

  it('bills costPerHour x seconds held, pausing while EXITED, frozen at termination', async () => {
    const t0 = clock.now();
    const a = (await rest(fake, 'POST', '/v2/pods', { ...CREATE_BODY, gpu: { id: 'NVIDIA GeForce RTX 3090' } })).body; // 0.34/h
    const b = (await rest(fake, 'POST', '/v2/pods', { ...CREATE_BODY, gpu: { id: 'NVIDIA GeForce RTX 4090', count: 2 } })).body; // 1.38/h
    expect(b.cost).toBe(1.38);
    clock.advance(30 * MINUTE);
    await rest(fake, 'DELETE', `/v2/pods/${a.id}`);
    await rest(fake, 'POST', `/v2/pods/${b.id}/action`, { action: 'stop' });
    clock.advance(60 * MINUTE); // b is EXITED: not billed
    await rest(fake, 'POST', `/v2/pods/${b.id}/action`, { action: 'start' });
    clock.advance(15 * MINUTE);

    const pa = fake.getPod(a.id)!;
    const pb = fake.getPod(b.id)!;
    expect(pa.costPerHour).toBe(0.34);
    expect(pa.createdAt.getTime()).toBe(t0);
    expect(pa.terminatedAt?.getTime()).toBe(t0 + 30 * MINUTE);
    expect(pa.billedSeconds()).toBe(1800);
    expect(pa.billedUsd()).toBeCloseTo(0.17, 10);
    expect(pb.billedSeconds()).toBe(45 * 60);
    expect(pb.billedUsd()).toBeCloseTo(1.38 * 0.75, 10);
    expect(fake.totalPodBilledUsd()).toBeCloseTo(0.17 + 1.035, 10);
    expect(fake.runningPods().map((p) => p.id)).toEqual([b.id]);
    expect(fake.listAllPods().map((p) => p.id)).toEqual([a.id, b.id]);
  });

  it('injects N x 5xx then success, 429 with Retry-After, and logs every request', async () => {
    fake.faults.failNext(3, 503, { api: 'rest', path: '/v2/pods' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await rest(fake, 'GET', '/v2/pods')).status);
    expect(statuses).toEqual([503, 503, 503, 200]);
    expect(fake.requests({ api: 'rest', path: '/v2/pods', method: 'GET' }).map((r) => r.status)).toEqual([503, 503, 503, 200]);
    expect(fake.requests({ status: 503 }).every((r) => r.injected)).toBe(true);

    fake.faults.failNext(1, 429, { retryAfterSec: 7 });
    const limited = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expectSchema('ErrorResponse', limited.body);
    expect((await rest(fake, 'POST', '/v2/pods', CREATE_BODY)).status).toBe(201);
    expect(fake.listAllPods()).toHaveLength(1);
  });
});
