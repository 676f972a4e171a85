import { CallWrapper, ComfyApi, type NodeData, PromptBuilder } from '@saintno/comfyui-sdk';
import { FakeComfyUI } from './fake-comfyui';
import { decodePng, encodePng, solidFrame } from './media';
import { emptyImageWorkflow, txt2imgWorkflow } from './test-helpers';

/**
 * An independent client against the fake: @saintno/comfyui-sdk (installed 0.3.1; the reference read 0.2.32).
 * It pings GET /prompt, reads /system_stats, probes /object_info/<Crystools node> and /manager/version,
 * connects /ws?clientId=, POSTs /prompt, tracks executing/executed/execution_* and status→/queue→/history,
 * uploads via multipart and downloads via /view.
 */
type Outcome = { ok: true; output: any } | { ok: false; error: Error };

/** Our test workflows in the SDK's NodeData type (it wants `_meta` on every node). */
const asNodes = (wf: Record<string, unknown>): NodeData => wf as unknown as NodeData;

function runWorkflow(api: ComfyApi, wf: PromptBuilder<any, any, NodeData>): Promise<Outcome> {
  return new Promise((resolve) => {
    // run()'s own promise can hang on some paths (its status-poll path resolves onFinished but never the
    // awaited executing-promise), so completion is taken from the callbacks, as the SDK README does.
    void new CallWrapper(api, wf)
      .onFinished((output) => resolve({ ok: true, output }))
      .onFailed((error) => resolve({ ok: false, error }))
      .run();
  });
}

/** An SDK client on `fake`, ready and with its websocket registered at the fake. */
async function connectSdk(fake: FakeComfyUI, clientId: string): Promise<ComfyApi> {
  const api = new ComfyApi(fake.url, clientId);
  api.init(2, 100);
  await api.waitForReady();
  // Wait (up to a generous deadline, for a busy machine) until the SDK's socket is registered.
  const deadline = Date.now() + 15_000;
  while (!fake.connectedClients.includes(clientId)) {
    if (Date.now() > deadline) throw new Error('the SDK did not connect its websocket in time');
    await new Promise((r) => setTimeout(r, 10));
  }
  return api;
}

describe('@saintno/comfyui-sdk against FakeComfyUI', () => {
  let fc: FakeComfyUI;
  let api: ComfyApi;

  beforeEach(async () => {
    fc = new FakeComfyUI({ executionMsPerNode: 5 });
    await fc.listen();
    api = await connectSdk(fc, 'sdk-test-client');
  });
  afterEach(async () => {
    api.destroy();
    await fc.close();
  });

  it('initialises (ping, system_stats, object_info probe) and connects its websocket', async () => {
    expect(fc.connectedClients).toEqual(['sdk-test-client']);
    expect(api.osType).toBe('linux');
    expect(await api.getCheckpoints()).toContain('v1-5-pruned-emaonly.safetensors');
    expect(await api.getNodeDefs('Primitive boolean [Crystools]')).toBeNull();
  });

  it('runs EmptyImage → SaveImage and downloads the exact output bytes', async () => {
    const wf = new PromptBuilder(asNodes(emptyImageWorkflow('sdk', 0, 8)), ['color'], ['images'])
      .setInputNode('color', '1.inputs.color')
      .setOutputNode('images', '2')
      .input('color', 0x00ff00);
    const res = await runWorkflow(api, wf);
    if (!res.ok) throw res.error;
    const images = res.output.images.images as { filename: string; subfolder: string; type: string }[];
    expect(images).toEqual([{ filename: 'sdk_00001_.png', subfolder: '', type: 'output' }]);
    const blob = await api.getImage(images[0]);
    const bytes = Buffer.from(await blob.arrayBuffer());
    expect(bytes.equals(fc.readFile('sdk_00001_.png')!)).toBe(true);
    expect([...decodePng(bytes)!.frame.rgb.subarray(0, 3)]).toEqual([0, 255, 0]);
    expect(fc.prompts[0].body).toMatchObject({ client_id: 'sdk-test-client' });
  });

  it('uploads an image (uploadImage) and runs LoadImage → PreviewImage on it', async () => {
    const up = await api.uploadImage(new Uint8Array(encodePng(solidFrame(3, 3, 0x0000ff))), 'sdk-in.png');
    expect(up).not.toBe(false);
    if (up === false) return;
    expect(up.info).toMatchObject({
      name: 'sdk-in.png',
      filename: 'sdk-in.png',
      subfolder: '',
      type: 'input',
    });
    const wf = new PromptBuilder(
      asNodes({
        '1': { class_type: 'LoadImage', inputs: { image: 'x' } },
        '2': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
      }),
      ['image'],
      ['preview'],
    )
      .setInputNode('image', '1.inputs.image')
      .setOutputNode('preview', '2')
      .input('image', up.info.filename);
    const res = await runWorkflow(api, wf);
    if (!res.ok) throw res.error;
    const img = res.output.preview.images[0];
    expect(img.type).toBe('temp');
    const px = decodePng(Buffer.from(await (await api.getImage(img)).arrayBuffer()))!;
    expect([...px.frame.rgb.subarray(0, 3)]).toEqual([0, 0, 255]);
  });

  it('runs the simulated txt2img graph (progress events reach the SDK)', async () => {
    let progressEvents = 0;
    const wf = new PromptBuilder(asNodes(txt2imgWorkflow(5, 4)), ['seed'], ['images'])
      .setInputNode('seed', '3.inputs.seed')
      .setOutputNode('images', '9')
      .input('seed', 123);
    const res = await new Promise<Outcome>((resolve) => {
      void new CallWrapper(api, wf)
        .onProgress(() => progressEvents++)
        .onFinished((output) => resolve({ ok: true, output }))
        .onFailed((error) => resolve({ ok: false, error }))
        .run();
    });
    if (!res.ok) throw res.error;
    expect(res.output.images.images).toHaveLength(1);
    expect(progressEvents).toBeGreaterThan(0);
  });

  it('reports an execution_error through onFailed', async () => {
    // The SDK reads /queue on every `status`; one that comes back after the prompt has ended makes it report
    // "WentMissingError" instead of the execution_error (a 10 ms prompt lost that race under load). The status
    // messages come when the prompt is queued and picked up, so here the prompt samples for ~2 s (10 steps of
    // 200 ms: few timers, so a busy machine does not stretch it much) before its SaveImage fails, and those
    // reads come back while it still runs.
    const slow = new FakeComfyUI({ executionMsPerNode: 5, samplerStepMs: 200 });
    await slow.listen();
    const slowApi = await connectSdk(slow, 'sdk-slow-client');
    slow.failNextPrompt({ nodeId: '9', exceptionType: 'RuntimeError', exceptionMessage: 'boom' });
    const wf = new PromptBuilder(asNodes(txt2imgWorkflow(5, 10)), [] as string[], ['images']).setOutputNode(
      'images',
      '9',
    );
    const res = await runWorkflow(slowApi, wf).finally(async () => {
      slowApi.destroy();
      await slow.close();
    });
    expect(res.ok).toBe(false);
    if (res.ok) return;
    expect(res.error.name).toBe('CustomEventError');
    expect(res.error.message).toBe('RuntimeError');
  });

  it('a validation failure (unknown node) is surfaced by the SDK as an enqueue failure', async () => {
    const wf = new PromptBuilder(
      asNodes({ ...emptyImageWorkflow(), '3': { class_type: 'Nope', inputs: {} } }),
      [] as string[],
      ['images'],
    ).setOutputNode('images', '2');
    const res = await runWorkflow(api, wf);
    expect(res.ok).toBe(false);
    expect(fc.prompts[0].status).toBe(400);
  });
});
