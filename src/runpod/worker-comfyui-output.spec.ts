import {
  isServerlessWorkflowError,
  parseWorkerComfyOutput,
  readableServerlessError,
} from './worker-comfyui-output';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

describe("worker-comfyui's output", () => {
  it('reads 5.x images: base64 as bytes, s3_url as a URL to download, in order', () => {
    const output = parseWorkerComfyOutput({
      images: [
        { filename: 'a.png', type: 'base64', data: PNG.toString('base64') },
        { filename: 'b.png', type: 's3_url', data: 'https://bucket.example/b.png?sig=1' },
      ],
    });
    expect(output).toEqual({
      errors: [],
      images: [
        { filename: 'a.png', kind: 'bytes', bytes: PNG },
        { filename: 'b.png', kind: 'url', url: 'https://bucket.example/b.png?sig=1' },
      ],
    });
  });

  it('accepts a data: URL prefix on base64 and names unnamed images output_<n>.png', () => {
    const { images } = parseWorkerComfyOutput({
      images: [{ type: 'base64', data: `data:image/png;base64,${PNG.toString('base64')}` }, { data: 'AA==' }],
    });
    expect(images).toEqual([
      { filename: 'output_1.png', kind: 'bytes', bytes: PNG },
      { filename: 'output_2.png', kind: 'bytes', bytes: Buffer.from([0]) },
    ]);
  });

  it('marks an image without data as missing, and passes the handler’s errors on', () => {
    expect(
      parseWorkerComfyOutput({ images: [{ filename: 'x.png', type: 'base64' }], errors: ['e1'] }),
    ).toEqual({
      errors: ['e1'],
      images: [{ filename: 'x.png', kind: 'missing' }],
    });
  });

  it('reads worker-comfyui < 5.0: one image as `message`, a URL when it starts with http', () => {
    expect(parseWorkerComfyOutput({ message: 'https://bucket.example/o.png' }).images).toEqual([
      { filename: 'output.png', kind: 'url', url: 'https://bucket.example/o.png' },
    ]);
    expect(parseWorkerComfyOutput({ message: PNG.toString('base64') }).images).toEqual([
      { filename: 'output.png', kind: 'bytes', bytes: PNG },
    ]);
  });

  it('reads no output at all as no images', () => {
    expect(parseWorkerComfyOutput(undefined)).toEqual({ images: [], errors: [] });
    expect(parseWorkerComfyOutput(null)).toEqual({ images: [], errors: [] });
  });

  it('tells a workflow error (same answer anywhere) from an infrastructure one', () => {
    expect(isServerlessWorkflowError('Workflow validation failed: node 3', undefined)).toBe(true);
    expect(
      isServerlessWorkflowError('Job processing failed', { details: ['Workflow execution error: x'] }),
    ).toBe(true);
    expect(isServerlessWorkflowError('Job processing failed', { details: ['socket closed'] })).toBe(false);
    expect(isServerlessWorkflowError('ComfyUI not reachable', undefined)).toBe(false);
    expect(isServerlessWorkflowError(undefined, undefined)).toBe(false);
  });

  it('shows a raised exception’s message rather than its JSON', () => {
    expect(readableServerlessError('{"error_type":"ValueError","error_message":"bad"}')).toBe(
      'ValueError: bad',
    );
    expect(readableServerlessError('plain text')).toBe('plain text');
    expect(readableServerlessError(undefined)).toBe('serverless job failed without an error message');
  });
});
