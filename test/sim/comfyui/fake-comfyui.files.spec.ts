import { FakeComfyUI } from './fake-comfyui';
import { decodePng, encodePng, solidFrame } from './media';
import { getJson, postJson, WsClient } from './test-helpers';

async function upload(
  base: string,
  name: string,
  bytes: Buffer,
  fields: Record<string, string> = {},
): Promise<{ status: number; json: any }> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), name);
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  const res = await fetch(`${base}/upload/image`, { method: 'POST', body: form });
  const text = await res.text();
  return { status: res.status, json: res.ok && text ? JSON.parse(text) : undefined };
}

describe('FakeComfyUI files: upload, LoadImage, /view, video/audio outputs', () => {
  let fc: FakeComfyUI;
  let base: string;
  let ws: WsClient;
  beforeEach(async () => {
    fc = new FakeComfyUI({ executionMsPerNode: 1 });
    base = await fc.listen();
    ws = await WsClient.connect(base);
  });
  afterEach(async () => {
    await ws.close();
    await fc.close();
  });

  const run = async (prompt: Record<string, unknown>) => {
    const r = await postJson(`${base}/prompt`, { prompt, client_id: ws.clientId });
    if (r.status !== 200) throw new Error(r.text);
    await ws.waitForDone(r.json.prompt_id);
    return (await getJson(`${base}/history/${r.json.prompt_id}`))[r.json.prompt_id];
  };

  it('upload → LoadImage reads the uploaded pixels; ImageInvert → SaveImage writes the inverse', async () => {
    const png = encodePng(solidFrame(4, 3, 0x102030));
    const up = await upload(base, 'in.png', png);
    expect(up).toEqual({ status: 200, json: { name: 'in.png', subfolder: '', type: 'input' } });
    expect(fc.readFile('in.png', '', 'input')!.equals(png)).toBe(true);
    const info = await getJson(`${base}/object_info/LoadImage`);
    expect(info.LoadImage.input.required.image[0]).toEqual(['example.png', 'in.png']);

    const entry = await run({
      '1': { class_type: 'LoadImage', inputs: { image: 'in.png' } },
      '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
      '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'inv/out' } },
    });
    expect(entry.outputs['3'].images).toEqual([
      { filename: 'out_00001_.png', subfolder: 'inv', type: 'output' },
    ]);
    const bytes = Buffer.from(
      await (await fetch(`${base}/view?filename=out_00001_.png&subfolder=inv&type=output`)).arrayBuffer(),
    );
    const out = decodePng(bytes)!;
    expect([out.frame.width, out.frame.height]).toEqual([4, 3]);
    expect([...out.frame.rgb.subarray(0, 3)]).toEqual([0xef, 0xdf, 0xcf]);
  });

  it('LoadImage with a file that is not in input/ fails validation like ComfyUI (custom_validation_failed)', async () => {
    const r = await postJson(`${base}/prompt`, {
      prompt: {
        '1': { class_type: 'LoadImage', inputs: { image: 'missing.png' } },
        '2': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
      },
    });
    expect(r.status).toBe(400);
    expect(r.json.node_errors['1']).toEqual({
      errors: [
        {
          type: 'custom_validation_failed',
          message: 'Custom validation failed for node',
          details: 'image - Invalid image file: missing.png',
          extra_info: { input_name: 'image' },
        },
      ],
      dependent_outputs: ['2'],
      class_type: 'LoadImage',
    });
  });

  it('upload naming: same content reuses the name, different content → "stem (1).ext", overwrite=true replaces; subfolder + type', async () => {
    const a = encodePng(solidFrame(2, 2, 1));
    const b = encodePng(solidFrame(2, 2, 2));
    expect((await upload(base, 'x.png', a)).json.name).toBe('x.png');
    expect((await upload(base, 'x.png', a)).json.name).toBe('x.png');
    expect((await upload(base, 'x.png', b)).json.name).toBe('x (1).png');
    expect((await upload(base, 'x.png', b, { overwrite: 'true' })).json.name).toBe('x.png');
    expect(fc.readFile('x.png', '', 'input')!.equals(b)).toBe(true);
    expect((await upload(base, 'y.png', a, { subfolder: 'sub', type: 'temp' })).json).toEqual({
      name: 'y.png',
      subfolder: 'sub',
      type: 'temp',
    });
    expect((await fetch(`${base}/view?filename=y.png&subfolder=sub&type=temp`)).status).toBe(200);
    // a LoadImage from a subfolder upload works (VALIDATE_INPUTS checks the file, not the combo)
    await upload(base, 'z.png', a, { subfolder: 'sub' });
    const entry = await run({
      '1': { class_type: 'LoadImage', inputs: { image: 'sub/z.png' } },
      '2': { class_type: 'PreviewImage', inputs: { images: ['1', 0] } },
    });
    expect(entry.outputs['2'].images[0]).toMatchObject({
      type: 'temp',
      subfolder: '',
      filename: expect.stringMatching(/^ComfyUI_temp_[a-z]{5}_00001_\.png$/),
    });
  });

  it('rejects path escapes: /view 400 for ".." or absolute filename, 403 for an escaping subfolder, 404 missing, 400 bad type; upload 400', async () => {
    const status = async (q: string) => (await fetch(`${base}/view?${q}`)).status;
    expect(await status('filename=../secret.png')).toBe(400);
    expect(await status('filename=%2Fetc%2Fpasswd')).toBe(400);
    expect(await status('filename=passwd&subfolder=../../etc')).toBe(403);
    expect(await status('filename=passwd&subfolder=%2Fetc')).toBe(403);
    expect(await status('filename=nope.png')).toBe(404);
    expect(await status('filename=example.png&type=secret')).toBe(400);
    expect(await status('subfolder=x')).toBe(404);
    expect(await status('filename=example.png&type=input')).toBe(200);
    expect(await status('filename=example.png%20%5Binput%5D')).toBe(200);
    expect(
      (await upload(base, 'e.png', encodePng(solidFrame(1, 1, 0)), { subfolder: '../../x' })).status,
    ).toBe(400);
    expect((await upload(base, 'e.png', encodePng(solidFrame(1, 1, 0)), { type: 'weird' })).status).toBe(500);
  });

  it('SaveImage with a prefix escaping output/ fails at execution with an execution_error', async () => {
    const r = await postJson(`${base}/prompt`, {
      prompt: {
        '1': { class_type: 'EmptyImage', inputs: { width: 2, height: 2, batch_size: 1, color: 0 } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: '../../evil' } },
      },
      client_id: ws.clientId,
    });
    await ws.waitForDone(r.json.prompt_id);
    const err = ws.forPrompt(r.json.prompt_id).find((m) => m.type === 'execution_error')!.data;
    expect(err).toMatchObject({
      node_id: '2',
      node_type: 'SaveImage',
      exception_type: 'Exception',
      executed: ['1'],
    });
    expect(String(err.exception_message)).toContain('Saving image outside the output folder is not allowed');
  });

  it('SaveVideo reports under images with animated:[true] (subfolder video); the MP4 starts with an ftyp box', async () => {
    const entry = await run({
      '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 3, color: 0x00ff00 } },
      '2': { class_type: 'CreateVideo', inputs: { images: ['1', 0], fps: 24 } },
      '3': {
        class_type: 'SaveVideo',
        inputs: { video: ['2', 0], filename_prefix: 'video/ComfyUI', format: 'auto', codec: 'auto' },
      },
    });
    expect(entry.outputs['3']).toEqual({
      images: [{ filename: 'ComfyUI_00001_.mp4', subfolder: 'video', type: 'output' }],
      animated: [true],
    });
    const res = await fetch(`${base}/view?filename=ComfyUI_00001_.mp4&subfolder=video&type=output`);
    expect(res.headers.get('content-type')).toBe('video/mp4');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.toString('latin1', 4, 12)).toBe('ftypisom');
  });

  it('VHS_VideoCombine reports under gifs with format/frame_rate/workflow/fullpath; SaveAnimatedPNG is a real APNG', async () => {
    const entry = await run({
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
      '3': {
        class_type: 'SaveAnimatedPNG',
        inputs: { images: ['1', 0], filename_prefix: 'anim', fps: 6, compress_level: 4 },
      },
    });
    expect(entry.outputs['2']).toEqual({
      gifs: [
        {
          filename: 'AnimateDiff_00001.mp4',
          subfolder: '',
          type: 'output',
          format: 'video/h264-mp4',
          frame_rate: 8,
          workflow: 'AnimateDiff_00001.png',
          fullpath: '/comfyui/output/AnimateDiff_00001.mp4',
        },
      ],
    });
    expect(fc.readFile('AnimateDiff_00001.png')).toBeDefined();
    expect(entry.outputs['3']).toEqual({
      images: [{ filename: 'anim_00001_.png', subfolder: '', type: 'output' }],
      animated: [true],
    });
    expect(fc.readFile('anim_00001_.png')!.includes(Buffer.from('acTL'))).toBe(true);
  });

  it('LoadAudio → SaveAudio reports under audio (FLAC container)', async () => {
    fc.putFile('voice.wav', Buffer.from('RIFF....WAVE'));
    const entry = await run({
      '1': { class_type: 'LoadAudio', inputs: { audio: 'voice.wav' } },
      '2': { class_type: 'SaveAudio', inputs: { audio: ['1', 0], filename_prefix: 'audio/ComfyUI' } },
    });
    expect(entry.outputs['2']).toEqual({
      audio: [{ filename: 'ComfyUI_00001_.flac', subfolder: 'audio', type: 'output' }],
    });
    expect(fc.readFile('ComfyUI_00001_.flac', 'audio')!.toString('latin1', 0, 4)).toBe('fLaC');
  });

  it('PreviewAny → text; SaveImageWebsocket → binary type-1 PNG frames and no executed', async () => {
    const entry = await run({
      '1': { class_type: 'PrimitiveString', inputs: { value: 'hello' } },
      '2': {
        class_type: 'StringConcatenate',
        inputs: { string_a: ['1', 0], string_b: 'world', delimiter: ' ' },
      },
      '3': { class_type: 'PreviewAny', inputs: { source: ['2', 0] } },
      '4': { class_type: 'EmptyImage', inputs: { width: 2, height: 2, batch_size: 1, color: 0 } },
      '5': { class_type: 'SaveImageWebsocket', inputs: { images: ['4', 0] } },
    });
    expect(entry.outputs).toEqual({ '3': { text: ['hello world'] } });
    expect(ws.binary).toHaveLength(1);
    expect([ws.binary[0].readUInt32BE(0), ws.binary[0].readUInt32BE(4)]).toEqual([1, 2]);
    expect(decodePng(ws.binary[0].subarray(8))?.frame.width).toBe(2);
  });
});
