import { once } from 'node:events';
import { readdirSync, existsSync } from 'node:fs';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../src/config/app-config';
import { ConfigError } from '../src/config/env-parsers';
import { LocalWorkerEntity } from '../src/persistence/entities/local-worker.entity';
import { LocalWorkersService } from '../src/local/local-workers.service';
import { LocalWorkersRepository } from '../src/persistence/local-workers.repository';
import { CloudHarness } from './support/cloud-harness';
import { pngWorkflow } from './support/workflows';

/** A TCP server that only counts who connects: the proof that a refused URL was never contacted. */
class ConnectionRecorder {
  connections = 0;
  private readonly server: Server = createServer((socket) => {
    this.connections++;
    this.sockets.add(socket);
    socket.destroy();
  });
  private readonly sockets = new Set<Socket>();
  port = 0;

  async start(): Promise<void> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

describe('no server-side request forgery: local worker URLs', () => {
  let h: CloudHarness;
  const recorder = new ConnectionRecorder();

  beforeAll(async () => {
    await recorder.start();
  });
  afterAll(() => recorder.close());
  afterEach(async () => {
    await h.close();
  });

  it('refuses metadata, link-local, credentials and other schemes with a 400, before contacting anything', async () => {
    h = await CloudHarness.start({ localWorkers: 1 });
    const port = recorder.port;
    const refused: Array<[string, RegExp]> = [
      ['http://169.254.169.254/', /link-local/],
      ['http://169.254.169.254:8188', /link-local/],
      // 169.254.169.254 as one decimal number (the DTO's URL check refuses it first; the rules would too).
      ['http://2852039166/', /must be a URL|link-local/],
      ['http://[::ffff:169.254.169.254]:8188', /link-local/],
      ['http://[fd00:ec2::254]/', /metadata/],
      ['http://100.100.100.200/', /metadata/],
      ['http://0.0.0.0:8188', /this network/],
      [`http://user:pass@127.0.0.1:${port}`, /credentials/],
      ['file:///etc/passwd', /must be a URL/],
      [`ftp://127.0.0.1:${port}/`, /must be a URL/],
    ];
    for (const [url, reason] of refused) {
      const answer = await h.post('/api/local/workers', { url });
      expect({ url, status: answer.status }).toEqual({ url, status: 400 });
      expect(JSON.stringify(answer.body.message)).toMatch(reason);
      expect(JSON.stringify(answer.body)).not.toContain('pass@');
    }
    // A health pass runs over every worker now (not after a sleep a busy machine may outlast): still no probe.
    await h.app!.get(LocalWorkersService).checkHealth();
    expect(recorder.connections).toBe(0);
    const listed = (await h.get('/api/local/workers')).body.workers as Array<{ url: string }>;
    expect(listed.map((worker) => worker.url)).toEqual([h.locals[0].url]);
  });

  it('refuses a URL outside LOCAL_WORKER_ALLOWED_NETWORKS without contacting it, and accepts one inside', async () => {
    h = await CloudHarness.start({ localWorkers: 1, env: { LOCAL_WORKER_ALLOWED_NETWORKS: '127.0.0.1/32' } });
    // Inside the allowlist: the worker is contacted and works.
    await h.until(async () => (await h.get('/api/local/workers')).body.workers[0].healthy === true);
    await h.stopApp();
    const before = recorder.connections;
    await h.startApp({ LOCAL_WORKER_ALLOWED_NETWORKS: '10.0.0.0/8,gpu-box.lan', LOCAL_COMFYUI_URLS: '' });
    const refused = await h.post('/api/local/workers', { url: `http://127.0.0.1:${recorder.port}` });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe('url host 127.0.0.1 is outside LOCAL_WORKER_ALLOWED_NETWORKS');
    await h.app!.get(LocalWorkersService).checkHealth();
    expect(recorder.connections).toBe(before);
  });

  it('never lists credentials of a stored URL, and never contacts it', async () => {
    h = await CloudHarness.start();
    const row = Object.assign(new LocalWorkerEntity(), {
      id: 'local-legacy0001',
      name: 'legacy',
      url: `http://admin:hunter2@127.0.0.1:${recorder.port}`,
      maxConcurrent: 1,
      createdAt: h.clock.now(),
    });
    await h.app!.get(LocalWorkersRepository).insert(row); // saved before credentials were refused
    await h.stopApp();
    const before = recorder.connections;
    await h.startApp();
    const listed = (await h.get('/api/local/workers')).body.workers as Array<Record<string, unknown>>;
    expect(JSON.stringify(listed)).not.toContain('hunter2');
    expect(listed).toEqual([
      expect.objectContaining({
        id: 'local-legacy0001',
        url: `http://127.0.0.1:${recorder.port}`,
        healthy: false,
        lastError: expect.stringMatching(/must not contain credentials/),
      }),
    ]);
    await h.app!.get(LocalWorkersService).checkHealth();
    expect(recorder.connections).toBe(before);
    expect((await h.request('DELETE', '/api/local/workers/local-legacy0001')).status).toBe(204);
  });

  it('stops boot on a LOCAL_COMFYUI_URLS entry the rules refuse, naming the variable and not the password', () => {
    const boot =
      (urls: string, extra: Record<string, string> = {}) =>
      () =>
        loadConfig({ LOCAL_COMFYUI_URLS: urls, ...extra });
    expect(boot('http://a:secret@127.0.0.1:8188')).toThrow(ConfigError);
    expect(boot('http://a:secret@127.0.0.1:8188')).toThrow(
      'LOCAL_COMFYUI_URLS entry 1 (http://127.0.0.1:8188) must not contain credentials',
    );
    try {
      boot('http://a:secret@127.0.0.1:8188')();
    } catch (error) {
      expect((error as Error).message).not.toContain('secret');
    }
    expect(boot('http://127.0.0.1:8188,http://169.254.169.254')).toThrow(/entry 2 .*link-local/);
    expect(boot('ftp://127.0.0.1')).toThrow(/LOCAL_COMFYUI_URLS entry 1 .*uses ftp/);
    expect(boot('http://127.0.0.1:8188', { LOCAL_WORKER_ALLOWED_NETWORKS: '10.0.0.0/8' })).toThrow(/outside/);
    expect(boot('', { LOCAL_WORKER_ALLOWED_NETWORKS: '10.0.0.0/99' })).toThrow(
      /LOCAL_WORKER_ALLOWED_NETWORKS .*not a valid CIDR/,
    );
    expect(boot('http://gpu-box.lan:8188', { LOCAL_WORKER_ALLOWED_NETWORKS: 'gpu-box.lan' })).not.toThrow();
  });
});

type BucketMode =
  | { kind: 'serve' }
  | { kind: 'stream'; bytes: number; declareLength: boolean }
  | { kind: 'redirect'; to: (path: string) => string }
  | { kind: 'stall' };

/** Plays the S3 bucket that worker-comfyui uploads to: stores what the worker "uploads", serves it by mode. */
class FakeBucket {
  readonly objects = new Map<string, Buffer>();
  requests: string[] = [];
  mode: BucketMode = { kind: 'serve' };
  closedEarly = 0;
  private readonly server: HttpServer = createHttpServer((req, res) => this.handle(req, res));
  private readonly open = new Set<Socket>();
  url = '';

  async start(host = '127.0.0.1'): Promise<void> {
    this.server.on('connection', (socket: Socket) => {
      this.open.add(socket);
      socket.on('close', () => this.open.delete(socket));
    });
    this.server.listen(0, host);
    await once(this.server, 'listening');
    this.url = `http://${host}:${(this.server.address() as AddressInfo).port}`;
  }

  /** The worker's upload: a presigned URL whose query string carries the signature. */
  upload = (jobId: string, filename: string, bytes: Buffer): string => {
    const path = `/bucket/${jobId}/${filename}`;
    this.objects.set(path, bytes);
    return `${this.url}${path}?X-Amz-Credential=AKIASECRET&X-Amz-Signature=s3cr3tsignature`;
  };

  async close(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    this.requests.push(path);
    const mode = this.mode;
    switch (mode.kind) {
      case 'serve': {
        const body = this.objects.get(path);
        if (!body) {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'image/png', 'content-length': body.length }).end(body);
        return;
      }
      case 'redirect':
        res.writeHead(302, { location: mode.to(req.url ?? '') }).end();
        return;
      case 'stall':
        res.writeHead(200, { 'content-type': 'image/png' });
        res.write(Buffer.alloc(1024));
        return; // never ends
      case 'stream': {
        res.writeHead(200, mode.declareLength ? { 'content-length': mode.bytes } : {});
        const chunk = Buffer.alloc(256 * 1024, 7);
        let left = mode.bytes;
        const pump = () => {
          while (left > 0) {
            const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
            left -= part.length;
            if (!res.write(part)) return void res.once('drain', pump);
          }
          res.end();
        };
        res.on('close', () => {
          if (left > 0) this.closedEarly++;
        });
        pump();
        return;
      }
    }
  }
}

const MB = 1024 * 1024;

describe('no server-side request forgery: serverless s3_url outputs', () => {
  let h: CloudHarness;
  const bucket = new FakeBucket();
  const elsewhere = new FakeBucket();

  beforeAll(async () => {
    await bucket.start('127.0.0.1');
    await elsewhere.start('localhost');
    h = await CloudHarness.start({
      serverless: true,
      sim: { worker: { s3Upload: (...args) => bucket.upload(...args) } },
      env: {
        JOBS_MAX_ATTEMPTS: '1',
        RUNPOD_OUTPUT_ALLOW_HTTP: 'true', // the fake bucket speaks http
        RUNPOD_OUTPUT_ALLOW_PRIVATE_NETWORKS: 'true', // and lives on 127.0.0.1
        RUNPOD_OUTPUT_MAX_MB: '64',
        RUNPOD_OUTPUT_TIMEOUT: '30000',
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await bucket.close();
    await elsewhere.close();
  });
  beforeEach(() => {
    bucket.mode = { kind: 'serve' };
    bucket.requests = [];
    elsewhere.requests = [];
  });

  const runOnServerless = async (prefix: string) =>
    h.waitForJob(await h.submit({ workflow: pngWorkflow(prefix), backend: 'serverless' }), 30000);

  const outputsOf = (jobId: string): string[] => {
    const folder = join(h.env().DATA_DIR, 'outputs', jobId);
    return existsSync(folder) ? readdirSync(folder) : [];
  };

  /** Peak RSS growth while `work` runs, sampled every 10 ms. */
  const peakRssGrowth = async <T>(work: () => Promise<T>): Promise<{ result: T; growthMb: number }> => {
    global.gc?.();
    const start = process.memoryUsage.rss();
    let peak = start;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
    try {
      const result = await work();
      peak = Math.max(peak, process.memoryUsage.rss());
      return { result, growthMb: (peak - start) / MB };
    } finally {
      clearInterval(sampler);
    }
  };

  it('downloads an s3_url output and serves it byte-identical', async () => {
    const job = await runOnServerless('s3ok');
    expect(job).toMatchObject({ status: 'completed', backend: 'serverless' });
    const [path] = [...bucket.objects.keys()].filter((key) => key.endsWith('/s3ok_00001_.png'));
    const served = await h.outputBytes(job.id, 's3ok_00001_.png');
    expect(served.status).toBe(200);
    expect(served.data.equals(bucket.objects.get(path)!)).toBe(true);
  });

  it('streams a large output to disk instead of holding it in memory', async () => {
    bucket.mode = { kind: 'stream', bytes: 60 * MB, declareLength: true };
    const { result: job, growthMb } = await peakRssGrowth(() => runOnServerless('big'));
    expect(job.status).toBe('completed');
    expect(job.outputs[0].size).toBe(60 * MB);
    // Buffering it (as global fetch + arrayBuffer did) costs at least the body twice over: 120 MB.
    expect(growthMb).toBeLessThan(45);
  });

  it('fails cleanly when the body grows past RUNPOD_OUTPUT_MAX_MB, without buffering it', async () => {
    bucket.mode = { kind: 'stream', bytes: 200 * MB, declareLength: false };
    const closedBefore = bucket.closedEarly;
    const { result: job, growthMb } = await peakRssGrowth(() => runOnServerless('huge'));
    expect(job).toMatchObject({ status: 'failed', backend: 'serverless', error: { kind: 'infrastructure' } });
    expect(job.error.message).toMatch(
      /could not download output http:\/\/127\.0\.0\.1:\d+\/bucket\/.*\?\[REDACTED\]: more than the 64 MB size cap/,
    );
    expect(JSON.stringify(job)).not.toMatch(/s3cr3t|AKIASECRET/);
    expect(growthMb).toBeLessThan(45);
    expect(outputsOf(job.id)).toEqual([]); // the partial file is removed
    await h.until(() => bucket.closedEarly > closedBefore); // we hung up instead of reading 200 MB
  });

  it('refuses a declared Content-Length over the cap before reading the body', async () => {
    bucket.mode = { kind: 'stream', bytes: 200 * MB, declareLength: true };
    const job = await runOnServerless('declared');
    expect(job.status).toBe('failed');
    expect(job.error.message).toMatch(/209715200 bytes is more than the 64 MB size cap/);
  });

  it('does not follow a redirect to another host', async () => {
    bucket.mode = { kind: 'redirect', to: (path) => `${elsewhere.url}${path}` };
    const job = await runOnServerless('redir');
    expect(job.status).toBe('failed');
    expect(job.error.message).toMatch(
      /answered 302 to another host \(http:\/\/localhost:\d+\/bucket\/.*\?\[REDACTED\]\), which is not followed/,
    );
    expect(elsewhere.requests).toEqual([]);
  });

  it('follows a redirect on the same host, a few times at most', async () => {
    let hops = 0;
    bucket.mode = {
      kind: 'redirect',
      to: (path) => {
        if (++hops === 2) bucket.mode = { kind: 'serve' };
        return path;
      },
    };
    expect((await runOnServerless('samehost')).status).toBe('completed');
    bucket.mode = { kind: 'redirect', to: (path) => path };
    const looping = await runOnServerless('loop');
    expect(looping.error.message).toMatch(/more than 3 redirects/);
  });

  it('times out a server that never finishes the body (RUNPOD_OUTPUT_TIMEOUT)', async () => {
    await h.stopApp();
    await h.startApp({ RUNPOD_OUTPUT_TIMEOUT: '1000' });
    bucket.mode = { kind: 'stall' };
    const job = await runOnServerless('slow');
    expect(job.status).toBe('failed');
    expect(job.error.message).toMatch(/no complete answer within 1000 ms/);
    expect(outputsOf(job.id)).toEqual([]);
    await h.stopApp();
    await h.startApp();
  });

  it('accepts https only unless RUNPOD_OUTPUT_ALLOW_HTTP, and private addresses only when allowed', async () => {
    await h.stopApp();
    await h.startApp({ RUNPOD_OUTPUT_ALLOW_HTTP: 'false' });
    let job = await runOnServerless('httponly');
    expect(job.error.message).toMatch(/the URL uses http; only https is allowed/);
    await h.stopApp();
    await h.startApp({ RUNPOD_OUTPUT_ALLOW_PRIVATE_NETWORKS: 'false' });
    job = await runOnServerless('private');
    expect(job.error.message).toMatch(/host 127\.0\.0\.1 is a loopback or private address/);
    expect(bucket.requests).toEqual([]);
    await h.stopApp();
    await h.startApp();
  });

  it('never contacts a metadata address named by an s3_url output', async () => {
    const upload = bucket.upload;
    bucket.upload = () => 'http://169.254.169.254/latest/meta-data/iam/security-credentials/?sig=x';
    try {
      const job = await runOnServerless('meta');
      expect(job.error.message).toMatch(/host 169\.254\.169\.254 is link-local/);
    } finally {
      bucket.upload = upload;
    }
  });
});
