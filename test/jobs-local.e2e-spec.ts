import { CloudHarness } from './support/cloud-harness';
import {
  MISSING_INPUT_WORKFLOW,
  pngWorkflow,
  slowWorkflow,
  UNKNOWN_NODE_WORKFLOW,
  videoWorkflow,
} from './support/workflows';
import { jobIdOfPrompt } from './support/prompts';

/** Jobs on local ComfyUI workers (fakes over real sockets); no RunPod key, so nothing can go to the cloud. */
describe('jobs on local workers', () => {
  let h: CloudHarness;

  afterEach(async () => {
    await h.close();
  });

  describe('with two workers', () => {
    beforeEach(async () => {
      h = await CloudHarness.start({
        localWorkers: 2,
        localComfy: { samplerStepMs: 40 },
        env: { RUNPOD_API_KEY: '' },
      });
    });

    it('runs a PNG workflow and serves the output byte-identical to what the worker wrote', async () => {
      const submit = await h.post('/api/jobs', { workflow: pngWorkflow('cat'), metadata: { user: 'alice' } });
      expect(submit.status).toBe(202);
      expect(submit.body).toMatchObject({
        id: expect.stringMatching(/^job-/),
        status: 'queued',
        requestedBackend: 'auto',
      });

      const job = await h.waitForJob(submit.body.id);
      expect(job).toMatchObject({
        status: 'completed',
        backend: 'local',
        attempts: 1,
        costUsd: 0,
        error: null,
        metadata: { user: 'alice' },
      });
      expect(job.durationMs).toBeGreaterThanOrEqual(0);
      expect(job.outputs).toEqual([
        {
          filename: 'cat_00001_.png',
          contentType: 'image/png',
          size: expect.any(Number),
          url: `/api/jobs/${job.id}/outputs/cat_00001_.png`,
        },
      ]);
      const worker = h.locals.find(
        (comfy) => comfy.url === (h.lifecycle && undefined) || comfy.readFile('cat_00001_.png'),
      )!;
      const written = worker.readFile('cat_00001_.png')!;
      const served = await h.outputBytes(job.id, 'cat_00001_.png');
      expect(served.status).toBe(200);
      expect(served.type).toBe('image/png');
      expect(served.data.equals(written)).toBe(true);
      expect(h.logger.has(new RegExp(`Processing job ${job.id} with local\\.\\.\\.`))).toBe(true);
      expect(h.logger.has(/Job completed\. Duration: \d+s, Cost: \$0\.0000/)).toBe(true);
    });

    it('serves a SaveVideo .mp4 byte-identical, as video/mp4', async () => {
      const job = await h.waitForJob(await h.submit({ workflow: videoWorkflow('teaser') }));
      expect(job.status).toBe('completed');
      const [output] = job.outputs;
      expect(output).toMatchObject({ filename: 'teaser_00001_.mp4', contentType: 'video/mp4' });
      const written = h.locals.map((comfy) => comfy.readFile('teaser_00001_.mp4')).find(Boolean)!;
      const served = await h.outputBytes(job.id, output.filename);
      expect(served.type).toBe('video/mp4');
      expect(served.data.equals(written)).toBe(true);
    });

    it('uploads input images before the prompt', async () => {
      const png = (
        await h.outputBytes(
          await h.waitForJob(await h.submit({ workflow: pngWorkflow('src') })).then((j) => j.id),
          'src_00001_.png',
        )
      ).data;
      const job = await h.waitForJob(
        await h.submit({
          workflow: {
            '1': { class_type: 'LoadImage', inputs: { image: 'mine.png' } },
            '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
            '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'inverted' } },
          },
          images: [{ name: 'mine.png', image: `data:image/png;base64,${png.toString('base64')}` }],
        }),
      );
      expect(job.status).toBe('completed');
      expect(job.outputs[0].filename).toBe('inverted_00001_.png');
    });

    it("fails a workflow ComfyUI refuses with ComfyUI's message, without retrying", async () => {
      const job = await h.waitForJob(await h.submit({ workflow: MISSING_INPUT_WORKFLOW }));
      expect(job.status).toBe('failed');
      expect(job.attempts).toBe(1);
      expect(job.error.kind).toBe('workflow');
      expect(job.error.message).toMatch(/no-such-input\.png/);
    });

    it('refuses at submit a workflow with a node type no local worker has, naming it (422)', async () => {
      // Local workers only, and their node classes are known (read when they turned healthy).
      const answer = await h.post('/api/jobs', { workflow: UNKNOWN_NODE_WORKFLOW });
      expect(answer.status).toBe(422);
      expect(answer.body.missing.nodes).toEqual(['NoSuchNodeAnywhere']);
    });

    it('rejects the UI format with a pointer to "Save (API)", and an oversized body with 413', async () => {
      const ui = await h.post('/api/jobs', {
        workflow: { nodes: [{ id: 1, type: 'SaveImage' }], links: [] },
      });
      expect(ui.status).toBe(400);
      expect(ui.body.message).toMatch(/Save \(API\)/);
      const missing = await h.post('/api/jobs', {});
      expect(missing.status).toBe(400);
      expect(missing.body.message).toMatch(/workflow/);
      const huge = await h.post('/api/jobs', {
        workflow: pngWorkflow(),
        images: [{ name: 'big.png', image: 'A'.repeat(26 * 1024 * 1024) }],
      });
      expect(huge.status).toBe(413);
      expect(huge.body).toMatchObject({
        statusCode: 413,
        message: expect.stringMatching(/larger than 25 MB/),
      });
    });

    it('cancels a queued job at once and a running job on its worker', async () => {
      // 200 steps x 40 ms: it would run for 8 s if the cancel did not stop it on the worker.
      const a = await h.submit({ workflow: slowWorkflow(200), backend: 'local' });
      const b = await h.submit({ workflow: slowWorkflow(40, 2), backend: 'local' });
      const c = await h.submit({ workflow: pngWorkflow('never'), backend: 'local' });
      await h.until(async () => (await h.get(`/api/jobs/${b}`)).body.status === 'running');
      const queued = await h.request('DELETE', `/api/jobs/${c}`);
      expect(queued.status).toBe(200);
      expect(queued.body.status).toBe('cancelled');

      await h.until(async () => (await h.get(`/api/jobs/${a}`)).body.progress?.value > 0);
      await h.request('DELETE', `/api/jobs/${a}`);
      const cancelled = await h.waitForJob(a);
      expect(cancelled).toMatchObject({ status: 'cancelled', error: { kind: 'cancelled' } });
      // The prompt was interrupted on the worker, not just forgotten by us.
      const worker = h.locals.find((comfy) => comfy.prompts.some((prompt) => jobIdOfPrompt(prompt) === a))!;
      const promptId = worker.prompts.find((prompt) => jobIdOfPrompt(prompt) === a)!.promptId;
      await h.until(
        () => worker.runningPromptId !== promptId && !JSON.stringify(worker.queue).includes(promptId!),
      );
      // Interrupted, not run to its end: the worker's history says so (a deadline shorter than the prompt's
      // 8 s would be a timing bet a busy machine can lose).
      expect(worker.history.get(promptId!)?.status?.status_str).toBe('error');
      expect(
        worker.history
          .get(promptId!)
          ?.status?.messages.some((message) => message[0] === 'execution_interrupted'),
      ).toBe(true);
      expect((await h.waitForJob(b)).status).toBe('completed');
    });

    it('runs higher priority first', async () => {
      // The blockers hold both workers until cancelled, so both jobs below are queued together however slowly
      // the machine submits them (a blocker that ends by itself could free a worker between the two submits).
      const blockers = [
        await h.submit({ workflow: slowWorkflow(1000) }),
        await h.submit({ workflow: slowWorkflow(1000, 3) }),
      ];
      await h.until(async () => (await h.get('/api/jobs?status=running')).body.count === 2);
      const low = await h.submit({ workflow: pngWorkflow('low'), priority: 0 });
      const high = await h.submit({ workflow: pngWorkflow('high'), priority: 10 });
      await h.until(async () => (await h.get('/api/jobs?status=queued')).body.count === 2);
      for (const id of blockers) await h.request('DELETE', `/api/jobs/${id}`);
      const [lowJob, highJob] = [await h.waitForJob(low), await h.waitForJob(high)];
      expect(Date.parse(highJob.startedAt)).toBeLessThanOrEqual(Date.parse(lowJob.startedAt));
      for (const id of blockers) expect((await h.waitForJob(id)).status).toBe('cancelled');
    });

    it('completes through history when the socket drops mid-job', async () => {
      for (const comfy of h.locals) comfy.dropSocketsAfter({ afterEvent: 'progress' });
      const job = await h.waitForJob(await h.submit({ workflow: slowWorkflow(5) }));
      expect(job.status).toBe('completed');
      expect(job.attempts).toBe(1);
    });

    it('retries a job on another worker when its worker dies mid-job', async () => {
      const id = await h.submit({ workflow: slowWorkflow(60) });
      // Seen on the worker itself, at once: the API shows progress only a second into a run, which left a
      // shorter job little time to be killed mid-run on a busy machine.
      await h.until(() => h.locals.some((comfy) => comfy.runningPromptId !== undefined));
      const first = (await h.get(`/api/jobs/${id}`)).body.workerId;
      const dying = h.locals.find((comfy) => comfy.runningPromptId !== undefined)!;
      await dying.die();
      const job = await h.waitForJob(id);
      expect(job).toMatchObject({ status: 'completed', attempts: 2, backend: 'local' });
      expect(job.workerId).not.toBe(first);
    });

    it('streams status and progress as Server-Sent Events until the job ends', async () => {
      const id = await h.submit({ workflow: slowWorkflow(5) });
      const response = await fetch(`${h.url}/api/jobs/${id}/events`);
      expect(response.headers.get('content-type')).toMatch(/text\/event-stream/);
      const text = await response.text();
      expect(text).toMatch(/event: status/);
      expect(text).toMatch(/event: progress/);
      expect(text).toMatch(/"status":"completed"/);
    });

    it('lists jobs newest first, filtered by status', async () => {
      const first = await h.waitForJob(await h.submit({ workflow: pngWorkflow('a') }));
      const second = await h.waitForJob(await h.submit({ workflow: pngWorkflow('b') }));
      const list = (await h.get('/api/jobs?status=completed&limit=10')).body;
      expect(list.jobs.map((job: any) => job.id).slice(0, 2)).toEqual([second.id, first.id]);
      expect((await h.get('/api/jobs?status=bogus')).status).toBe(400);
      expect((await h.get('/api/jobs/job-nope')).status).toBe(404);
    });
  });

  describe('registry and restart', () => {
    beforeEach(async () => {
      h = await CloudHarness.start({
        localWorkers: 1,
        localComfy: { samplerStepMs: 30 },
        env: { RUNPOD_API_KEY: '' },
      });
    });

    it('registers, lists and removes workers at run time, and keeps them across a restart', async () => {
      const extra = new (h.locals[0].constructor as any)();
      await extra.listen();
      try {
        const added = await h.post('/api/local/workers', { url: extra.url, name: 'studio' });
        expect(added.status).toBe(201);
        expect(added.body).toMatchObject({ name: 'studio', source: 'api', healthy: true, running: 0 });
        expect((await h.post('/api/local/workers', { url: extra.url })).status).toBe(409);
        expect((await h.post('/api/local/workers', { url: 'not a url' })).status).toBe(400);

        await h.stopApp();
        await h.startApp();
        const listed = (await h.get('/api/local/workers')).body.workers;
        expect(listed.map((worker: any) => worker.source).sort()).toEqual(['api', 'env']);

        expect((await h.request('DELETE', `/api/local/workers/${added.body.id}`)).status).toBe(204);
        expect((await h.get('/api/local/workers')).body.workers).toHaveLength(1);
        expect((await h.request('DELETE', '/api/local/workers/local-nope')).status).toBe(404);
      } finally {
        await extra.close();
      }
    });

    it('loses no job across a restart: the running one is re-attached, the queued one runs after', async () => {
      const running = await h.submit({ workflow: slowWorkflow(40) });
      const queued = await h.submit({ workflow: pngWorkflow('after') });
      await h.until(async () => (await h.get(`/api/jobs/${running}`)).body.progress?.value > 0);
      await h.stopApp();
      await h.startApp();
      const [first, second] = [await h.waitForJob(running), await h.waitForJob(queued)];
      expect(first).toMatchObject({ status: 'completed', attempts: 1 });
      expect(second).toMatchObject({ status: 'completed', attempts: 1 });
      // Each ran exactly once on the worker: the running one was not submitted again.
      expect(h.locals[0].prompts.filter((prompt) => prompt.status === 200)).toHaveLength(2);
      expect(h.logger.has(new RegExp(`Re-attaching job ${running}`))).toBe(true);
    });
  });
});
