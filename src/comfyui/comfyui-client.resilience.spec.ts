import { FakeComfyUI } from '../../test/sim/comfyui/fake-comfyui';
import { ComfyUiClient } from './comfyui-client';
import {
  ComfyAbortedError,
  ComfyDeadlineError,
  ComfyExecutionError,
  ComfyInterruptedError,
  ComfyPromptLostError,
  ComfyUnavailableError,
  isComfyInfrastructureError,
} from './comfyui.errors';
import type { ComfyProgress } from './comfyui.types';
import {
  closedPort,
  FAST,
  pngWorkflow,
  RecordingComfyLogger,
  samplerWorkflow,
  until,
} from './testing/comfyui-test-kit';

describe('ComfyUiClient when things go wrong', () => {
  let fake: FakeComfyUI;
  let url: string;
  let logger: RecordingComfyLogger;
  const client = (options: ConstructorParameters<typeof ComfyUiClient>[1] = {}) =>
    new ComfyUiClient(url, { ...FAST, logger, ...options });

  beforeEach(async () => {
    // KSampler steps take 10 ms each, so a 50-step job runs ~0.5 s: long enough to act on, short for the suite.
    fake = new FakeComfyUI({ executionMsPerNode: 2, samplerStepMs: 10 });
    url = await fake.listen();
    logger = new RecordingComfyLogger();
  });
  afterEach(async () => {
    await fake.close();
  });

  /** Starts a run and resolves its prompt id once the sampler is running (first `progress`). */
  const startSampling = (c: ComfyUiClient, steps = 50, options: Parameters<ComfyUiClient['run']>[1] = {}) => {
    let promptId = '';
    let sampling = false;
    const run = c.run(samplerWorkflow(steps), {
      ...options,
      onSubmitted: (id) => {
        promptId = id;
      },
      onProgress: (p) => {
        if (p.kind === 'progress') sampling = true;
        options.onProgress?.(p);
      },
    });
    run.catch(() => undefined); // observed by each test
    const started = until(() => sampling).then(() => promptId);
    return { run, started };
  };

  describe('websocket trouble', () => {
    it('the socket dropping mid-job (no reconnect) still completes, by polling /history', async () => {
      fake.dropSocketsAfter({ afterEvent: 'executing', node: '3' });
      const result = await client({ websocketReconnectAttempts: 0 }).run(samplerWorkflow(5));
      expect(result.completedVia).toBe('history');
      expect(result.outputs.map((o) => o.filename)).toEqual(['ComfyUI_00001_.png']);
      // the final executing{node:null} went to nobody: the socket was gone
      const final = fake.wsMessages.find((m) => m.type === 'executing' && (m.data as any).node === null);
      expect(final?.delivered).toBe(0);
    });

    it('after a drop it reconnects with the same clientId and gets progress and the final message again', async () => {
      fake.dropSocketsAfter({ afterEvent: 'executing', node: '4' });
      const progress: ComfyProgress[] = [];
      const result = await client({ websocketReconnectAttempts: 3 }).run(samplerWorkflow(30), {
        onProgress: (p) => progress.push(p),
      });
      expect(result.completedVia).toBe('websocket');
      expect(progress.some((p) => p.kind === 'progress' && p.value === 30)).toBe(true);
    });

    it('a websocket that never connects: the job completes by polling', async () => {
      const c = client({ websocketUrl: `ws://127.0.0.1:${await closedPort()}` });
      const result = await c.run(pngWorkflow('nows'));
      expect(result.completedVia).toBe('history');
      expect(result.outputs.map((o) => o.filename)).toEqual(['nows_00001_.png']);
      const file = await c.download(result.outputs[0]);
      expect(file.data.equals(fake.readFile('nows_00001_.png')!)).toBe(true);
    });

    it('without a websocket an execution error is still typed, from the history status messages', async () => {
      fake.failNextPrompt({ nodeId: '2', exceptionMessage: 'bad pixels' });
      const c = client({ websocketUrl: `ws://127.0.0.1:${await closedPort()}` });
      const error = await c.run(pngWorkflow()).catch((e) => e);
      expect(error).toBeInstanceOf(ComfyExecutionError);
      expect(error).toMatchObject({ nodeId: '2', nodeType: 'SaveImage', exceptionMessage: 'bad pixels' });
    });
  });

  describe('lost prompts and dead servers', () => {
    it('a running prompt that vanishes (no history, not queued) → ComfyPromptLostError (infrastructure)', async () => {
      const { run, started } = startSampling(client());
      fake.vanishPrompt(await started);
      const error = await run.catch((e) => e);
      expect(error).toBeInstanceOf(ComfyPromptLostError);
      expect(error.kind).toBe('infrastructure');
    });

    it('a pending prompt that vanishes from the queue → ComfyPromptLostError', async () => {
      const c = client();
      const first = startSampling(c, 50);
      await first.started;
      let pendingId = '';
      const second = c.run(pngWorkflow('never'), { onSubmitted: (id) => void (pendingId = id) });
      await until(() => pendingId !== '' && fake.queue.pending.some((i) => i[1] === pendingId));
      fake.vanishPrompt(pendingId);
      await expect(second).rejects.toBeInstanceOf(ComfyPromptLostError);
      await expect(first.run).resolves.toMatchObject({ completedVia: 'websocket' });
    });

    it('the server dying mid-job → an infrastructure error quickly, not a hang', async () => {
      const { run, started } = startSampling(client());
      await started;
      const t0 = Date.now();
      await fake.die();
      const error = await run.catch((e) => e);
      expect(isComfyInfrastructureError(error)).toBe(true);
      expect(error).toBeInstanceOf(ComfyUnavailableError);
      expect(Date.now() - t0).toBeLessThan(3000);
    });

    it('a server that is down from the start → ComfyUnavailableError on submit', async () => {
      const c = new ComfyUiClient(`http://127.0.0.1:${await closedPort()}`, { ...FAST, logger });
      const error = await c.run(pngWorkflow()).catch((e) => e);
      expect(error).toBeInstanceOf(ComfyUnavailableError);
      expect(error.code).toBe('ECONNREFUSED');
    });
  });

  describe('cancel', () => {
    it('a queued prompt: removed from the queue; its run ends with ComfyInterruptedError; the running one goes on', async () => {
      const c = client();
      const first = startSampling(c, 30);
      await first.started;
      let queuedId = '';
      const queued = c.run(pngWorkflow('queued'), { onSubmitted: (id) => void (queuedId = id) });
      queued.catch(() => undefined);
      await until(() => queuedId !== '' && fake.queue.pending.some((i) => i[1] === queuedId));

      expect(await c.cancel(queuedId)).toBe('dequeued');
      const error = await queued.catch((e) => e);
      expect(error).toBeInstanceOf(ComfyInterruptedError);
      expect(error.kind).toBe('cancelled');
      expect(fake.queue.pending).toEqual([]);
      await expect(first.run).resolves.toMatchObject({ outputs: [expect.objectContaining({ nodeId: '9' })] });
      expect(fake.history.has(queuedId)).toBe(false);
    });

    it('a running prompt: /interrupt for it; its run ends with ComfyInterruptedError at the running node', async () => {
      const c = client();
      const { run, started } = startSampling(c, 50);
      const promptId = await started;
      expect(await c.cancel(promptId)).toBe('interrupted');
      const error = await run.catch((e) => e);
      expect(error).toBeInstanceOf(ComfyInterruptedError);
      expect(error).toMatchObject({ promptId, nodeId: '3', nodeType: 'KSampler', kind: 'cancelled' });
      expect(fake.history.get(promptId)?.status?.status_str).toBe('error');
    });

    it('from another client instance (another process): the waiting run still ends with ComfyInterruptedError', async () => {
      const { run, started } = startSampling(client(), 50);
      expect(await client().cancel(await started)).toBe('interrupted');
      await expect(run).rejects.toBeInstanceOf(ComfyInterruptedError);
    });

    it('does not interrupt somebody else: an unknown or finished prompt is "not-found" and the running one goes on', async () => {
      const c = client();
      const done = await c.run(pngWorkflow('done'));
      const { run, started } = startSampling(c, 20);
      await started;
      expect(await c.cancel(done.promptId)).toBe('not-found');
      expect(await c.cancel('8b1e6f0e-0000-4000-8000-000000000000')).toBe('not-found');
      await expect(run).resolves.toMatchObject({ completedVia: 'websocket' });
    });
  });

  describe('re-attach (waitForCompletion of a prompt submitted elsewhere)', () => {
    it('with the same clientId: events flow to the new socket, and it completes', async () => {
      const clientId = 'job-7-attempt-1';
      const { promptId } = await client().submit(samplerWorkflow(20), { clientId });
      const progress: ComfyProgress[] = [];
      const result = await client().waitForCompletion(promptId, clientId, {
        onProgress: (p) => progress.push(p),
      });
      expect(result.outputs.map((o) => o.nodeId)).toEqual(['9']);
      expect(progress.some((p) => p.kind === 'progress')).toBe(true);
    });

    it('with a fresh clientId (no events for it): completes by polling', async () => {
      const { promptId } = await client().submit(samplerWorkflow(10), { clientId: 'old-process' });
      const result = await client().waitForCompletion(promptId);
      expect(result.completedVia).toBe('history');
      expect(result.outputs.map((o) => o.nodeId)).toEqual(['9']);
    });

    it('a prompt that already finished is answered from history right away', async () => {
      const first = await client().run(pngWorkflow('earlier'));
      const t0 = Date.now();
      const again = await client({ connectedPollIntervalMs: 60_000 }).waitForCompletion(first.promptId);
      expect(again.outputs).toEqual(first.outputs);
      expect(Date.now() - t0).toBeLessThan(1000);
    });

    it('a prompt this server does not know (e.g. it restarted) → ComfyPromptLostError', async () => {
      await expect(client().waitForCompletion('5f0c3a52-1111-4111-8111-111111111111')).rejects.toBeInstanceOf(
        ComfyPromptLostError,
      );
    });
  });

  describe('stopping the wait', () => {
    it('an AbortSignal stops waiting with ComfyAbortedError; the prompt itself goes on', async () => {
      const controller = new AbortController();
      const c = client();
      const { run, started } = startSampling(c, 50, { signal: controller.signal });
      const promptId = await started;
      controller.abort();
      await expect(run).rejects.toBeInstanceOf(ComfyAbortedError);
      expect(fake.runningPromptId).toBe(promptId);
      expect(await c.cancel(promptId)).toBe('interrupted');
    });

    it('an already aborted signal rejects at once', async () => {
      await expect(
        client().waitForCompletion('x', undefined, { signal: AbortSignal.abort() }),
      ).rejects.toBeInstanceOf(ComfyAbortedError);
    });

    it('the overall deadline → ComfyDeadlineError', async () => {
      const { run } = startSampling(client(), 50, { timeoutMs: 150 });
      const error = await run.catch((e) => e);
      expect(error).toBeInstanceOf(ComfyDeadlineError);
      expect(error.kind).toBe('infrastructure');
    });
  });
});
