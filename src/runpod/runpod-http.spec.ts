import { RunPodHttp, parseRetryAfterMs, type RunPodHttpOptions } from './runpod-http';
import { RunPodAuthError, RunPodError, RunPodRateLimitError, RunPodUnavailableError } from './runpod.errors';
import {
  RecordingLogger,
  ScriptedServer,
  TEST_API_KEY,
  caught,
  keyLeaks,
  recordingSleep,
} from './testing/scripted-server';

describe('RunPodHttp', () => {
  let server: ScriptedServer;
  let logger: RecordingLogger;
  let recorder: ReturnType<typeof recordingSleep>;

  const makeHttp = (overrides: Partial<RunPodHttpOptions> = {}) =>
    new RunPodHttp({
      apiKey: TEST_API_KEY,
      sleep: recorder.sleep,
      random: () => 1,
      logger,
      timeoutMs: 2000,
      ...overrides,
    });

  beforeAll(async () => {
    server = await ScriptedServer.start();
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    server.reset();
    logger = new RecordingLogger();
    recorder = recordingSleep();
  });

  it('sends the key only in the Authorization header, never in the URL', async () => {
    server.reply({ status: 200, body: { ok: true } });
    const res = await makeHttp().request({ method: 'GET', url: `${server.url}/v2/pods` });
    expect(res).toEqual(expect.objectContaining({ status: 200, body: { ok: true } }));
    expect(server.requests[0].headers.authorization).toBe(`Bearer ${TEST_API_KEY}`);
    expect(server.requests[0].url).toBe('/v2/pods');
    expect(server.requests[0].url).not.toContain(TEST_API_KEY);
  });

  it('retries 503 and 502 with exponential backoff and full jitter, then succeeds', async () => {
    server.reply(
      { status: 503, body: 'upstream down' },
      { status: 502 },
      { status: 200, body: { pods: [] } },
    );
    const res = await makeHttp().request({ method: 'GET', url: `${server.url}/v2/pods` });
    expect(res.status).toBe(200);
    expect(server.requests).toHaveLength(3);
    // random() = 1 gives the ceiling: base 500 * 2^attempt.
    expect(recorder.delays).toEqual([500, 1000]);
    expect(logger.warnings).toHaveLength(2);
    expect(logger.warnings[0]).toContain('GET /v2/pods -> 503; retry 1/4 in 500 ms');
  });

  it('draws the backoff delay from [0, ceiling] (full jitter) and caps it at retryMaxDelayMs', async () => {
    server.reply({ status: 500 }, { status: 500 }, { status: 500 }, { status: 200 });
    await makeHttp({ random: () => 0.5, retryBaseDelayMs: 1000, retryMaxDelayMs: 3000 }).request({
      method: 'GET',
      url: `${server.url}/x`,
    });
    expect(recorder.delays).toEqual([500, 1000, 1500]);
  });

  it('retries a connection reset, then succeeds', async () => {
    server.reply('reset', { status: 200, body: { ok: 1 } });
    const res = await makeHttp().request({ method: 'GET', url: `${server.url}/v2/pods/abc` });
    expect(res.body).toEqual({ ok: 1 });
    expect(server.requests).toHaveLength(2);
    expect(recorder.delays).toHaveLength(1);
  });

  it('honours Retry-After in seconds on 429', async () => {
    server.reply(
      {
        status: 429,
        headers: { 'retry-after': '3' },
        body: {
          title: 'Too Many Requests',
          status: 429,
          detail: 'rate limit exceeded for the minute window',
        },
      },
      { status: 200 },
    );
    await makeHttp().request({ method: 'GET', url: `${server.url}/v2/pods` });
    expect(recorder.delays).toEqual([3000]);
  });

  it('honours Retry-After as an HTTP-date, capped at retryMaxDelayMs', async () => {
    const inAMinute = new Date(Date.now() + 60_000).toUTCString();
    server.reply({ status: 429, headers: { 'retry-after': inAMinute } }, { status: 200 });
    await makeHttp({ retryMaxDelayMs: 10_000 }).request({ method: 'GET', url: `${server.url}/v2/pods` });
    expect(recorder.delays).toEqual([10_000]);
  });

  it('throws RunPodRateLimitError when 429 persists after maxRetries', async () => {
    server.fallback = () => ({
      status: 429,
      headers: { 'retry-after': '2' },
      body: { title: 'Too Many Requests', status: 429, detail: 'rate limit exceeded' },
    });
    const err = await caught(
      makeHttp({ maxRetries: 2 }).request({ method: 'GET', url: `${server.url}/v2/pods` }),
    );
    expect(err).toBeInstanceOf(RunPodRateLimitError);
    expect((err as RunPodRateLimitError).status).toBe(429);
    expect((err as RunPodRateLimitError).retryAfterMs).toBe(2000);
    expect((err as Error).message).toContain('rate limit exceeded');
    expect(server.requests).toHaveLength(3);
    expect(keyLeaks(err)).toEqual([]);
  });

  it('throws RunPodUnavailableError when 5xx persists', async () => {
    server.fallback = () => ({
      status: 500,
      body: { title: 'Internal Server Error', status: 500, detail: 'boom' },
    });
    const err = await caught(
      makeHttp({ maxRetries: 1 }).request({ method: 'GET', url: `${server.url}/v2/pods` }),
    );
    expect(err).toBeInstanceOf(RunPodUnavailableError);
    expect((err as RunPodUnavailableError).status).toBe(500);
    expect(server.requests).toHaveLength(2);
    expect(keyLeaks(err)).toEqual([]);
  });

  it.each([400, 404, 409, 422])('does not retry %i and hands the response to the adapter', async (status) => {
    server.reply({ status, body: { title: 'x', status, detail: 'nope' } });
    const res = await makeHttp().request({ method: 'GET', url: `${server.url}/v2/pods/abc` });
    expect(res.status).toBe(status);
    expect(res.body).toEqual({ title: 'x', status, detail: 'nope' });
    expect(server.requests).toHaveLength(1);
    expect(recorder.delays).toEqual([]);
  });

  it.each([401, 403])('maps %i to RunPodAuthError without retrying', async (status) => {
    server.reply({ status, body: { title: 'Unauthorized', status, detail: 'missing bearer token' } });
    const err = await caught(makeHttp().request({ method: 'GET', url: `${server.url}/v2/pods` }));
    expect(err).toBeInstanceOf(RunPodAuthError);
    expect((err as RunPodAuthError).status).toBe(status);
    expect((err as Error).message).toContain('missing bearer token');
    expect(server.requests).toHaveLength(1);
    expect(keyLeaks(err)).toEqual([]);
  });

  it('times out a call that never answers and reports RunPodUnavailableError', async () => {
    server.fallback = () => 'hang';
    const started = Date.now();
    const err = await caught(
      makeHttp({ timeoutMs: 150, maxRetries: 1 }).request({ method: 'GET', url: `${server.url}/v2/pods` }),
    );
    expect(err).toBeInstanceOf(RunPodUnavailableError);
    expect((err as RunPodUnavailableError).code).toBe('TIMEOUT');
    expect((err as Error).message).toContain('timed out after 150 ms');
    expect(server.requests).toHaveLength(2);
    // Two 150 ms attempts, not a hang: the bound leaves a busy machine ample room.
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(keyLeaks(err)).toEqual([]);
  });

  it('reports a refused connection as RunPodUnavailableError after retries', async () => {
    const dead = await ScriptedServer.start();
    const url = dead.url;
    await dead.close();
    const err = await caught(makeHttp({ maxRetries: 2 }).request({ method: 'GET', url: `${url}/v2/pods` }));
    expect(err).toBeInstanceOf(RunPodUnavailableError);
    expect((err as RunPodUnavailableError).code).toBe('ECONNREFUSED');
    expect(recorder.delays).toHaveLength(2);
    expect(keyLeaks(err)).toEqual([]);
  });

  describe('a call that must not run twice (POST, e.g. create pod)', () => {
    it('is not retried after a 500: RunPod may have acted on it', async () => {
      server.fallback = () => ({ status: 500 });
      const err = await caught(
        makeHttp().request({ method: 'POST', url: `${server.url}/v2/pods`, body: {} }),
      );
      expect(err).toBeInstanceOf(RunPodUnavailableError);
      expect(server.requests).toHaveLength(1);
    });

    it('is not retried after a timeout', async () => {
      server.fallback = () => 'hang';
      const err = await caught(
        makeHttp({ timeoutMs: 100 }).request({ method: 'POST', url: `${server.url}/v2/pods`, body: {} }),
      );
      expect(err).toBeInstanceOf(RunPodUnavailableError);
      expect(server.requests).toHaveLength(1);
    });

    it('is retried after 429 and 503, which mean RunPod did not act', async () => {
      server.reply({ status: 429 }, { status: 503 }, { status: 201, body: { id: 'p1' } });
      const res = await makeHttp().request({ method: 'POST', url: `${server.url}/v2/pods`, body: { a: 1 } });
      expect(res.status).toBe(201);
      expect(server.requests).toHaveLength(3);
      expect(server.requests.every((r) => r.rawBody === '{"a":1}')).toBe(true);
    });
  });

  it('scrubs the key from anything RunPod echoes back', async () => {
    server.reply({
      status: 400,
      body: { title: 'Bad Request', status: 400, detail: `bad key ${TEST_API_KEY}` },
    });
    const res = await makeHttp().request({ method: 'GET', url: `${server.url}/v2/pods` });
    expect(JSON.stringify(res.body)).not.toContain(TEST_API_KEY);
    expect(JSON.stringify(res.body)).toContain('[REDACTED]');

    server.reply({ status: 401, body: `Authorization: Bearer ${TEST_API_KEY} rejected` });
    const err = await caught(makeHttp().request({ method: 'GET', url: `${server.url}/v2/pods` }));
    expect(keyLeaks(err)).toEqual([]);
  });

  it('scrubs the other secrets it was given (pod env values) from answers and errors', async () => {
    const secret = 'hf_podEnvSecretValue42';
    const http = makeHttp({ secrets: [secret, 'ab'] });
    server.reply({ status: 201, body: { id: 'p1', env: { HF_TOKEN: secret, SHORT: 'ab' } } });
    const res = await http.request({
      method: 'POST',
      url: `${server.url}/v2/pods`,
      body: { env: { HF_TOKEN: secret } },
    });
    expect(server.requests[0].rawBody).toContain(secret); // sent to RunPod as it is
    expect(JSON.stringify(res.body)).not.toContain(secret);
    expect(res.body).toEqual({ id: 'p1', env: { HF_TOKEN: '[REDACTED]', SHORT: 'ab' } });

    server.reply({
      status: 401,
      body: { title: 'Unauthorized', status: 401, detail: `env ${secret} refused` },
    });
    const err = await caught(http.request({ method: 'GET', url: `${server.url}/v2/pods` }));
    expect(keyLeaks(err, secret)).toEqual([]);
  });

  it('keeps an answer readable when a secret spells a JSON literal, and scrubs one JSON escapes', async () => {
    // Pod env values like "true" or "1024" scrubbed from the raw text broke every answer's JSON.
    const quoted = 'pa"ss\\word';
    const http = makeHttp({ secrets: ['true', '1024', quoted] });
    server.reply({
      status: 200,
      body: {
        id: 'p1',
        desiredStatus: 'RUNNING',
        interruptible: true,
        memoryInGb: 1024,
        env: { A: 'true', B: quoted },
      },
    });
    const res = await http.request({ method: 'GET', url: `${server.url}/v2/pods/p1` });
    expect(res.body).toEqual({
      id: 'p1',
      desiredStatus: 'RUNNING',
      interruptible: true,
      memoryInGb: 1024,
      env: { A: '[REDACTED]', B: '[REDACTED]' },
    });
  });

  it('refuses a URL that carries the key', async () => {
    const err = await caught(
      makeHttp().request({ method: 'GET', url: `${server.url}/graphql?api_key=${TEST_API_KEY}` }),
    );
    expect(err).toBeInstanceOf(RunPodError);
    expect(server.requests).toHaveLength(0);
    expect(keyLeaks(err)).toEqual([]);
  });

  it('does not expose the key when the transport itself is inspected', () => {
    const http = makeHttp();
    expect(JSON.stringify(http)).not.toContain(TEST_API_KEY);
    expect(Object.values(http).map(String).join(' ')).not.toContain(TEST_API_KEY);
  });

  it('never logs the key', async () => {
    server.reply({ status: 503, body: `Bearer ${TEST_API_KEY}` }, { status: 200 });
    await makeHttp().request({ method: 'GET', url: `${server.url}/v2/pods` });
    expect(logger.warnings.join('\n')).not.toContain(TEST_API_KEY);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.UTC(2026, 0, 1, 12, 0, 0);
  it.each([
    ['12', 12_000],
    ['0', 0],
    ['1.5', 1500],
    [new Date(now + 5000).toUTCString(), 5000],
    [new Date(now - 5000).toUTCString(), 0],
    ['soon', undefined],
    [undefined, undefined],
  ])('reads %p as %p ms', (value, expected) => {
    expect(parseRetryAfterMs(value, now)).toBe(expected);
  });
});
