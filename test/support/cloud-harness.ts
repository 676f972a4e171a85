import type { INestApplication } from '@nestjs/common';
import { CloudControlLoop } from '../../src/cloud/cloud-control-loop.service';
import { CLOUD_DEMAND, type CloudDemandBoard } from '../../src/cloud/cloud-demand';
import { PodLifecycleService } from '../../src/cloud/pod-lifecycle.service';
import { PodSweeper } from '../../src/cloud/pod-sweeper.service';
import { createApp, listen } from '../../src/bootstrap';
import { FakeClock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/app-config';
import { FakeComfyUI, type FakeComfyUIOptions } from '../sim/comfyui/fake-comfyui';
import { FakeRunPod, type FakeRunPodOptions } from '../sim/runpod/fake-runpod';
import { CapturedLogger } from './captured-logger';
import { TestDatabase } from './test-database';

export interface HarnessOptions {
  podApi?: 'rest' | 'graphql';
  env?: Record<string, string>;
  sim?: FakeRunPodOptions;
  /** Local ComfyUI workers (fakes) to start and list in LOCAL_COMFYUI_URLS. */
  localWorkers?: number;
  localComfy?: FakeComfyUIOptions;
  /** Configure the fake's serverless endpoint (RUNPOD_SERVERLESS_ENDPOINT_ID). */
  serverless?: boolean;
  /**
   * Compressed time: the shared clock runs this many times faster than real time (default 1). The service's
   * real-time intervals are not scaled here: pass them scaled in `env` (README "Compressed time").
   */
  clockRate?: number;
}

export interface HttpAnswer<T = any> {
  status: number;
  body: T;
}

/**
 * Noon UTC of the real current day. Tests jump the clock hours ahead, and spend is counted per UTC day, so a
 * run that started near midnight used to cross into the next day mid-test (the budget test failed from 22:30
 * UTC on).
 */
function todayNoonUtc(): number {
  const now = new Date();
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), 12);
}

/**
 * The service booted for real (HTTP on an ephemeral port) against an in-process FakeRunPod over real
 * sockets. Both share one FakeClock that follows real time, so the sim's boot delays elapse normally and a
 * test can still jump minutes ahead to cross an idle or boot timeout without sleeping. It starts at noon UTC,
 * whatever the time of day, so day boundaries never fall inside a test by accident.
 */
export class CloudHarness {
  readonly clock: FakeClock;
  readonly db = new TestDatabase();
  readonly fake: FakeRunPod;
  readonly locals: FakeComfyUI[] = [];
  logger = new CapturedLogger();
  app?: INestApplication;
  url = '';

  private constructor(private readonly options: HarnessOptions) {
    this.clock = new FakeClock(todayNoonUtc(), true, options.clockRate ?? 1);
    this.fake = new FakeRunPod({ bootMs: 300, clock: this.clock, ...options.sim });
  }

  static async start(options: HarnessOptions = {}): Promise<CloudHarness> {
    const harness = new CloudHarness(options);
    await harness.fake.start();
    for (let i = 0; i < (options.localWorkers ?? 0); i++) {
      const comfy = new FakeComfyUI(options.localComfy);
      await comfy.listen();
      harness.locals.push(comfy);
    }
    await harness.startApp();
    return harness;
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      RUNPOD_API_KEY: this.fake.apiKey,
      RUNPOD_POD_API: this.options.podApi ?? 'rest',
      RUNPOD_REST_URL: this.fake.restV2Url,
      RUNPOD_GRAPHQL_URL: this.fake.graphqlUrl,
      RUNPOD_SERVERLESS_URL: this.fake.serverlessBaseUrl,
      RUNPOD_POD_URL_TEMPLATE: this.fake.podUrlTemplate,
      RUNPOD_DOCKER_IMAGE: 'example/comfyui:latest',
      RUNPOD_RETRY_BASE_DELAY: '5',
      RUNPOD_REQUEST_TIMEOUT: '5000',
      // Ticks are driven by the tests (tick()); the interval is only a backstop.
      CLOUD_TICK_INTERVAL: '60000',
      LOCAL_COMFYUI_URLS: this.locals.map((comfy) => comfy.url).join(','),
      ...(this.options.serverless
        ? { RUNPOD_SERVERLESS_ENDPOINT_ID: this.fake.serverlessEndpointIds[0] }
        : {}),
      // The suites written for the seed's scaling rule (threshold, fixed idle timeout, its log lines) pin it;
      // the break-even policy's suites pass CLOUD_POLICY=breakeven.
      CLOUD_POLICY: 'seed',
      JOBS_DISPATCH_INTERVAL: '200',
      LOCAL_HEALTH_INTERVAL: '200',
      SERVERLESS_POLL_INTERVAL: '20',
      SERVERLESS_POLL_MAX_INTERVAL: '100',
      PORT: '0',
      ...this.db.env(),
      ...this.options.env,
      ...extra,
    };
  }

  /** Boots (or reboots, on the same database) the service. */
  async startApp(extraEnv: Record<string, string> = {}): Promise<void> {
    this.logger = new CapturedLogger();
    const config = loadConfig(this.env(extraEnv));
    this.app = await createApp({ config, clock: this.clock, logger: this.logger });
    this.url = await listen(this.app, 0, '127.0.0.1');
    // The startup sweep talks to the fake RunPod: let it finish so it cannot take a test's injected fault.
    await this.app.get(PodSweeper).settled();
  }

  /** Closes the service without a signal: pods keep running, as after a crash. */
  async stopApp(): Promise<void> {
    await this.app?.close();
    this.app = undefined;
  }

  async close(): Promise<void> {
    await this.stopApp();
    await this.fake.stop();
    for (const comfy of this.locals) await comfy.close();
    await this.db.drop();
  }

  get loop(): CloudControlLoop {
    return this.app!.get(CloudControlLoop);
  }

  get demand(): CloudDemandBoard {
    return this.app!.get<CloudDemandBoard>(CLOUD_DEMAND);
  }

  get lifecycle(): PodLifecycleService {
    return this.app!.get(PodLifecycleService);
  }

  async tick(times = 1): Promise<void> {
    for (let i = 0; i < times; i++) await this.loop.tick();
  }

  /** Ticks until `done()` holds (pods boot in real milliseconds in the sim). */
  async tickUntil(done: () => boolean | Promise<boolean>, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error('tickUntil: condition not met in time');
      await this.tick();
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  async request<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<HttpAnswer<T>> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as T) : (undefined as T) };
  }

  get = <T = any>(path: string, headers?: Record<string, string>) =>
    this.request<T>('GET', path, undefined, headers);
  post = <T = any>(path: string, body?: unknown) => this.request<T>('POST', path, body ?? {});
  put = <T = any>(path: string, body: unknown) => this.request<T>('PUT', path, body);

  /** Waits (real time; jobs run in real milliseconds on the fakes) until the job has ended. */
  async waitForJob(id: string, timeoutMs = 25000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = (await this.get(`/api/jobs/${id}`)).body;
      if (['completed', 'failed', 'cancelled'].includes(job.status)) return job;
      if (Date.now() > deadline)
        throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms: ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 30));
    }
  }

  /** Waits until `done()` holds, without ticking the cloud loop. */
  async until(done: () => boolean | Promise<boolean>, timeoutMs = 20000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await done())) {
      if (Date.now() > deadline) throw new Error('until: condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async submit(body: Record<string, unknown>): Promise<string> {
    const answer = await this.post('/api/jobs', body);
    if (answer.status !== 202)
      throw new Error(`submit answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body.id as string;
  }

  async outputBytes(
    jobId: string,
    filename: string,
  ): Promise<{ status: number; type: string | null; data: Buffer }> {
    const response = await fetch(`${this.url}/api/jobs/${jobId}/outputs/${encodeURIComponent(filename)}`);
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      data: Buffer.from(await response.arrayBuffer()),
    };
  }

  /** Spawns through the API without waiting, then ticks until the pod is ready. */
  async spawnReadyPod(body: Record<string, unknown> = {}): Promise<string> {
    const answer = await this.post('/api/cloud/spawn?wait=false', body);
    if (answer.status !== 202)
      throw new Error(`spawn answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    const id = answer.body.pod.id as string;
    await this.tickUntil(async () =>
      (await this.get('/api/cloud/pods')).body.pods.some((p: any) => p.id === id && p.state === 'ready'),
    );
    return id;
  }
}
