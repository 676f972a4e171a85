import { inflateSync } from 'node:zlib';
import { FakeComfyUI } from './fake-comfyui';
import { decodePng } from './media';
import { emptyImageWorkflow, getJson, postJson, txt2imgWorkflow, WsClient } from './test-helpers';

describe('FakeComfyUI protocol (real sockets)', () => {
  let fc: FakeComfyUI;
  let base: string;
  let ws: WsClient;

  beforeEach(async () => {
    fc = new FakeComfyUI({ executionMsPerNode: 5 });
    base = await fc.listen();
    ws = await WsClient.connect(base);
  });
  afterEach(async () => {
    await ws.close();
    await fc.close();
  });

  it('sends the status message with sid on connect, Python-formatted', () => {
    expect(ws.messages[0]).toEqual({
      type: 'status',
      data: { status: { exec_info: { queue_remaining: 0 } }, sid: ws.clientId },
    });
    expect(ws.rawText[0].startsWith('{"type": "status", "data": ')).toBe(true);
  });

  it('mints a 32-hex sid when clientId is absent', async () => {
    const anon = await WsClient.connect(base, null);
    expect(anon.messages[0].data.sid).toMatch(/^[0-9a-f]{32}$/);
    await anon.close();
  });

  it('emits the reference §4.4 message order for EmptyImage → SaveImage, history before executing(null)', async () => {
    // Checked synchronously inside the socket's message handler: was history written when executing(null) arrived?
    let historyAtFinal: boolean | undefined;
    ws.ws.on('message', (data) => {
      const m = JSON.parse((data as Buffer).toString('utf8')) as {
        type: string;
        data: { node?: unknown; prompt_id?: string };
      };
      if (m.type === 'executing' && m.data.node === null) historyAtFinal = fc.history.has(m.data.prompt_id!);
    });
    const { status, json } = await postJson(`${base}/prompt`, {
      prompt: emptyImageWorkflow(),
      client_id: ws.clientId,
    });
    expect(status).toBe(200);
    expect(json).toEqual({ prompt_id: expect.stringMatching(/^[0-9a-f-]{36}$/), number: 0, node_errors: {} });
    const pid = json.prompt_id as string;
    await ws.waitForDone(pid);

    const seq = ws.messages.slice(1).map((m) => {
      if (m.type === 'status') return `status(${(m.data.status as any).exec_info.queue_remaining})`;
      if (m.type === 'progress_state') {
        const nodes = m.data.nodes as Record<string, { state: string }>;
        return `progress_state(${Object.entries(nodes)
          .map(([k, v]) => `${k}:${v.state}`)
          .join(',')})`;
      }
      if (m.type === 'executing' || m.type === 'executed') return `${m.type}(${String(m.data.node)})`;
      return m.type;
    });
    expect(seq).toEqual([
      'status(1)',
      'status(1)',
      'execution_start',
      'execution_cached',
      'progress_state(1:running)',
      'executing(1)',
      'progress_state(1:finished)',
      'progress_state(1:finished,2:running)',
      'executing(2)',
      'executed(2)',
      'progress_state(1:finished,2:finished)',
      'execution_success',
      'status(0)',
      'executing(null)',
    ]);
    const byType = (t: string) => ws.forPrompt(pid).find((m) => m.type === t)!.data;
    expect(byType('execution_start')).toEqual({ prompt_id: pid, timestamp: expect.any(Number) });
    expect(byType('execution_cached')).toEqual({ nodes: [], prompt_id: pid, timestamp: expect.any(Number) });
    expect(ws.messages.find((m) => m.type === 'executing' && m.data.node === '1')!.data).toEqual({
      node: '1',
      display_node: '1',
      prompt_id: pid,
    });
    const executed = byType('executed');
    expect(executed).toEqual({
      node: '2',
      display_node: '2',
      output: { images: [{ filename: 'test_00001_.png', subfolder: '', type: 'output' }] },
      prompt_id: pid,
    });
    const final = ws.messages[ws.messages.length - 1].data;
    expect(final).toEqual({ node: null, prompt_id: pid });

    expect(historyAtFinal).toBe(true);
    const hist = await getJson(`${base}/history/${pid}`);
    expect(Object.keys(hist)).toEqual([pid]);
    const entry = hist[pid];
    expect(entry.prompt).toEqual([
      0,
      pid,
      expect.any(Object),
      { client_id: ws.clientId, create_time: expect.any(Number) },
      ['2'],
    ]);
    expect(entry.outputs).toEqual({
      '2': { images: [{ filename: 'test_00001_.png', subfolder: '', type: 'output' }] },
    });
    expect(entry.status.status_str).toBe('success');
    expect(entry.status.completed).toBe(true);
    expect(entry.status.messages.map((m: [string, unknown]) => m[0])).toEqual([
      'execution_start',
      'execution_cached',
      'execution_success',
    ]);
    expect(entry.meta).toEqual({
      '2': { node_id: '2', display_node: '2', parent_node: null, real_node_id: '2' },
    });
  });

  it('serves the exact written bytes on /view, a valid PNG with the right colour and prompt metadata', async () => {
    const { json } = await postJson(`${base}/prompt`, {
      prompt: emptyImageWorkflow('red', 0xff0000, 8),
      client_id: ws.clientId,
    });
    await ws.waitForDone(json.prompt_id);
    const img = (await getJson(`${base}/history/${json.prompt_id}`))[json.prompt_id].outputs['2'].images[0];
    const res = await fetch(
      `${base}/view?filename=${encodeURIComponent(img.filename)}&subfolder=${img.subfolder}&type=${img.type}`,
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/png');
    expect(res.headers.get('content-disposition')).toBe(`filename="${img.filename}"`);
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.equals(fc.readFile(img.filename)!)).toBe(true);
    const png = decodePng(bytes)!;
    expect(png.frame.width).toBe(8);
    expect([...png.frame.rgb.subarray(0, 3)]).toEqual([255, 0, 0]);
    // IDAT inflates (real zlib) and a tEXt "prompt" chunk carries the API prompt
    expect(bytes.includes(Buffer.from('tEXtprompt\0'))).toBe(true);
    expect(() =>
      inflateSync(bytes.subarray(bytes.indexOf('IDAT') + 4, bytes.indexOf('IEND') - 8)),
    ).not.toThrow();
    // second run with a different prefix counter
    const again = await postJson(`${base}/prompt`, {
      prompt: emptyImageWorkflow('red', 0x00ff00, 8),
      client_id: ws.clientId,
    });
    await ws.waitForDone(again.json.prompt_id);
    expect(fc.files.filter((f) => f.type === 'output').map((f) => f.filename)).toEqual([
      'red_00001_.png',
      'red_00002_.png',
    ]);
  });

  it('re-running an identical prompt is fully cached: no executing for nodes, executed re-sent with the same output', async () => {
    const first = await postJson(`${base}/prompt`, { prompt: emptyImageWorkflow(), client_id: ws.clientId });
    await ws.waitForDone(first.json.prompt_id);
    const second = await postJson(`${base}/prompt`, { prompt: emptyImageWorkflow(), client_id: ws.clientId });
    const pid = second.json.prompt_id as string;
    expect(second.json.number).toBe(1);
    await ws.waitForDone(pid);
    const types = ws.forPrompt(pid).map((m) => m.type);
    expect(types).toEqual([
      'execution_start',
      'execution_cached',
      'executed',
      'execution_success',
      'executing',
    ]);
    expect(ws.forPrompt(pid)[1].data.nodes).toEqual(['1', '2']);
    expect(ws.forPrompt(pid)[2].data.output).toEqual({
      images: [{ filename: 'test_00001_.png', subfolder: '', type: 'output' }],
    });
    expect(fc.files.filter((f) => f.type === 'output')).toHaveLength(1);
  });

  it('KSampler (simulated) sends progress per step; output is deterministic in the seed', async () => {
    const run = async (seed: number) => {
      const { json } = await postJson(`${base}/prompt`, {
        prompt: txt2imgWorkflow(seed, 3),
        client_id: ws.clientId,
      });
      await ws.waitForDone(json.prompt_id);
      const img = (await getJson(`${base}/history/${json.prompt_id}`))[json.prompt_id].outputs['9'].images[0];
      return {
        pid: json.prompt_id as string,
        bytes: Buffer.from(
          await (await fetch(`${base}/view?filename=${img.filename}&type=output`)).arrayBuffer(),
        ),
      };
    };
    const a = await run(1);
    const progress = ws.forPrompt(a.pid).filter((m) => m.type === 'progress');
    expect(progress.map((m) => m.data)).toEqual(
      [1, 2, 3].map((v) => ({ value: v, max: 3, prompt_id: a.pid, node: '3' })),
    );
    fc.clearCache();
    const b = await run(1);
    const c = await run(2);
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(a.bytes.equals(c.bytes)).toBe(false);
  });

  it('serves routes under /api too, GET /prompt, /queue, /system_stats, /features, /object_info, /', async () => {
    expect((await fetch(`${base}/`)).status).toBe(200);
    expect(await getJson(`${base}/api/prompt`)).toEqual({ exec_info: { queue_remaining: 0 } });
    expect(await getJson(`${base}/queue`)).toEqual({ queue_running: [], queue_pending: [] });
    const stats = await getJson(`${base}/api/system_stats`);
    expect(stats.system).toMatchObject({ os: 'linux', comfyui_version: '0.26.0', embedded_python: false });
    expect(stats.devices[0]).toMatchObject({ type: 'cuda', index: 0 });
    expect(await getJson(`${base}/features`)).toMatchObject({
      supports_preview_metadata: true,
      max_upload_size: 104857600,
    });
    const info = await getJson(`${base}/object_info`);
    for (const n of [
      'EmptyImage',
      'SaveImage',
      'PreviewImage',
      'LoadImage',
      'ImageInvert',
      'ImageScale',
      'SaveAnimatedWEBP',
      'SaveVideo',
      'CreateVideo',
      'CheckpointLoaderSimple',
      'KSampler',
    ]) {
      expect(info[n]).toBeDefined();
    }
    expect(info.EmptyImage).toMatchObject({
      input: { required: { width: ['INT', { default: 512, min: 1, max: 16384, step: 1 }] } },
      input_order: { required: ['width', 'height', 'batch_size', 'color'] },
      output: ['IMAGE'],
      output_is_list: [false],
      output_name: ['IMAGE'],
      name: 'EmptyImage',
      python_module: 'nodes',
      category: 'image',
      output_node: false,
    });
    expect(info.LoadImage.input.required.image[0]).toEqual(['example.png']);
    expect(info.CheckpointLoaderSimple.input.required.ckpt_name[0]).toContain(
      'v1-5-pruned-emaonly.safetensors',
    );
    expect(await getJson(`${base}/object_info/SaveImage`)).toEqual({ SaveImage: info.SaveImage });
    expect(await getJson(`${base}/object_info/Nope`)).toEqual({});
    expect(await getJson(`${base}/models`)).toContain('checkpoints');
    expect((await fetch(`${base}/models/nope`)).status).toBe(404);
    const free = await postJson(`${base}/free`, { unload_models: true, free_memory: true });
    expect(free).toMatchObject({ status: 200, text: '' });
  });

  it('GET /history honours max_items / offset and POST /history delete / clear', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { json } = await postJson(`${base}/prompt`, {
        prompt: emptyImageWorkflow(`h${i}`),
        client_id: ws.clientId,
      });
      await ws.waitForDone(json.prompt_id);
      ids.push(json.prompt_id);
    }
    expect(Object.keys(await getJson(`${base}/history`))).toEqual(ids);
    expect(Object.keys(await getJson(`${base}/history?max_items=2`))).toEqual(ids.slice(1));
    expect(Object.keys(await getJson(`${base}/history?offset=1&max_items=1`))).toEqual([ids[1]]);
    expect(await getJson(`${base}/history/unknown`)).toEqual({});
    expect((await postJson(`${base}/history`, { delete: [ids[0]] })).text).toBe('');
    expect(Object.keys(await getJson(`${base}/history`))).toEqual(ids.slice(1));
    await postJson(`${base}/history`, { clear: true });
    expect(await getJson(`${base}/history`)).toEqual({});
  });

  it('sends per-prompt events only to the submitting client; status is broadcast', async () => {
    const other = await WsClient.connect(base);
    const { json } = await postJson(`${base}/prompt`, {
      prompt: emptyImageWorkflow(),
      client_id: ws.clientId,
    });
    await ws.waitForDone(json.prompt_id);
    await other.waitFor((m) => m.type === 'status' && other.messages.length === 4);
    expect(other.messages.map((m) => m.type)).toEqual(['status', 'status', 'status', 'status']);
    await other.close();
  });

  it('with no client_id: no per-prompt events, but progress/progress_state are broadcast and history is written', async () => {
    const { json } = await postJson(`${base}/prompt`, { prompt: txt2imgWorkflow(7, 2) });
    await ws.waitFor(
      (m) =>
        m.type === 'status' &&
        (m.data.status as any).exec_info.queue_remaining === 0 &&
        ws.messages.indexOf(m) > 0,
    );
    const types = new Set(ws.messages.map((m) => m.type));
    expect(types).toEqual(new Set(['status', 'progress_state', 'progress']));
    expect(fc.history.get(json.prompt_id)?.status?.status_str).toBe('success');
  });

  it('answers the feature_flags handshake and sends type-4 previews when the client supports metadata', async () => {
    const client = await WsClient.connect(base, 'flags-client', {
      featureFlags: { supports_preview_metadata: true },
    });
    await client.waitFor((m) => m.type === 'feature_flags');
    const { json } = await postJson(`${base}/prompt`, {
      prompt: txt2imgWorkflow(3, 2),
      client_id: 'flags-client',
      extra_data: { preview_method: 'auto' },
    });
    await client.waitForDone(json.prompt_id);
    expect(client.binary).toHaveLength(2);
    const frame = client.binary[0];
    expect(frame.readUInt32BE(0)).toBe(4);
    const len = frame.readUInt32BE(4);
    const meta = JSON.parse(frame.subarray(8, 8 + len).toString());
    expect(meta).toMatchObject({ node_id: '3', prompt_id: json.prompt_id, image_type: 'image/png' });
    expect(decodePng(frame.subarray(8 + len))).toBeDefined();
    await client.close();
  });
});
