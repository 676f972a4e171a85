import { FakeComfyUI } from '../../test/sim/comfyui/fake-comfyui';
import { encodePng, solidFrame } from '../../test/sim/comfyui/media';
import { ComfyUiClient } from './comfyui-client';
import { ComfyUiClientFactory } from './comfyui-client.factory';
import { ComfyUiHealthProbe } from './comfyui-health';
import {
  ComfyExecutionError,
  ComfyRequestError,
  ComfyUnavailableError,
  ComfyWorkflowError,
  isComfyInfrastructureError,
  isComfyWorkflowError,
} from './comfyui.errors';
import type { ComfyProgress } from './comfyui.types';
import {
  closedPort,
  FAST,
  NO_TIMED_POLLS,
  pngWorkflow,
  RecordingComfyLogger,
  samplerWorkflow,
} from './testing/comfyui-test-kit';

describe('ComfyUiClient against the fake ComfyUI', () => {
  let fake: FakeComfyUI;
  let client: ComfyUiClient;
  let logger: RecordingComfyLogger;

  beforeEach(async () => {
    fake = new FakeComfyUI({ executionMsPerNode: 2, samplerStepMs: 2 });
    const url = await fake.listen();
    logger = new RecordingComfyLogger();
    // These runs complete over the websocket; with no timed safety-net polls, every request they make is one the
    // server caused, so the request log is the same on an idle and on a loaded machine (the polls themselves are
    // covered in comfyui-client.resilience.spec.ts).
    client = new ComfyUiClient(url, { ...FAST, ...NO_TIMED_POLLS, logger });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('runs EmptyImage → SaveImage, noticed over the websocket, and downloads the exact bytes the server stored', async () => {
    const submitted: string[] = [];
    const result = await client.run(pngWorkflow('unit'), { onSubmitted: (id) => void submitted.push(id) });

    expect(submitted).toEqual([result.promptId]);
    expect(result.completedVia).toBe('websocket');
    expect(result.outputs).toEqual([
      {
        nodeId: '2',
        kind: 'images',
        filename: 'unit_00001_.png',
        subfolder: '',
        type: 'output',
        temp: false,
        contentType: 'image/png',
      },
    ]);
    // the prompt went out as reference §2 says: {prompt, client_id}
    expect(fake.prompts[0].body).toMatchObject({ prompt: pngWorkflow('unit'), client_id: result.clientId });

    const file = await client.download(result.outputs[0]);
    expect(file.contentType).toBe('image/png');
    expect(file.data.equals(fake.readFile('unit_00001_.png')!)).toBe(true);
    // Submitted on an open socket: no poll before the final `executing`, one history read after it. (A timed
    // safety-net poll could add GET /history + GET /queue on a slow machine; NO_TIMED_POLLS rules those out.)
    expect(fake.requests).toEqual(['POST /prompt', `GET /history/${result.promptId}`, 'GET /view']);
  });

  it('lists a core SaveVideo .mp4 (images + animated) and downloads it byte-identical as video/mp4', async () => {
    const result = await client.run({
      '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 3, color: 0x00ff00 } },
      '2': { class_type: 'CreateVideo', inputs: { images: ['1', 0], fps: 24 } },
      '3': {
        class_type: 'SaveVideo',
        inputs: { video: ['2', 0], filename_prefix: 'video/ComfyUI', format: 'auto', codec: 'auto' },
      },
    });
    expect(result.outputs).toEqual([
      expect.objectContaining({
        nodeId: '3',
        kind: 'images',
        filename: 'ComfyUI_00001_.mp4',
        subfolder: 'video',
        animated: true,
        contentType: 'video/mp4',
      }),
    ]);
    const file = await client.download(result.outputs[0]);
    expect(file.contentType).toBe('video/mp4');
    expect(file.data.equals(fake.readFile('ComfyUI_00001_.mp4', 'video')!)).toBe(true);
  });

  it('lists VHS gifs (format, frame rate), audio, and marks PreviewImage files as temp', async () => {
    fake.putFile('voice.wav', Buffer.from('RIFF....WAVE'));
    const result = await client.run({
      '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 2, color: 0 } },
      '2': {
        class_type: 'VHS_VideoCombine',
        inputs: {
          images: ['1', 0],
          frame_rate: 8,
          loop_count: 0,
          filename_prefix: 'AnimateDiff',
          format: 'video/h264-mp4',
          pingpong: false,
          save_output: true,
        },
      },
      '3': { class_type: 'LoadAudio', inputs: { audio: 'voice.wav' } },
      '4': { class_type: 'SaveAudio', inputs: { audio: ['3', 0], filename_prefix: 'audio/ComfyUI' } },
      '5': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
    });
    const byNode = Object.fromEntries(result.outputs.map((o) => [o.nodeId, o]));
    expect(byNode['2']).toMatchObject({
      kind: 'gifs',
      filename: 'AnimateDiff_00001.mp4',
      type: 'output',
      temp: false,
      format: 'video/h264-mp4',
      frameRate: 8,
      contentType: 'video/mp4',
    });
    expect(byNode['4']).toMatchObject({
      kind: 'audio',
      filename: 'ComfyUI_00001_.flac',
      subfolder: 'audio',
      contentType: 'audio/flac',
    });
    expect(byNode['5']).toMatchObject({ kind: 'images', type: 'temp', temp: true });
    expect(result.outputs).toHaveLength(4); // a batch of 2 → two previews

    const gif = await client.download(byNode['2']);
    expect(gif.data.equals(fake.readFile('AnimateDiff_00001.mp4')!)).toBe(true);
    const audio = await client.download(byNode['4']);
    expect(audio.contentType).toBe('audio/flac');
    const preview = await client.download(byNode['5']);
    expect(preview.data.equals(fake.readFile(byNode['5'].filename, '', 'temp')!)).toBe(true);
  });

  it('download: guesses the type from the extension when the server says application/octet-stream; 404 is a ComfyRequestError', async () => {
    fake.putFile('clip.opus', Buffer.from('OggS-opus'), '', 'output');
    const file = await client.download({ filename: 'clip.opus', subfolder: '', type: 'output' });
    expect(file).toEqual({ data: Buffer.from('OggS-opus'), contentType: 'audio/opus' });

    const missing = await client
      .download({ filename: 'nope.png', subfolder: '', type: 'output' })
      .catch((e) => e);
    expect(missing).toBeInstanceOf(ComfyRequestError);
    expect(missing.status).toBe(404);
  });

  it('uploads input images (multipart image/overwrite/type) before the prompt; LoadImage reads them', async () => {
    const png = encodePng(solidFrame(4, 3, 0x102030));
    const result = await client.run(
      {
        '1': { class_type: 'LoadImage', inputs: { image: 'job-42.png' } },
        '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
        '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'inv/out' } },
      },
      { images: [{ name: 'job-42.png', data: png }] },
    );
    expect(result.uploadedImages).toEqual([{ name: 'job-42.png', subfolder: '', type: 'input' }]);
    expect(fake.readFile('job-42.png', '', 'input')!.equals(png)).toBe(true);
    expect(result.outputs.map((o) => [o.subfolder, o.filename])).toEqual([['inv', 'out_00001_.png']]);

    // overwrite=true: a second upload with other bytes replaces the file instead of renaming it
    const other = encodePng(solidFrame(2, 2, 0));
    expect(await client.uploadImage({ name: 'job-42.png', data: other })).toEqual({
      name: 'job-42.png',
      subfolder: '',
      type: 'input',
    });
    expect(fake.readFile('job-42.png', '', 'input')!.equals(other)).toBe(true);
    expect(await client.uploadImage({ name: 'x.png', data: other, subfolder: 'batch' })).toEqual({
      name: 'x.png',
      subfolder: 'batch',
      type: 'input',
    });
  });

  it('an unknown node class → ComfyWorkflowError carrying ComfyUI error type/message/extra_info (a workflow error)', async () => {
    const error = await client
      .run({
        '1': { class_type: 'NoSuchNode', inputs: {}, _meta: { title: 'Mystery' } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ComfyWorkflowError);
    expect(error.kind).toBe('workflow');
    expect(isComfyWorkflowError(error)).toBe(true);
    expect(error.type).toBe('missing_node_type');
    expect(error.comfyMessage).toBe("Node 'Mystery' not found. The custom node may not be installed.");
    expect(error.details).toBe("Node ID '#1'");
    expect(error.extraInfo).toMatchObject({ node_id: '1', class_type: 'NoSuchNode' });
    expect(error.nodeErrors).toEqual(
      fake.prompts[0].response && (fake.prompts[0].response as any).node_errors,
    );
    expect(error.message).toContain('not found');
  });

  it('failed input validation → ComfyWorkflowError with node_errors per node', async () => {
    const error = await client
      .run({
        '1': { class_type: 'EmptyImage', inputs: { width: 0, height: 8, batch_size: 1, color: 0 } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
      })
      .catch((e) => e);
    expect(error).toBeInstanceOf(ComfyWorkflowError);
    expect(error.type).toBe('prompt_outputs_failed_validation');
    expect(error.comfyMessage).toBe('Prompt outputs failed validation');
    expect(error.nodeErrors['1']).toMatchObject({
      class_type: 'EmptyImage',
      dependent_outputs: ['2'],
      errors: [expect.objectContaining({ type: 'value_smaller_than_min' })],
    });
    expect(error.message).toContain('node 1 (EmptyImage)');
  });

  it('rejects the UI format client-side with the "Save (API)" hint, before anything is sent', async () => {
    const error = await client.run({ nodes: [], links: [], version: 0.4 }).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyWorkflowError);
    expect(error.type).toBe('invalid_api_format');
    expect(error.message).toContain('Save (API)');
    expect(fake.prompts).toHaveLength(0);
  });

  it('an execution_error → ComfyExecutionError with node id, type, exception message/type and traceback', async () => {
    fake.failNextPrompt({ classType: 'SaveImage', exceptionMessage: 'disk full', exceptionType: 'OSError' });
    const error = await client.run(pngWorkflow('boom')).catch((e) => e);
    expect(error).toBeInstanceOf(ComfyExecutionError);
    expect(error).toMatchObject({
      kind: 'workflow',
      nodeId: '2',
      nodeType: 'SaveImage',
      exceptionMessage: 'disk full',
      exceptionType: 'OSError',
    });
    expect(error.traceback.length).toBeGreaterThan(0);
    expect(error.promptId).toBe(fake.prompts[0].response && (fake.prompts[0].response as any).prompt_id);
  });

  it('reports progress (sampler steps), executing nodes and execution_cached through onProgress', async () => {
    const events: ComfyProgress[] = [];
    await client.run(samplerWorkflow(4), { onProgress: (p) => events.push(p) });
    const steps = events.filter((e) => e.kind === 'progress' && e.nodeId === '3');
    expect(steps.map((e) => [e.value, e.max])).toEqual([
      [1, 4],
      [2, 4],
      [3, 4],
      [4, 4],
    ]);
    expect(steps[3].percent).toBe(100);
    expect(events.filter((e) => e.kind === 'executing').map((e) => e.nodeId)).toEqual(
      expect.arrayContaining(['4', '3', '8', '9']),
    );
    expect(events[0]).toMatchObject({ kind: 'cached', cachedNodeIds: [] });

    // the same workflow again: everything is cached, and onProgress says so
    const again: ComfyProgress[] = [];
    const second = await client.run(samplerWorkflow(4), {
      onProgress: (p) => {
        again.push(p);
        throw new Error('a broken callback must not break the wait');
      },
    });
    expect(second.outputs).toHaveLength(1);
    expect(again[0]).toMatchObject({ kind: 'cached', percent: 100 });
    expect(again[0].cachedNodeIds!.sort()).toEqual(['3', '4', '5', '6', '7', '8', '9']);
    expect(logger.warnings.some((w) => w.includes('onProgress callback threw'))).toBe(true);
  });

  it('never reads history early: a delayed history write after execution_success still completes', async () => {
    fake.setHistoryWriteDelay(150);
    const result = await client.run(pngWorkflow('late'));
    expect(result.completedVia).toBe('websocket');
    expect(result.outputs.map((o) => o.filename)).toEqual(['late_00001_.png']);
    // One history read, after the final `executing`: none at execution_success (it would have found nothing).
    expect(fake.requests.filter((r) => r.startsWith('GET /history'))).toEqual([
      `GET /history/${result.promptId}`,
    ]);
  });

  it('health: system stats parsed; the probe says up, and down for a closed port', async () => {
    const stats = await client.getSystemStats();
    expect(stats.os).toBe('linux');
    expect(stats.devices.length).toBeGreaterThan(0);
    expect(stats.devices[0]).toHaveProperty('type');
    expect(typeof stats.comfyuiVersion).toBe('string');

    const probe = new ComfyUiHealthProbe();
    expect(await probe.isUp(fake.url, 1000)).toBe(true);
    const dead = `http://127.0.0.1:${await closedPort()}`;
    expect(await probe.isUp(dead, 1000)).toBe(false);

    const down = new ComfyUiClient(dead, { ...FAST, logger });
    expect(await down.tryGetSystemStats()).toBeNull();
    const error = await down.getSystemStats().catch((e) => e);
    expect(error).toBeInstanceOf(ComfyUnavailableError);
    expect(error.code).toBe('ECONNREFUSED');
    expect(isComfyInfrastructureError(error)).toBe(true);
  });

  it('HTTP calls time out with ComfyUnavailableError (code TIMEOUT)', async () => {
    fake.setResponseDelay({ '/system_stats': 500 });
    const slow = new ComfyUiClient(fake.url, { ...FAST, requestTimeoutMs: 50, logger });
    const error = await slow.getSystemStats().catch((e) => e);
    expect(error).toBeInstanceOf(ComfyUnavailableError);
    expect(error.code).toBe('TIMEOUT');
  });

  it('the factory creates clients for a base URL (trailing slash tolerated)', async () => {
    const made = new ComfyUiClientFactory().create(`${fake.url}/`, { ...FAST, logger });
    expect(made.baseUrl).toBe(fake.url);
    expect((await made.getQueue()).running).toEqual([]);
  });
});
