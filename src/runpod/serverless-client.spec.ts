import { RunPodHttp } from './runpod-http';
import {
  RunPodAuthError,
  RunPodRequestError,
  RunPodUnavailableError,
  ServerlessJobNotFoundError,
} from './runpod.errors';
import { RunPodServerlessClient, isTerminalServerlessState } from './serverless-client';
import {
  RecordingLogger,
  ScriptedServer,
  TEST_API_KEY,
  caught,
  keyLeaks,
  recordingSleep,
} from './testing/scripted-server';

const JOB_ID = '60902e6c-08a1-426e-9cb9-9eaec90f5e2b-u1';

describe('RunPodServerlessClient', () => {
  let server: ScriptedServer;
  let client: RunPodServerlessClient;

  beforeAll(async () => {
    server = await ScriptedServer.start();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.reset();
    const http = new RunPodHttp({
      apiKey: TEST_API_KEY,
      sleep: recordingSleep().sleep,
      random: () => 1,
      logger: new RecordingLogger(),
      timeoutMs: 2000,
    });
    client = new RunPodServerlessClient({ baseUrl: `${server.url}/v2`, endpointId: 'gwp4kx5yd3nur1', http });
  });

  it('runs a job: POST /{endpointId}/run with {input, policy}', async () => {
    server.reply({ status: 200, body: { id: 'eaebd6e7-6a92-4bb8-a911-f996ac5ea99d', status: 'IN_QUEUE' } });
    const workflow = { '3': { class_type: 'KSampler', inputs: {} } };
    const res = await client.run({ workflow }, { executionTimeout: 600_000, ttl: 3_600_000 });

    const req = server.requests[0];
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v2/gwp4kx5yd3nur1/run');
    expect(req.headers.authorization).toBe(`Bearer ${TEST_API_KEY}`);
    expect(req.body).toEqual({ input: { workflow }, policy: { executionTimeout: 600_000, ttl: 3_600_000 } });
    expect(res).toEqual({ id: 'eaebd6e7-6a92-4bb8-a911-f996ac5ea99d', status: 'IN_QUEUE' });
  });

  it('does not send a policy when none is given', async () => {
    server.reply({ status: 200, body: { id: 'j1', status: 'IN_QUEUE' } });
    await client.run({ workflow: {} });
    expect(server.requests[0].body).toEqual({ input: { workflow: {} } });
  });

  it('does not enqueue twice after a 500 on run', async () => {
    server.fallback = () => ({ status: 500 });
    await expect(client.run({ workflow: {} })).rejects.toBeInstanceOf(RunPodUnavailableError);
    expect(server.requests).toHaveLength(1);
  });

  it('reads a completed worker-comfyui job', async () => {
    server.reply({
      status: 200,
      body: {
        delayTime: 31618,
        executionTime: 1437,
        id: JOB_ID,
        output: { images: [{ filename: 'ComfyUI_00001_.png', type: 'base64', data: 'iVBORw0KGgo=' }] },
        status: 'COMPLETED',
        workerId: 'oqk7ao1uomckye',
      },
    });
    const job = await client.status(JOB_ID);
    expect(server.requests[0].url).toBe(`/v2/gwp4kx5yd3nur1/status/${JOB_ID}`);
    expect(job).toEqual({
      id: JOB_ID,
      status: 'COMPLETED',
      output: { images: [{ filename: 'ComfyUI_00001_.png', type: 'base64', data: 'iVBORw0KGgo=' }] },
      delayTime: 31618,
      executionTime: 1437,
      workerId: 'oqk7ao1uomckye',
    });
    expect(isTerminalServerlessState(job.status)).toBe(true);
  });

  it('reads a failed job with its error', async () => {
    server.reply({
      status: 200,
      body: { id: JOB_ID, status: 'FAILED', error: "Missing 'workflow' parameter" },
    });
    expect(await client.status(JOB_ID)).toEqual({
      id: JOB_ID,
      status: 'FAILED',
      error: "Missing 'workflow' parameter",
    });
  });

  it.each([
    ['IN_QUEUE', 'IN_QUEUE'],
    ['IN_PROGRESS', 'IN_PROGRESS'],
    ['RUNNING', 'IN_PROGRESS'],
    ['CANCELLED', 'CANCELLED'],
    ['TIMED_OUT', 'TIMED_OUT'],
  ])('maps status %s to %s', async (wire, expected) => {
    server.reply({ status: 200, body: { id: JOB_ID, status: wire } });
    expect((await client.status(JOB_ID)).status).toBe(expected);
  });

  it('throws ServerlessJobNotFoundError on 404 (unknown or expired job), without retrying', async () => {
    server.reply({ status: 404, body: { error: 'job not found' } });
    const err = await caught(client.status('expired'));
    expect(err).toBeInstanceOf(ServerlessJobNotFoundError);
    expect((err as ServerlessJobNotFoundError).jobId).toBe('expired');
    expect(server.requests).toHaveLength(1);
  });

  it('cancels a job', async () => {
    server.reply({ status: 200, body: { id: JOB_ID, status: 'CANCELLED' } });
    expect(await client.cancel(JOB_ID)).toEqual({ id: JOB_ID, status: 'CANCELLED' });
    expect(server.requests[0]).toEqual(
      expect.objectContaining({ method: 'POST', url: `/v2/gwp4kx5yd3nur1/cancel/${JOB_ID}`, body: {} }),
    );
  });

  it('reads health, filling counters RunPod left out with 0', async () => {
    server.reply({
      status: 200,
      body: {
        jobs: { completed: 1, failed: 5, inProgress: 0, inQueue: 2, retried: 0 },
        workers: { idle: 0, running: 1 },
      },
    });
    expect(await client.health()).toEqual({
      jobs: { completed: 1, failed: 5, inProgress: 0, inQueue: 2, retried: 0 },
      workers: { idle: 0, initializing: 0, ready: 0, running: 1, throttled: 0, unhealthy: 0 },
    });
    expect(server.requests[0].url).toBe('/v2/gwp4kx5yd3nur1/health');
  });

  it('maps 401 to RunPodAuthError without the key', async () => {
    server.reply({ status: 401, body: 'Unauthorized' });
    const err = await caught(client.health());
    expect(err).toBeInstanceOf(RunPodAuthError);
    expect(keyLeaks(err)).toEqual([]);
  });

  it('maps 400 to RunPodRequestError', async () => {
    server.reply({ status: 400, body: { error: 'Body too large' } });
    const err = (await caught(client.run({ workflow: {} }))) as RunPodRequestError;
    expect(err).toBeInstanceOf(RunPodRequestError);
    expect(err.detail).toBe('Body too large');
  });
});
