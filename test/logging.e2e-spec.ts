import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceProcess } from './support/service-process';
import { TestDatabase } from './support/test-database';

const API_KEY = 'logging-test-admin-key-0123456789';
// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[/;

interface RequestLine {
  level: string;
  method: string;
  route: string;
  status: number;
  durationMs: number;
  requestId: unknown;
  msg: string;
}

async function until(done: () => boolean, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The real service (src/main.ts) in a child process whose stdout is a pipe, as under Docker or systemd. */
describe('logs of the service process (LOG_FORMAT, LOG_LEVEL, one line per request)', () => {
  const db = new TestDatabase();
  let dataDir: string;
  let service: ServiceProcess | undefined;

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'logging-e2e-'));
  });

  afterEach(async () => {
    service?.kill();
    await service?.whenExited();
    service = undefined;
    rmSync(dataDir, { recursive: true, force: true });
  });

  afterAll(async () => {
    await db.drop();
  });

  function start(env: Record<string, string>): Promise<string> {
    service = new ServiceProcess({ ...db.env(), DATA_DIR: dataDir, API_KEY, HOST: '127.0.0.1', ...env });
    return service.start();
  }

  it('writes JSON lines (stdout not a terminal): one per request with method, route pattern, status and duration, never the key', async () => {
    const url = await start({});
    const jobId = '00000000-0000-4000-8000-000000000000';
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const missing = await fetch(`${url}/api/jobs/${jobId}?status=x`, { headers: { 'x-api-key': API_KEY } });
    expect(missing.status).toBe(404);
    const wrongKey = await fetch(`${url}/api/stats`, {
      headers: { authorization: `Bearer ${API_KEY}-wrong` },
    });
    expect(wrongKey.status).toBe(401);

    const requestLines = (): RequestLine[] =>
      service!.output
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as RequestLine & Record<string, unknown>)
        .filter((entry) => 'durationMs' in entry);
    await until(() => requestLines().length >= 3);

    // Every line, the service's own and the request lines, is one JSON object.
    const lines = service!.output.split('\n').filter((line) => line.trim() !== '');
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(lines.map((line) => JSON.parse(line) as { msg: string }).map((e) => e.msg)).toContainEqual(
      expect.stringMatching(/^Listening on http/),
    );

    const [health, job, stats] = requestLines();
    expect(health).toMatchObject({ level: 'info', method: 'GET', route: '/health', status: 200 });
    expect(job).toMatchObject({ method: 'GET', route: '/api/jobs/:id', status: 404 });
    expect(stats).toMatchObject({ method: 'GET', route: '/api/stats', status: 401 });
    for (const line of [health, job, stats]) {
      expect(line.durationMs).toEqual(expect.any(Number));
      expect(line.requestId).toBeDefined();
      expect(Object.keys(line)).not.toContain('req');
    }
    // No key (right or wrong), no header, no raw URL with its id or query string.
    expect(service!.output).not.toContain(API_KEY);
    expect(service!.output).not.toMatch(/authorization|x-api-key/i);
    expect(service!.output).not.toContain(jobId);
    expect(service!.output).not.toMatch(ANSI);
  });

  it('LOG_FORMAT=pretty writes readable lines without colour codes when stdout is not a terminal', async () => {
    const url = await start({ LOG_FORMAT: 'pretty' });
    await fetch(`${url}/health/live`);
    await until(() => /GET \/health\/live 200/.test(service!.output));
    expect(service!.output).toMatch(/INFO.*Listening on http/);
    expect(service!.output).not.toMatch(ANSI);
    expect(service!.output).not.toMatch(/^\{/m);
  });
});
