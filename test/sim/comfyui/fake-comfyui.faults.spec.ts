import { FakeComfyUI } from './fake-comfyui';
import { emptyImageWorkflow, getJson, postJson, sleep, txt2imgWorkflow, WsClient } from './test-helpers';

/**
 * A prompt of LONG_STEPS sampler steps runs until the test interrupts it (100 s at 20 ms per step): what a test
 * does while a prompt runs, or waits behind it, never races the prompt's end on a slow machine.
 */
const LONG_STEPS = 5000;

describe('FakeComfyUI interrupt, queue control and fault injection', () => {
  let fc: FakeComfyUI;
  let base: string;
  let ws: WsClient;
  beforeEach(async () => {
    fc = new FakeComfyUI({ executionMsPerNode: 5, samplerStepMs: 20 });
    base = await fc.listen();
    ws = await WsClient.connect(base);
  });
  afterEach(async () => {
    await ws.close();
    await fc.close();
  });

  const submit = async (prompt: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
    const r = await postJson(`${base}/prompt`, { prompt, client_id: ws.clientId, ...extra });
    expect(r.status).toBe(200);
    return r.json.prompt_id as string;
  };

  it('POST /interrupt stops the running prompt: execution_interrupted, status, executing null; history says error', async () => {
    const pid = await submit(txt2imgWorkflow(1, LONG_STEPS));
    await ws.waitFor((m) => m.type === 'progress' && m.data.prompt_id === pid);
    // a targeted interrupt for another prompt is a no-op
    expect((await postJson(`${base}/interrupt`, { prompt_id: 'someone-else' })).text).toBe('');
    const r = await fetch(`${base}/interrupt`, { method: 'POST', body: JSON.stringify({ prompt_id: pid }) });
    expect(r.status).toBe(200);
    expect(await r.text()).toBe('');
    await ws.waitForDone(pid);
    const tail = ws.forPrompt(pid).slice(-2);
    expect(tail[0]).toEqual({
      type: 'execution_interrupted',
      data: {
        prompt_id: pid,
        node_id: '3',
        node_type: 'KSampler',
        executed: ['4', '6', '7', '5'],
        timestamp: expect.any(Number),
      },
    });
    expect(ws.messages.slice(-2).map((m) => m.type)).toEqual(['status', 'executing']);
    const entry = (await getJson(`${base}/history/${pid}`))[pid];
    expect(entry.status).toMatchObject({ status_str: 'error', completed: false });
    expect(entry.status.messages.map((m: [string]) => m[0])).toEqual([
      'execution_start',
      'execution_cached',
      'execution_interrupted',
    ]);
    const progress = ws.forPrompt(pid).filter((m) => m.type === 'progress').length;
    expect(progress).toBeLessThan(LONG_STEPS);
  });

  it('POST /queue delete removes pending items only; clear wipes pending; the running prompt is untouched', async () => {
    const running = await submit(txt2imgWorkflow(1, LONG_STEPS));
    const p1 = await submit(emptyImageWorkflow('a'));
    const p2 = await submit(emptyImageWorkflow('b'));
    const p3 = await submit(emptyImageWorkflow('c'));
    await ws.waitFor((m) => m.type === 'execution_start' && m.data.prompt_id === running);
    const q = await getJson(`${base}/queue`);
    expect(q.queue_running.map((i: unknown[]) => i[1])).toEqual([running]);
    expect(q.queue_pending.map((i: unknown[]) => i[1]).sort()).toEqual([p1, p2, p3].sort());
    expect(q.queue_pending[0]).toHaveLength(5);
    expect(await getJson(`${base}/prompt`)).toEqual({ exec_info: { queue_remaining: 4 } });

    expect((await postJson(`${base}/queue`, { delete: [p2, running] })).text).toBe('');
    expect(fc.queue.pending.map((i) => i[1])).toEqual([p1, p3]);
    expect(fc.queue.running.map((i) => i[1])).toEqual([running]);
    await postJson(`${base}/queue`, { clear: true });
    expect(fc.queue.pending).toEqual([]);
    // Untouched: it still runs, and goes on sampling after the delete and the clear.
    const stepsSoFar = ws.forPrompt(running).filter((m) => m.type === 'progress').length;
    await ws.waitFor(
      (m) => m.type === 'progress' && m.data.prompt_id === running && Number(m.data.value) > stepsSoFar,
    );
    expect(fc.queue.running.map((i) => i[1])).toEqual([running]);
    await postJson(`${base}/interrupt`, { prompt_id: running });
    await ws.waitForDone(running);
    expect([...fc.history.keys()]).toEqual([running]);
  });

  it('runs one prompt at a time, lowest number first (front:true jumps the queue)', async () => {
    // `first` runs until interrupted, so both others are queued behind it however slow the machine is.
    const first = await submit(txt2imgWorkflow(1, LONG_STEPS));
    const back = await submit(emptyImageWorkflow('back'));
    const front = await submit(emptyImageWorkflow('front'), { front: true });
    await postJson(`${base}/interrupt`, { prompt_id: first });
    await ws.waitForDone(back);
    expect([...fc.history.keys()]).toEqual([first, front, back]);
    const starts = ws.messages.filter((m) => m.type === 'execution_start').map((m) => m.data.prompt_id);
    expect(starts).toEqual([first, front, back]);
  });

  it('a websocket dropped mid-job does not stop the job: it goes on, a reconnect gets executing{node} and its events', async () => {
    fc.dropSocketsAfter({ afterEvent: 'executing', node: '3' });
    const pid = await submit(txt2imgWorkflow(1, LONG_STEPS));
    await ws.waitFor(() => false).catch(() => undefined); // rejects as soon as the socket is closed
    expect(ws.closed).toBe(true);
    const again = await WsClient.connect(base, ws.clientId);
    // same clientId while its prompt runs → the server re-sends executing{node} (no prompt_id)
    expect(again.messages[1]).toEqual({ type: 'executing', data: { node: '3' } });
    // the job went on sampling, and its events now reach the new socket
    await again.waitFor((m) => m.type === 'progress' && m.data.prompt_id === pid);
    await postJson(`${base}/interrupt`, { prompt_id: pid });
    await again.waitForDone(pid);
    const hist = await getJson(`${base}/history/${pid}`);
    expect(hist[pid].status.status_str).toBe('error');
    await again.close();
  });

  it('option dropSocketsAfterMessages drops every socket once, after N messages', async () => {
    const f2 = new FakeComfyUI({ executionMsPerNode: 5, dropSocketsAfterMessages: 3 });
    const url = await f2.listen();
    const c = await WsClient.connect(url);
    const r = await postJson(`${url}/prompt`, { prompt: emptyImageWorkflow(), client_id: c.clientId });
    await c.waitFor(() => false).catch(() => undefined); // rejects as soon as the socket is closed
    expect(c.closed).toBe(true);
    expect(c.messages.length).toBeLessThanOrEqual(3);
    const deadline = Date.now() + 15_000;
    while (!f2.history.has(r.json.prompt_id) && Date.now() < deadline) await sleep(10);
    expect(f2.history.get(r.json.prompt_id)?.status?.completed).toBe(true);
    await f2.close();
  });

  it('failNextPrompt → execution_error with the 10 documented keys; next prompt succeeds', async () => {
    fc.failNextPrompt({
      classType: 'ImageInvert',
      exceptionMessage: 'CUDA out of memory',
      exceptionType: 'torch.OutOfMemoryError',
    });
    const wf = {
      '1': { class_type: 'EmptyImage', inputs: { width: 4, height: 4, batch_size: 1, color: 0 } },
      '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
      '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'f' } },
    };
    const pid = await submit(wf);
    await ws.waitForDone(pid);
    const types = ws.forPrompt(pid).map((m) => m.type);
    expect(types.slice(-2)).toEqual(['execution_error', 'executing']);
    expect(types).not.toContain('execution_success');
    const err = ws.forPrompt(pid).find((m) => m.type === 'execution_error')!.data;
    expect(Object.keys(err).sort()).toEqual(
      [
        'prompt_id',
        'node_id',
        'node_type',
        'executed',
        'exception_message',
        'exception_type',
        'traceback',
        'current_inputs',
        'current_outputs',
        'timestamp',
      ].sort(),
    );
    expect(err).toMatchObject({
      node_id: '2',
      node_type: 'ImageInvert',
      executed: ['1'],
      exception_message: 'CUDA out of memory',
      exception_type: 'torch.OutOfMemoryError',
      current_outputs: ['1'],
    });
    const entry = fc.history.get(pid)!;
    expect(entry.status).toMatchObject({ status_str: 'error', completed: false });
    expect(entry.status!.messages[2][0]).toBe('execution_error');
    const ok = await submit(wf);
    await ws.waitForDone(ok);
    expect(fc.history.get(ok)?.status?.status_str).toBe('success');
    // node 1 was cached from the failed run
    expect(ws.forPrompt(ok).find((m) => m.type === 'execution_cached')!.data.nodes).toEqual(['1']);
  });

  it('die(): HTTP and websocket connections are destroyed, the running job never finishes; listen() again starts empty', async () => {
    const pid = await submit(txt2imgWorkflow(1, 50));
    await ws.waitFor((m) => m.type === 'progress');
    const port = new URL(base).port;
    await fc.die();
    expect(fc.isDead).toBe(true);
    await ws.waitFor(() => false, 1000).catch(() => undefined);
    expect(ws.closed).toBe(true);
    await expect(fetch(`${base}/prompt`)).rejects.toThrow();
    const url = await fc.listen(Number(port));
    expect(url).toBe(base);
    expect(await getJson(`${base}/history/${pid}`)).toEqual({});
    expect(await getJson(`${base}/queue`)).toEqual({ queue_running: [], queue_pending: [] });
  });

  it('vanishPrompt: the job disappears (no history), a status is broadcast', async () => {
    const pid = await submit(txt2imgWorkflow(1, 50));
    await ws.waitFor((m) => m.type === 'progress');
    expect(fc.vanishPrompt(pid)).toBe(true);
    await ws.waitFor(
      (m) =>
        m.type === 'status' &&
        (m.data.status as any).exec_info.queue_remaining === 0 &&
        ws.messages.indexOf(m) > 0,
    );
    expect(await getJson(`${base}/queue`)).toEqual({ queue_running: [], queue_pending: [] });
    expect(await getJson(`${base}/history/${pid}`)).toEqual({});
  });

  it('historyWriteDelayMs widens the real race: after execution_success, /history/{id} is {} until executing(null)', async () => {
    fc.setHistoryWriteDelay(150);
    const pid = await submit(emptyImageWorkflow());
    await ws.waitFor((m) => m.type === 'execution_success' && m.data.prompt_id === pid);
    expect(await getJson(`${base}/history/${pid}`)).toEqual({});
    await ws.waitForDone(pid);
    expect(Object.keys(await getJson(`${base}/history/${pid}`))).toEqual([pid]);
  });

  it('403 on a loopback Host with a different Origin; slow responses per path', async () => {
    const res = await fetch(`${base}/system_stats`, { headers: { origin: 'http://evil.example' } });
    expect(res.status).toBe(403);
    const same = await fetch(`${base}/system_stats`, { headers: { origin: base } });
    expect(same.status).toBe(200);
    // Only /object_info is delayed: /system_stats, asked after it, answers first. (A delay is a lower bound on
    // any machine; "answers first" leaves a slow one a whole second, where "within 150 ms" did not.)
    fc.setResponseDelay({ '/object_info': 1000 });
    const t0 = Date.now();
    const order: string[] = [];
    const slow = getJson(`${base}/api/object_info`).then(() => order.push('object_info'));
    await getJson(`${base}/system_stats`).then(() => order.push('system_stats'));
    await slow;
    expect(Date.now() - t0).toBeGreaterThanOrEqual(990);
    expect(order).toEqual(['system_stats', 'object_info']);
  });
});
