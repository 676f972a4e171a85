import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeComfyUI } from '../../test/sim/comfyui/fake-comfyui';
import { ComfyUiClient, OBJECT_INFO_MAX_BYTES } from './comfyui-client';
import { ComfyRequestError, ComfyUnavailableError } from './comfyui.errors';
import { FAST, RecordingComfyLogger } from './testing/comfyui-test-kit';

describe('ComfyUiClient capability reads against the fake ComfyUI', () => {
  let fake: FakeComfyUI;
  let client: ComfyUiClient;

  beforeEach(async () => {
    fake = new FakeComfyUI({
      models: {
        checkpoints: ['a.safetensors', 'sdxl/b.safetensors'],
        loras: [],
        diffusion_models: ['flux.safetensors'],
      },
    });
    client = new ComfyUiClient(await fake.listen(), { ...FAST, logger: new RecordingComfyLogger() });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('objectInfo() is GET /object_info: every node class with its inputs', async () => {
    const info = await client.objectInfo();
    expect(Object.keys(info).sort()).toEqual([...fake.nodeClasses].sort());
    expect(info.CheckpointLoaderSimple).toMatchObject({
      input: { required: { ckpt_name: [['a.safetensors', 'sdxl/b.safetensors'], expect.any(Object)] } },
    });
    expect(info.UNETLoader).toMatchObject({ input: { required: { unet_name: [['flux.safetensors']] } } });
    expect(fake.requests).toEqual(['GET /object_info']);
  });

  it('models() lists the folders, models(folder) its files; an unknown folder is a 404 ComfyRequestError', async () => {
    expect(await client.models()).toEqual(['checkpoints', 'loras', 'diffusion_models']);
    expect(await client.models('checkpoints')).toEqual(['a.safetensors', 'sdxl/b.safetensors']);
    expect(await client.models('loras')).toEqual([]);
    const error = await client.models('nope').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComfyRequestError);
    expect((error as ComfyRequestError).status).toBe(404);
    fake.setModels('loras', ['new.safetensors']);
    expect(await client.models('loras')).toEqual(['new.safetensors']);
  });
});

describe('ComfyUiClient capability reads: bounded bodies', () => {
  let server: Server;
  let base: string;
  let answer: (res: ServerResponse) => void;

  beforeAll(async () => {
    server = createServer((_req, res) => answer(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const client = () => new ComfyUiClient(base, { ...FAST, logger: new RecordingComfyLogger() });

  it('refuses an /object_info whose declared length is over the bound, before reading it', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': OBJECT_INFO_MAX_BYTES + 1 });
      res.write('{');
      // never completes: the client must not wait for it
    };
    const error = await client()
      .objectInfo()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComfyUnavailableError);
    expect((error as ComfyUnavailableError).code).toBe('BODY_TOO_LARGE');
  });

  it('stops reading a chunked /models body once it passes the bound', async () => {
    let written = 0;
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const pump = () => {
        while (written < 64 * 1024 * 1024 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    };
    // Reading 16 MB takes seconds on a busy machine: a timeout long enough that only the bound can end it.
    const error = await new ComfyUiClient(base, {
      ...FAST,
      requestTimeoutMs: 25_000,
      logger: new RecordingComfyLogger(),
    })
      .models()
      .catch((e: unknown) => e);
    expect((error as ComfyUnavailableError).code).toBe('BODY_TOO_LARGE');
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('answers that are not the expected JSON are ComfyUnavailableError', async () => {
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('["not", "an", "object"]');
    };
    await expect(client().objectInfo()).rejects.toBeInstanceOf(ComfyUnavailableError);
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"not": "a list"}');
    };
    await expect(client().models('checkpoints')).rejects.toBeInstanceOf(ComfyUnavailableError);
  });
});
