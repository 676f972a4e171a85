/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON bodies from the wire */
import { createServer, type Server } from 'node:http';
import { type AddressInfo } from 'node:net';
import { FakeClock, MINUTE, SECOND } from '../../../src/common/clock';
import { FakeRunPod } from './fake-runpod';
import { ScriptedComfyUI, type ScriptedComfyOptions } from './scripted-comfyui';
import { RunpodSdkInWorker } from './sdk-in-worker';
import { sls, waitUntil } from './spec-helpers';

// The official runpod-sdk (ESM) runs unmodified in a worker thread; see sdk-in-worker.ts.
let sdk: RunpodSdkInWorker;
beforeAll(() => {
  sdk = new RunpodSdkInWorker();
});
afterAll(async () => {
  await sdk.close();
});
const runpodSdk = (apiKey: string, o: { baseUrl: string }) => ({ endpoint: (id: string) => sdk.endpoint(apiKey, o.baseUrl, id) });

const EP = 'sim-endpoint-01';
const SAVE_WORKFLOW = {
  '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 16711680 } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'test' } },
};

function makeFake(opts: { clock?: FakeClock; comfy?: ScriptedComfyOptions; workers?: number } = {}): { fake: FakeRunPod; comfies: ScriptedComfyUI[] } {
  const comfies: ScriptedComfyUI[] = [];
  const fake = new FakeRunPod({
    clock: opts.clock,
    serverlessWorkersPerEndpoint: opts.workers ?? 1,
    streamWaitMs: 100,
    worker: { historyPollMs: 10, checkServerRetries: 5, checkServerIntervalMs: 10 },
    comfyFactory: () => {
      const c = new ScriptedComfyUI(opts.comfy);
      comfies.push(c);
      return c;
    },
  });
  return { fake, comfies };
}

async function runToEnd(fake: FakeRunPod, input: unknown): Promise<any> {
  const run = await sls(fake, 'POST', `/${EP}/run`, { input });
  expect(run.status).toBe(200);
  return waitUntil(async () => {
    const s = await sls(fake, 'GET', `/${EP}/status/${run.body.id}`);
    return ['COMPLETED', 'FAILED', 'CANCELLED', 'TIMED_OUT'].includes(s.body.status) ? s.body : undefined;
  });
}

describe('FakeRunPod serverless + worker-comfyui', () => {
  let fake: FakeRunPod;
  let comfies: ScriptedComfyUI[];

  afterEach(async () => {
    await fake.stop();
  });

  describe('with the official runpod-sdk client', () => {
    beforeEach(async () => {
      ({ fake, comfies } = makeFake({ comfy: { executionMs: 30 } }));
      await fake.start();
    });

    it('runs a job: run -> status polling until COMPLETED with worker-comfyui 5.x output', async () => {
      const endpoint = runpodSdk(fake.apiKey, { baseUrl: fake.serverlessBaseUrl }).endpoint(EP);
      const run = await endpoint.run({ input: { workflow: SAVE_WORKFLOW } });
      expect(run).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}-u1$/), status: 'IN_QUEUE' });
      const done = await waitUntil(async () => {
        const s = await endpoint.status(run.id);
        return s.completed ? s : undefined;
      });
      expect(done).toMatchObject({ id: run.id, status: 'COMPLETED', started: true, completed: true, succeeded: true });
      expect(typeof done.delayTime).toBe('number');
      expect(typeof done.executionTime).toBe('number');
      expect(done.workerId).toMatch(/^[a-z0-9]{14}$/);
      expect(done.output.images).toEqual([{ filename: 'test_00001_.png', type: 'base64', data: expect.any(String) }]);
      const png = Buffer.from(done.output.images[0].data, 'base64');
      expect(png.subarray(0, 4)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
      expect(done.output.images[0].data).not.toMatch(/^data:/);
      // The worker really talked to ComfyUI: POST /prompt with client_id.
      expect(comfies[0].prompts[0].body).toMatchObject({ prompt: SAVE_WORKFLOW, client_id: expect.any(String) });

      const [job] = fake.serverlessJobs();
      expect(job).toMatchObject({ id: run.id, status: 'COMPLETED', billedSeconds: 1 });
      expect(job.billedUsd).toBeCloseTo(0.00031, 10);
    });

    it('runSync, health and stream', async () => {
      const endpoint = runpodSdk(fake.apiKey, { baseUrl: fake.serverlessBaseUrl }).endpoint(EP);
      const result = await endpoint.runSync({ input: { workflow: SAVE_WORKFLOW } }, 10_000);
      expect(result).toMatchObject({ id: expect.stringMatching(/^sync-/), status: 'COMPLETED', completed: true, succeeded: true });
      expect(result.output.images).toHaveLength(1);

      const health = await endpoint.health();
      expect(health).toEqual({
        jobs: { completed: 1, failed: 0, inProgress: 0, inQueue: 0, retried: 0 },
        workers: { idle: 1, initializing: 0, ready: 1, running: 0, throttled: 0, unhealthy: 0 },
      });

      const run = await endpoint.run({ input: { workflow: SAVE_WORKFLOW } });
      const chunks = await endpoint.stream(run.id);
      expect(chunks).toEqual([{ output: { images: [expect.objectContaining({ type: 'base64' })] } }]);
      expect((await sls(fake, 'GET', `/${EP}/stream/${run.id}`)).body).toEqual({ status: 'COMPLETED', stream: [] });
    });
  });

  describe('queue control', () => {
    beforeEach(async () => {
      ({ fake, comfies } = makeFake({ comfy: { executionMs: 60_000 } }));
      await fake.start();
    });

    it('cancels an in-progress job and purges queued ones (runpod-sdk)', async () => {
      const endpoint = runpodSdk(fake.apiKey, { baseUrl: fake.serverlessBaseUrl }).endpoint(EP);
      const a = await endpoint.run({ input: { workflow: SAVE_WORKFLOW } });
      await waitUntil(async () => ((await endpoint.status(a.id)).status === 'IN_PROGRESS' ? true : undefined));
      const inProgress = await endpoint.status(a.id);
      expect(inProgress).toMatchObject({ status: 'IN_PROGRESS', input: { workflow: SAVE_WORKFLOW }, delayTime: expect.any(Number) });
      const b = await endpoint.run({ input: { workflow: SAVE_WORKFLOW } });
      const c = await endpoint.run({ input: { workflow: SAVE_WORKFLOW } });
      expect((await endpoint.health()).jobs).toMatchObject({ inProgress: 1, inQueue: 2 });
      expect((await endpoint.health()).workers).toMatchObject({ running: 1, idle: 0 });

      expect(await endpoint.purgeQueue()).toEqual({ removed: 2, status: 'completed' });
      expect((await sls(fake, 'GET', `/${EP}/status/${b.id}`)).status).toBe(404);
      expect((await sls(fake, 'GET', `/${EP}/status/${c.id}`)).status).toBe(404);

      expect(await endpoint.cancel(a.id)).toEqual({ id: a.id, status: 'CANCELLED' });
      expect(await endpoint.status(a.id)).toMatchObject({ status: 'CANCELLED', completed: true, succeeded: false });
      expect((await endpoint.health()).workers).toMatchObject({ idle: 1, running: 0 });
      expect(fake.serverlessJobs().find((j) => j.id === a.id)?.billedSeconds).toBe(1);
    });

    it('checks auth (Bearer or raw key), unknown endpoint and unknown job', async () => {
      expect((await sls(fake, 'GET', `/${EP}/health`, undefined, fake.apiKey)).status).toBe(200);
      expect((await sls(fake, 'GET', `/${EP}/health`, undefined, 'Bearer nope')).status).toBe(401);
      expect((await sls(fake, 'GET', `/${EP}/health`, undefined, '')).status).toBe(401);
      expect((await sls(fake, 'GET', '/nope/health')).status).toBe(404);
      expect((await sls(fake, 'GET', `/${EP}/status/00000000-0000-0000-0000-000000000000-u1`)).status).toBe(404);
      expect((await sls(fake, 'POST', `/${EP}/run`, { workflow: {} })).status).toBe(400);
      fake.faults.rejectAllKeys();
      expect((await sls(fake, 'GET', `/${EP}/health`)).status).toBe(401);
    });

    it('a worker dying mid-job fails the job the way worker-comfyui does, and shows as unhealthy', async () => {
      const run = await sls(fake, 'POST', `/${EP}/run`, { input: { workflow: SAVE_WORKFLOW } });
      await waitUntil(async () => ((await sls(fake, 'GET', `/${EP}/status/${run.body.id}`)).body.status === 'IN_PROGRESS' ? true : undefined));
      await waitUntil(() => (comfies[0].prompts.length ? true : undefined));
      await fake.faults.killServerlessWorker(EP);
      const done = await waitUntil(async () => {
        const s = await sls(fake, 'GET', `/${EP}/status/${run.body.id}`);
        return s.body.status === 'FAILED' ? s.body : undefined;
      });
      expect(done.error).toBe('WebSocket communication error: ComfyUI HTTP unreachable during websocket reconnect');
      const health = await sls(fake, 'GET', `/${EP}/health`);
      expect(health.body.workers).toMatchObject({ unhealthy: 1, idle: 0 });
      // With no healthy worker, new jobs wait in the queue.
      const next = await sls(fake, 'POST', `/${EP}/run`, { input: { workflow: SAVE_WORKFLOW } });
      expect((await sls(fake, 'GET', `/${EP}/status/${next.body.id}`)).body.status).toBe('IN_QUEUE');
    });

    it('a throttled endpoint keeps jobs IN_QUEUE and counts its workers as throttled until supply returns', async () => {
      fake.faults.throttleServerless(EP);
      const run = await sls(fake, 'POST', `/${EP}/run`, { input: { workflow: SAVE_WORKFLOW } });
      expect((await sls(fake, 'GET', `/${EP}/status/${run.body.id}`)).body.status).toBe('IN_QUEUE');
      const health = await sls(fake, 'GET', `/${EP}/health`);
      expect(health.body).toMatchObject({ jobs: { inQueue: 1, inProgress: 0 }, workers: { throttled: 1, idle: 0, ready: 0, running: 0 } });
      fake.faults.throttleServerless(EP, false);
      await waitUntil(async () => ((await sls(fake, 'GET', `/${EP}/status/${run.body.id}`)).body.status === 'IN_PROGRESS' ? true : undefined));
      expect((await sls(fake, 'GET', `/${EP}/health`)).body.workers).toMatchObject({ throttled: 0, running: 1 });
    });
  });

  describe('worker-comfyui handler results', () => {
    beforeEach(async () => {
      ({ fake, comfies } = makeFake({ comfy: { executionMs: 5, checkpoints: ['sd15.safetensors'] } }));
      await fake.start();
    });

    it('skips temp images, ignores VHS gifs, and reports success_no_images', async () => {
      const mixed = await runToEnd(fake, {
        workflow: { ...SAVE_WORKFLOW, '3': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } } },
      });
      expect(mixed.status).toBe('COMPLETED');
      expect(mixed.output.images.map((i: { filename: string }) => i.filename)).toEqual(['test_00001_.png']);

      const video = await runToEnd(fake, {
        workflow: { '1': SAVE_WORKFLOW['1'], '2': { class_type: 'VHS_VideoCombine', inputs: { images: ['1', 0], filename_prefix: 'vid' } } },
      });
      expect(video).toMatchObject({ status: 'COMPLETED', output: { status: 'success_no_images', images: [] } });
    });

    it('uploads input images and fails validation like the real handler', async () => {
      const withImage = await runToEnd(fake, {
        workflow: { '1': { class_type: 'LoadImage', inputs: { image: 'in.png' } }, '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } } },
        images: [{ name: 'in.png', image: `data:image/png;base64,${Buffer.from('png').toString('base64')}` }],
      });
      expect(withImage.status).toBe('COMPLETED');
      expect(comfies[0].uploads).toEqual(['in.png']);

      const missing = await runToEnd(fake, { prompt: {} });
      expect(missing).toMatchObject({ status: 'FAILED', error: "Missing 'workflow' parameter" });
      expect(missing.output).toBeUndefined();

      const badImages = await runToEnd(fake, { workflow: SAVE_WORKFLOW, images: [{ name: 'x' }] });
      expect(badImages.error).toBe("'images' must be a list of objects with 'name' and 'image' keys");

      const ckpt = await runToEnd(fake, {
        workflow: { '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'missing.safetensors' } }, ...SAVE_WORKFLOW },
      });
      expect(ckpt.status).toBe('FAILED');
      expect(ckpt.error).toMatch(/^Workflow validation failed:\n• Node 4 \(errors\): /);
      expect(ckpt.error).toContain('Available checkpoint models: sd15.safetensors');

      const unknownNode = await runToEnd(fake, { workflow: { '1': { class_type: 'Foo', inputs: {} } } });
      expect(unknownNode.error).toMatch(/^Cannot execute because node Foo does not exist\.\. Raw response: /);
    });

    it('turns a ComfyUI execution_error into FAILED "Job processing failed" with details', async () => {
      const failed = await runToEnd(fake, {
        workflow: { '1': SAVE_WORKFLOW['1'], '2': { class_type: 'SimRaise', inputs: { message: 'CUDA out of memory' } } },
      });
      expect(failed).toMatchObject({
        status: 'FAILED',
        error: 'Job processing failed',
        output: { details: ['Workflow execution error: Node Type: SimRaise, Node ID: 2, Message: CUDA out of memory'] },
      });
      expect(typeof failed.executionTime).toBe('number');
    });

    it('injects infrastructure / workflow failures, and retries a FAILED job under the same id', async () => {
      fake.faults.failNextJobs(1, 'infrastructure');
      fake.faults.failNextJobs(1, 'workflow');
      const infra = await runToEnd(fake, { workflow: SAVE_WORKFLOW });
      expect(infra.status).toBe('FAILED');
      expect(JSON.parse(infra.error)).toMatchObject({ error_type: expect.any(String), error_message: expect.any(String), worker_id: infra.workerId });
      const wf = await runToEnd(fake, { workflow: SAVE_WORKFLOW });
      expect(wf.error).toMatch(/^Workflow validation failed/);

      const retry = await sls(fake, 'POST', `/${EP}/retry/${infra.id}`);
      expect(retry.body).toEqual({ id: infra.id, status: 'IN_QUEUE' });
      const again = await waitUntil(async () => {
        const s = await sls(fake, 'GET', `/${EP}/status/${infra.id}`);
        return s.body.status === 'COMPLETED' ? s.body : undefined;
      });
      expect(again.output.images).toHaveLength(1);
      expect((await sls(fake, 'POST', `/${EP}/retry/${infra.id}`)).status).toBe(400);
      expect((await sls(fake, 'GET', `/${EP}/health`)).body.jobs.retried).toBe(1);
      expect(fake.serverlessJobs().find((j) => j.id === infra.id)).toMatchObject({ retried: 1, billedSeconds: 2 });
    });

    it('POSTs the /status body to the webhook on completion', async () => {
      const received: unknown[] = [];
      const hook: Server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          received.push(JSON.parse(Buffer.concat(chunks).toString()));
          res.writeHead(200).end();
        });
      });
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
        const run = await sls(fake, 'POST', `/${EP}/run`, { input: { workflow: SAVE_WORKFLOW }, webhook: url });
        const body = await waitUntil(() => received[0] as any);
        expect(body).toMatchObject({ id: run.body.id, status: 'COMPLETED', output: { images: [expect.any(Object)] } });
      } finally {
        await new Promise<void>((r) => hook.close(() => r()));
      }
    });
  });

  describe('with the default FakeComfyUI (../comfyui)', () => {
    beforeEach(async () => {
      fake = new FakeRunPod({ worker: { historyPollMs: 10, checkServerRetries: 5, checkServerIntervalMs: 10 } });
      await fake.start();
    });

    it('drives it over HTTP like worker-comfyui (the result depends on how complete FakeComfyUI is)', async () => {
      const probe = await fetch(`${fake.serverlessBaseUrl}/${EP}/health`, { headers: { authorization: fake.apiKey } });
      expect(probe.status).toBe(200);
      const done = await runToEnd(fake, { workflow: SAVE_WORKFLOW });
      if (done.status === 'COMPLETED') {
        expect(done.output.images).toEqual([expect.objectContaining({ type: 'base64', data: expect.any(String) })]);
      } else {
        // FakeComfyUI skeleton without POST /prompt: the worker reports what the real handler would.
        expect(done).toMatchObject({ status: 'FAILED', error: expect.stringMatching(/^Error queuing workflow: 404 Client Error/) });
      }
    });
  });

  describe('time: billing, executionTimeout, ttl and retention follow the injected clock', () => {
    let clock: FakeClock;
    /**
     * Read by the workers' ComfyUI at each run. A test that must act while a job is IN_PROGRESS (real time)
     * gives it longer than a few round trips can take on a busy machine; 300 ms was one slow answer away from
     * the job finishing first.
     */
    let comfy: { executionMs: number };
    beforeEach(async () => {
      clock = new FakeClock();
      comfy = { executionMs: 300 };
      ({ fake, comfies } = makeFake({ clock, comfy }));
      await fake.start();
    });

    it('records delayTime/executionTime in ms and bills execution rounded up to the second', async () => {
      comfy.executionMs = 2000;
      const run = await sls(fake, 'POST', `/${EP}/run`, { input: { workflow: SAVE_WORKFLOW } });
      await waitUntil(async () => ((await sls(fake, 'GET', `/${EP}/status/${run.body.id}`)).body.status === 'IN_PROGRESS' ? true : undefined));
      clock.advance(2500);
      const done = await waitUntil(async () => {
        const s = await sls(fake, 'GET', `/${EP}/status/${run.body.id}`);
        return s.body.status === 'COMPLETED' ? s.body : undefined;
      });
      expect(done.executionTime).toBe(2500);
      expect(done.delayTime).toBe(0);
      expect(fake.serverlessJobs()[0]).toMatchObject({ executionTimeMs: 2500, delayTimeMs: 0, billedSeconds: 3 });
      expect(fake.totalServerlessBilledUsd()).toBeCloseTo(3 * 0.00031, 10);

      // /run results are kept 30 minutes after completion, then 404.
      clock.advance(29 * MINUTE);
      expect((await sls(fake, 'GET', `/${EP}/status/${run.body.id}`)).status).toBe(200);
      clock.advance(2 * MINUTE);
      expect((await sls(fake, 'GET', `/${EP}/status/${run.body.id}`)).status).toBe(404);
      expect(fake.serverlessJobs()[0]).toMatchObject({ status: 'COMPLETED', deleted: true });
    });

    it('keeps /runsync results one minute', async () => {
      const res = await sls(fake, 'POST', `/${EP}/runsync?wait=5000`, { input: { workflow: SAVE_WORKFLOW } });
      expect(res.body).toMatchObject({ id: expect.stringMatching(/^sync-/), status: 'COMPLETED' });
      clock.advance(61 * SECOND);
      expect((await sls(fake, 'GET', `/${EP}/status/${res.body.id}`)).status).toBe(404);
    });

    it('times a job out after policy.executionTimeout and deletes it after policy.ttl', async () => {
      comfy.executionMs = 10_000;
      const slow = await sls(fake, 'POST', `/${EP}/run`, { input: { workflow: SAVE_WORKFLOW }, policy: { executionTimeout: 5000, ttl: 60_000 } });
      await waitUntil(async () => ((await sls(fake, 'GET', `/${EP}/status/${slow.body.id}`)).body.status === 'IN_PROGRESS' ? true : undefined));
      const queued = await sls(fake, 'POST', `/${EP}/run`, { input: { workflow: SAVE_WORKFLOW }, policy: { ttl: 10_000 } });
      clock.advance(6000);
      const timedOut = await sls(fake, 'GET', `/${EP}/status/${slow.body.id}`);
      expect(timedOut.body).toMatchObject({ status: 'TIMED_OUT', executionTime: 6000 });
      clock.advance(5000);
      expect((await sls(fake, 'GET', `/${EP}/status/${queued.body.id}`)).status).toBe(404);
    });
  });
});
