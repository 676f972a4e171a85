import { resolve } from 'node:path';
import { ComfyUnsafePathError } from './comfyui.errors';
import { contentTypeForFilename, extractOutputFiles, safeOutputPath } from './comfyui-outputs';

describe('safeOutputPath', () => {
  const root = '/data/outputs/job-1';

  it('puts a file under root, in its subfolder', () => {
    expect(safeOutputPath(root, '', 'ComfyUI_00001_.png')).toBe(resolve(root, 'ComfyUI_00001_.png'));
    expect(safeOutputPath(root, 'video', 'a.mp4')).toBe(resolve(root, 'video', 'a.mp4'));
    expect(safeOutputPath(root, 'a/b/', 'x (1).png')).toBe(resolve(root, 'a', 'b', 'x (1).png'));
  });

  it.each([
    ['', '../escape.png', 'filename'],
    ['', '..', 'filename'],
    ['', '/etc/passwd', 'filename'],
    ['', 'a/b.png', 'filename'],
    ['', 'C:evil.png', 'filename'],
    ['', 'evil\\..\\x.png', 'filename'],
    ['', 'nul\0.png', 'filename'],
    ['', '', 'filename'],
    ['..', 'x.png', 'subfolder'],
    ['a/../../b', 'x.png', 'subfolder'],
    ['/abs', 'x.png', 'subfolder'],
    ['sub\\dir', 'x.png', 'subfolder'],
    ['sub\0', 'x.png', 'subfolder'],
  ])('rejects subfolder %j + filename %j (%s)', (subfolder, filename, field) => {
    let error: unknown;
    try {
      safeOutputPath(root, subfolder, filename);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ComfyUnsafePathError);
    expect((error as ComfyUnsafePathError).field).toBe(field);
  });
});

describe('extractOutputFiles', () => {
  it('normalizes images (animated per node), gifs, audio and custom file keys; skips text (JS orders integer ids)', () => {
    const files = extractOutputFiles({
      outputs: {
        '9': { images: [{ filename: 'a_00001_.png', subfolder: '', type: 'output' }] },
        '3': {
          images: [{ filename: 'ComfyUI_00001_.mp4', subfolder: 'video', type: 'output' }],
          animated: [true],
        },
        '5': { images: [{ filename: 'ComfyUI_temp_abcde_00001_.png', subfolder: '', type: 'temp' }] },
        '7': {
          gifs: [
            {
              filename: 'AnimateDiff_00001.webm',
              subfolder: '',
              type: 'output',
              format: 'video/webm',
              frame_rate: 12,
              workflow: 'AnimateDiff_00001.png',
              fullpath: '/comfyui/output/AnimateDiff_00001.webm',
            },
          ],
        },
        '8': { audio: [{ filename: 'ComfyUI_00001_.flac', subfolder: 'audio', type: 'output' }] },
        '10': { text: ['hello'] },
        '11': { videos: [{ filename: 'clip.mov', subfolder: '', type: 'output' }] },
      },
    });
    expect(files.map((f) => [f.nodeId, f.kind, f.filename, f.temp, f.animated, f.contentType])).toEqual([
      ['3', 'images', 'ComfyUI_00001_.mp4', false, true, 'video/mp4'],
      ['5', 'images', 'ComfyUI_temp_abcde_00001_.png', true, undefined, 'image/png'],
      ['7', 'gifs', 'AnimateDiff_00001.webm', false, undefined, 'video/webm'],
      ['8', 'audio', 'ComfyUI_00001_.flac', false, undefined, 'audio/flac'],
      ['9', 'images', 'a_00001_.png', false, undefined, 'image/png'],
      ['11', 'videos', 'clip.mov', false, undefined, 'video/quicktime'],
    ]);
    expect(files.find((f) => f.kind === 'gifs')).toMatchObject({ format: 'video/webm', frameRate: 12 });
  });

  it('is tolerant of missing or odd fields', () => {
    expect(extractOutputFiles({})).toEqual([]);
    expect(
      extractOutputFiles({ outputs: { '1': { images: [{ filename: 'x.png' }, null, { name: 'y' }] } } }),
    ).toEqual([expect.objectContaining({ filename: 'x.png', subfolder: '', type: 'output', temp: false })]);
  });
});

describe('contentTypeForFilename', () => {
  it.each([
    ['a.png', 'image/png'],
    ['a.JPG', 'image/jpeg'],
    ['a.webp', 'image/webp'],
    ['a.gif', 'image/gif'],
    ['a.mp4', 'video/mp4'],
    ['a.webm', 'video/webm'],
    ['a.flac', 'audio/flac'],
    ['a.mp3', 'audio/mpeg'],
    ['a.wav', 'audio/wav'],
    ['a.latent', 'application/octet-stream'],
    ['noext', 'application/octet-stream'],
  ])('%s → %s', (name, type) => expect(contentTypeForFilename(name)).toBe(type));
});
