import WebSocket from 'ws';
import { FakeClock, MINUTE, SECOND } from '../../../src/common/clock';
import { FakeRunPod } from './fake-runpod';
import { ScriptedComfyUI } from './scripted-comfyui';
import { call, CREATE_BODY, gql, rest } from './spec-helpers';

function wsOpen(url: string): Promise<{ ws: WebSocket; first: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.once('message', (m: Buffer) => resolve({ ws, first: m.toString() }));
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode ?? 0}`)));
    ws.once('error', reject);
  });
}

describe('FakeRunPod pod proxy, boot faults and lifecycle', () => {
  let clock: FakeClock;
  let fake: FakeRunPod;

  afterEach(async () => {
    await fake.stop();
  });

  describe('with the real FakeComfyUI per pod', () => {
    beforeEach(async () => {
      clock = new FakeClock();
      fake = new FakeRunPod({ clock, bootMs: 90 * SECOND, proxyTimeoutMs: 200 });
      await fake.start();
    });

    it('proxies /system_stats: 502 before boot, 200 after a FakeClock advance, 502 after stop/terminate', async () => {
      const { body: pod } = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
      const statsUrl = `${fake.podUrlTemplate.replace('{podId}', pod.id)}/system_stats`;
      expect(statsUrl).toBe(`${fake.podUrl(pod.id)}/system_stats`);
      expect((await call(statsUrl)).status).toBe(502);
      // ComfyUI was started with the pod; it is just not reachable through the proxy yet.
      const direct = fake.podComfy(pod.id)!;
      expect((await call(`${direct.url}/system_stats`)).status).toBe(200);

      clock.advance(90 * SECOND);
      const ok = await call(statsUrl);
      expect(ok.status).toBe(200);
      expect(ok.body.system).toBeDefined();
      expect((await call(`${fake.podUrl(pod.id, 8888)}/`)).status).toBe(502); // not exposed

      await rest(fake, 'POST', `/v2/pods/${pod.id}/action`, { action: 'stop' });
      expect((await call(statsUrl)).status).toBe(502);
      await rest(fake, 'POST', `/v2/pods/${pod.id}/action`, { action: 'start' });
      expect((await call(statsUrl)).status).toBe(502);
      clock.advance(90 * SECOND);
      expect((await call(statsUrl)).status).toBe(200);

      await rest(fake, 'DELETE', `/v2/pods/${pod.id}`);
      expect((await call(statsUrl)).status).toBe(502);
      await expect(fetch(`${direct.url}/system_stats`)).rejects.toThrow(); // its ComfyUI is closed
    });

    it('pods that never boot stay STARTING with runtime null (REST and GraphQL)', async () => {
      fake.faults.podsNeverBoot({ mode: 'stuck', count: 1 });
      const { body: stuck } = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
      const { body: fine } = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
      clock.advance(60 * MINUTE);
      expect((await rest(fake, 'GET', `/v2/pods/${stuck.id}`)).body).toMatchObject({
        status: 'STARTING',
        runtime: null,
      });
      expect((await rest(fake, 'GET', `/v2/pods/${fine.id}`)).body.status).toBe('RUNNING');
      const g = await gql(
        fake,
        `query { pod(input: {podId: "${stuck.id}"}) { desiredStatus runtime { uptimeInSeconds } } }`,
      );
      expect(g.body.data.pod).toEqual({ desiredStatus: 'RUNNING', runtime: null });
      expect((await call(`${fake.podUrl(stuck.id)}/system_stats`)).status).toBe(502);
      expect(fake.getPod(stuck.id)!.billedSeconds()).toBe(3600); // billed while stuck
    });

    it('pods that boot but whose ComfyUI never answers: 502 (down) or 524 after the proxy timeout (hang)', async () => {
      fake.faults.podsNeverBoot({ mode: 'comfy-down', count: 1 });
      const { body: down } = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
      fake.faults.podsNeverBoot({ mode: 'comfy-hang', count: 1 });
      const { body: hang } = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
      clock.advance(2 * MINUTE);
      expect((await rest(fake, 'GET', `/v2/pods/${down.id}`)).body.runtime).not.toBeNull();
      expect((await call(`${fake.podUrl(down.id)}/system_stats`)).status).toBe(502);
      const started = Date.now();
      expect((await call(`${fake.podUrl(hang.id)}/system_stats`)).status).toBe(524);
      expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    });

    it('a pod whose ComfyUI dies keeps running (and billing) but the proxy answers 502', async () => {
      const { body: pod } = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
      clock.advance(2 * MINUTE);
      expect((await call(`${fake.podUrl(pod.id)}/system_stats`)).status).toBe(200);
      await fake.faults.killPod(pod.id);
      expect((await call(`${fake.podUrl(pod.id)}/system_stats`)).status).toBe(502);
      expect((await rest(fake, 'GET', `/v2/pods/${pod.id}`)).body.status).toBe('RUNNING');
      expect(fake.runningPods().map((p) => p.id)).toEqual([pod.id]);
    });

    it('slow responses, path-limited faults, and reset()', async () => {
      fake.faults.slow(150, { api: 'rest', count: 1 });
      const t = Date.now();
      expect((await rest(fake, 'GET', '/v2/pods')).status).toBe(200);
      expect(Date.now() - t).toBeGreaterThanOrEqual(140);
      // count: 1 is used up, so the next request is not delayed. Asked of the rule itself: a wall-clock bound on
      // an undelayed request ("under 140 ms") is what a busy machine cannot keep.
      expect(fake.faults.takeDelay('rest', 'GET', '/v2/pods')).toBe(0);
      expect((await rest(fake, 'GET', '/v2/pods')).status).toBe(200);

      fake.faults.failNext(1, 500, { path: '/v2/catalog' });
      expect((await rest(fake, 'GET', '/v2/pods')).status).toBe(200);
      expect((await rest(fake, 'GET', '/v2/catalog/gpus')).status).toBe(500);
      expect((await rest(fake, 'GET', '/v2/catalog/gpus')).status).toBe(200);

      await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
      fake.faults.noCapacity();
      await fake.reset();
      expect(fake.listAllPods()).toEqual([]);
      expect(fake.requests()).toEqual([]);
      expect((await rest(fake, 'POST', '/v2/pods', CREATE_BODY)).status).toBe(201);
    });

    it('stop() closes every pod ComfyUI', async () => {
      const { body: a } = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
      const { body: b } = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
      const urls = [fake.podComfy(a.id)!.url, fake.podComfy(b.id)!.url];
      await fake.stop();
      for (const u of urls) await expect(fetch(`${u}/system_stats`)).rejects.toThrow();
      fake = new FakeRunPod(); // for afterEach
      await fake.start();
    });
  });

  describe('websockets through the proxy', () => {
    beforeEach(async () => {
      clock = new FakeClock();
      fake = new FakeRunPod({ clock, bootMs: 10 * SECOND, comfyFactory: () => new ScriptedComfyUI() });
      await fake.start();
    });

    it('pipes /ws to the pod ComfyUI once booted, and refuses with 502 before', async () => {
      const { body: pod } = await rest(fake, 'POST', '/v2/pods', CREATE_BODY);
      const wsUrl = `${fake.podUrl(pod.id).replace(/^http/, 'ws')}/ws?clientId=abc`;
      await expect(wsOpen(wsUrl)).rejects.toThrow('HTTP 502');
      clock.advance(10 * SECOND);
      const { ws, first } = await wsOpen(wsUrl);
      expect(JSON.parse(first)).toMatchObject({ type: 'status', data: { sid: 'abc' } });
      const echoed = new Promise<string>((r) => ws.once('message', (m: Buffer) => r(m.toString())));
      ws.send('hi');
      expect(await echoed).toBe('echo:hi');
      const closed = new Promise<void>((r) => ws.once('close', () => r()));
      await rest(fake, 'POST', `/v2/pods/${pod.id}/action`, { action: 'stop' }); // stopping the pod drops the socket
      await closed;
      expect(fake.requests({ api: 'proxy', status: 101 })).toHaveLength(1);
    });
  });
});
