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
  NO_TIMED_POLLS,
  pngWorkflow,
  RecordingComfyLogger,
  samplerWorkflow,
  until,
  UNTIL_CANCELLED_STEPS,
} from './testing/comfyui-test-kit';

describe('ComfyUiClient when things go wrong', () => {
  let fake: FakeComfyUI;
  let url: string;
  let logger: RecordingComfyLogger;
  const client = (options: ConstructorParameters<typeof ComfyUiClient>[1] = {}) =>
    new ComfyUiClient(url, { ...FAST, logger, ...options });

  beforeEach(async () => {
    // KSampler steps take 10 ms each. A test that must act while a prompt runs (or waits behind it) does not
    // race a short job: it runs one of UNTIL_CANCELLED_STEPS and cancels it, so a slow machine changes nothing.
    fake = new FakeComfyUI({ executionMsPerNode: 2, samplerStepMs: 10 });
    url = await fake.listen();
    logger = new RecordingComfyLogger();
  });
  afterEach(async () => {
    await fake.close();
  });

  /** Starts a run and resolves its prompt id once the sampler is running (first `progress`). */
  const startSampling = (
    c: ComfyUiClient,
    steps = UNTIL_CANCELLED_STEPS,
    options: Parameters<ComfyUiClient['run']>[1] = {},
  ) => {
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
    let ended = false;
    // The outcome itself is observed by each test.
    void run.then(
      () => void (ended = true),
      () => void (ended = true),
    );
    // Stops waiting when the run ends first (e.g. at its deadline before any step on a slow machine). A test
    // that never awaits `started` must not leave a rejection behind: it would fail whichever spec runs next.
    const started = until(() => sampling || ended).then(() => {
      if (!sampling) throw new Error('the run ended before its sampler started');
      return promptId;
    });
    started.catch(() => undefined);
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
      // Our prompt waits behind a blocker while every socket drops, and runs only once we have reconnected: the
      // reconnect is never racing the job. No timed polls: only the new socket can complete the run.
      const blocker = await client().submit(samplerWorkflow(UNTIL_CANCELLED_STEPS), { clientId: 'blocker' });
      let ours = { promptId: '', clientId: '' };
      const progress: ComfyProgress[] = [];
      const run = client({ ...NO_TIMED_POLLS, websocketReconnectAttempts: 3 }).run(samplerWorkflow(30), {
        onSubmitted: (promptId, clientId) => void (ours = { promptId, clientId }),
        onProgress: (p) => progress.push(p),
      });
      run.catch(() => undefined);
      await until(() => fake.queue.pending.some((item) => item[1] === ours.promptId));
      const connectionsBefore = fake.websocketConnections;
      fake.dropSockets();
      await until(
        () => fake.websocketConnections > connectionsBefore && fake.connectedClients.includes(ours.clientId),
      );
      expect(await client().cancel(blocker.promptId)).toBe('interrupted');

      const result = await run;
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

    it('a pending prompt that vanishes from the queue → ComfyPromptLostError; the running one goes on', async () => {
      const c = client();
      const first = startSampling(c);
      const firstId = await first.started;
      let pendingId = '';
      const second = c.run(pngWorkflow('never'), { onSubmitted: (id) => void (pendingId = id) });
      await until(() => pendingId !== '' && fake.queue.pending.some((i) => i[1] === pendingId));
      fake.vanishPrompt(pendingId);
      await expect(second).rejects.toBeInstanceOf(ComfyPromptLostError);
      expect(fake.runningPromptId).toBe(firstId);
      expect(await c.cancel(firstId)).toBe('interrupted');
      await expect(first.run).rejects.toBeInstanceOf(ComfyInterruptedError);
    });

    it('the server dying mid-job → an infrastructure error quickly, not a hang', async () => {
      const { run, started } = startSampling(client());
      await started;
      const t0 = Date.now();
      await fake.die();
      const error = await run.catch((e) => e);
      expect(isComfyInfrastructureError(error)).toBe(true);
      expect(error).toBeInstanceOf(ComfyUnavailableError);
      // Ended by the failed-poll rule (a few 40 ms polls), not by a deadline; the bound only tells "no hang" from
      // "quick" and leaves a loaded machine plenty of room.
      expect(error.message).toMatch(/failed polls/);
      expect(Date.now() - t0).toBeLessThan(15_000);
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
      const first = startSampling(c);
      const firstId = await first.started;
      let queuedId = '';
      const queued = c.run(pngWorkflow('queued'), { onSubmitted: (id) => void (queuedId = id) });
      queued.catch(() => undefined);
      await until(() => queuedId !== '' && fake.queue.pending.some((i) => i[1] === queuedId));

      expect(await c.cancel(queuedId)).toBe('dequeued');
      const error = await queued.catch((e) => e);
      expect(error).toBeInstanceOf(ComfyInterruptedError);
      expect(error.kind).toBe('cancelled');
      expect(fake.queue.pending).toEqual([]);
      expect(fake.runningPromptId).toBe(firstId);
      expect(fake.requests).not.toContain('POST /interrupt');
      expect(await c.cancel(firstId)).toBe('interrupted');
      await expect(first.run).rejects.toBeInstanceOf(ComfyInterruptedError);
      expect(fake.history.has(queuedId)).toBe(false);
    });

    it('a running prompt: /interrupt for it; its run ends with ComfyInterruptedError at the running node', async () => {
      const c = client();
      const { run, started } = startSampling(c);
      const promptId = await started;
      expect(await c.cancel(promptId)).toBe('interrupted');
      const error = await run.catch((e) => e);
      expect(error).toBeInstanceOf(ComfyInterruptedError);
      expect(error).toMatchObject({ promptId, nodeId: '3', nodeType: 'KSampler', kind: 'cancelled' });
      expect(fake.history.get(promptId)?.status?.status_str).toBe('error');
    });

    it('from another client instance (another process): the waiting run still ends with ComfyInterruptedError', async () => {
      const { run, started } = startSampling(client());
      expect(await client().cancel(await started)).toBe('interrupted');
      await expect(run).rejects.toBeInstanceOf(ComfyInterruptedError);
    });

    it('does not interrupt somebody else: an unknown or finished prompt is "not-found" and the running one goes on', async () => {
      const c = client();
      const done = await c.run(pngWorkflow('done'));
      const { run, started } = startSampling(c);
      const promptId = await started;
      expect(await c.cancel(done.promptId)).toBe('not-found');
      expect(await c.cancel('8b1e6f0e-0000-4000-8000-000000000000')).toBe('not-found');
      expect(fake.runningPromptId).toBe(promptId);
      expect(fake.requests).not.toContain('POST /interrupt');
      expect(await c.cancel(promptId)).toBe('interrupted');
      await expect(run).rejects.toBeInstanceOf(ComfyInterruptedError);
    });
  });

  describe('re-attach (waitForCompletion of a prompt submitted elsewhere)', () => {
    it('with the same clientId: events flow to the new socket, and it completes', async () => {
      // The prompt waits behind a blocker until the re-attached socket is connected, so its events cannot all
      // have gone out before the socket was there, however slowly the machine connects it.
      const blocker = await client().submit(samplerWorkflow(UNTIL_CANCELLED_STEPS), { clientId: 'blocker' });
      const clientId = 'job-7-attempt-1';
      const { promptId } = await client().submit(samplerWorkflow(20), { clientId });
      const progress: ComfyProgress[] = [];
      const waiting = client().waitForCompletion(promptId, clientId, {
        onProgress: (p) => progress.push(p),
      });
      waiting.catch(() => undefined);
      await until(() => fake.connectedClients.includes(clientId));
      expect(await client().cancel(blocker.promptId)).toBe('interrupted');
      const result = await waiting;
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
      const before = fake.requests.length;
      // No timed polls: only the immediate first read can answer it (otherwise the test would time out).
      const again = await client(NO_TIMED_POLLS).waitForCompletion(first.promptId);
      expect(again.outputs).toEqual(first.outputs);
      expect(fake.requests.slice(before)).toEqual([`GET /history/${first.promptId}`]);
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
      const { run, started } = startSampling(c, UNTIL_CANCELLED_STEPS, { signal: controller.signal });
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
      const { run } = startSampling(client(), UNTIL_CANCELLED_STEPS, { timeoutMs: 150 });
      const error = await run.catch((e) => e);
      expect(error).toBeInstanceOf(ComfyDeadlineError);
      expect(error.kind).toBe('infrastructure');
    });
  });
});
