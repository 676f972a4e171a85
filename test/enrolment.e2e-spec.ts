import { execFile, execFileSync } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { installerDir } from '../src/local/installer/installer-files';
import { FakeComfyUI } from './sim/comfyui/fake-comfyui';
import { CloudHarness } from './support/cloud-harness';

/**
 * Enrolling a studio machine (issue 12), against the running service and the in-repo ComfyUI simulator: an admin
 * creates a one-time token, the "installer" (this test, speaking the contract) reads the manifest with it and
 * registers its ComfyUI with it once, the worker becomes healthy, and the token and the worker's own key can do
 * nothing else.
 */

const ADMIN_KEY = 'enrolment-admin-key';
const READ_KEY = 'enrolment-read-key';
const AUTH_FAILURES = 40;
const admin = { authorization: `Bearer ${ADMIN_KEY}` };
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });

/** A POST with a Host header of our choosing (fetch will not send one): how a dashboard opened by another name is seen. */
function postWithHost(
  base: string,
  path: string,
  host: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      `${base}${path}`,
      { method: 'POST', headers: { ...headers, host, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }),
        );
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

describe('enrolment: one-time tokens, self-registration and the installer files', () => {
  let h: CloudHarness;
  /** Studio machines: ComfyUI simulators not in LOCAL_COMFYUI_URLS. */
  const machines: FakeComfyUI[] = [];
  /** Enrolled workers by machine id: their id and the key their registration answered (the list shows neither). */
  const enrolled: Record<string, { id: string; key: string }> = {};
  /** A token the refused take-over attempts left unused. */
  let reinstallToken = '';

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) {
      const comfy = new FakeComfyUI();
      await comfy.listen();
      machines.push(comfy);
    }
    h = await CloudHarness.start({
      localWorkers: 1,
      env: {
        API_KEY: ADMIN_KEY,
        API_READ_KEY: READ_KEY,
        RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURES),
      },
    });
  });
  afterAll(async () => {
    await h?.close();
    for (const comfy of machines) await comfy.close();
  });

  async function newToken(body: Record<string, unknown> = {}): Promise<any> {
    const answer = await h.request('POST', '/api/local/install-tokens', body, admin);
    expect(answer.status).toBe(201);
    return answer.body;
  }

  const register = (token: string, body: Record<string, unknown>) =>
    h.request('POST', '/api/local/workers', body, bearer(token));

  const workers = async (): Promise<any[]> =>
    (await h.get('/api/local/workers', admin)).body.workers as any[];

  it('issues a token with the three one-line commands naming this server, the token only in an env variable', async () => {
    const before = h.clock.now();
    const issued = await newToken({ ttlSeconds: 600, name: 'studio PC 1' });
    const after = h.clock.now();
    expect(issued.token).toMatch(/^cwe_[A-Za-z0-9_-]{43}$/);
    // The clock follows real time: the expiry lies 600 s after some instant during the request.
    expect(Date.parse(issued.expiresAt)).toBeGreaterThanOrEqual(before + 600_000);
    expect(Date.parse(issued.expiresAt)).toBeLessThanOrEqual(after + 600_000);
    const server = h.url;
    expect(issued.commands).toEqual({
      linux: `curl -fsSL '${server}/install/install.sh' | CW_ENROLMENT_TOKEN='${issued.token}' bash -s -- --server '${server}'`,
      macos: `curl -fsSL '${server}/install/install.sh' | CW_ENROLMENT_TOKEN='${issued.token}' bash -s -- --server '${server}'`,
      windows: `$env:CW_ENROLMENT_TOKEN='${issued.token}'; $env:CW_SERVER='${server}'; irm '${server}/install/install.ps1' | iex`,
    });
    // Without TRUST_PROXY a client cannot name another host for the commands through X-Forwarded-*.
    const spoofed = await h.request(
      'POST',
      '/api/local/install-tokens',
      {},
      {
        ...admin,
        'x-forwarded-host': 'evil.example',
        'x-forwarded-proto': 'https',
      },
    );
    expect(spoofed.body.commands.linux).toContain(`'${server}/install/install.sh'`);
    // Loopback over http sends nothing across a network: no warning.
    expect(issued).not.toHaveProperty('insecure');
    expect(issued).not.toHaveProperty('warning');
    // Only the admin key creates tokens; the token is never written to the log.
    expect((await h.request('POST', '/api/local/install-tokens', {}, bearer(READ_KEY))).status).toBe(403);
    expect((await h.request('POST', '/api/local/install-tokens', {}, bearer(issued.token))).status).toBe(401);
    expect((await h.request('POST', '/api/local/install-tokens', { ttlSeconds: 10 }, admin)).status).toBe(
      400,
    );
    expect(h.logger.has(/Enrolment token enrol-[0-9a-f]+ \(studio PC 1\) issued/)).toBe(true);
    expect(h.logger.lines.join('\n')).not.toContain(issued.token);
  });

  it('enrols a machine once: manifest, registration, listed and healthy; the second use is refused', async () => {
    const { token } = await newToken();
    const manifest = await h.get('/api/local/install-manifest', bearer(token));
    expect(manifest).toEqual({
      status: 200,
      body: { version: 1, comfyCliVersion: expect.any(String), models: [], customNodes: [] },
    });
    expect((await h.get('/api/local/install-manifest')).status).toBe(401);
    expect((await h.get('/api/local/install-manifest', bearer(READ_KEY))).status).toBe(200);

    const body = {
      url: machines[0].url,
      name: 'studio-a',
      machineId: 'machine-a',
      gpu: {
        name: 'NVIDIA GeForce RTX 4090',
        vramBytes: 25757220864,
        driver: '560.35.03',
        cudaVersion: '12.6',
        kind: 'nvidia',
      },
      models: ['checkpoints/sd_xl_base_1.0.safetensors'],
    };
    const first = await register(token, body);
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      name: 'studio-a',
      url: machines[0].url,
      source: 'api',
      reported: { gpu: body.gpu, models: body.models },
      workerKey: expect.stringMatching(/^cww_/),
    });
    const id = first.body.id as string;
    enrolled['machine-a'] = { id, key: first.body.workerKey };
    await h.until(async () => (await workers()).some((w) => w.id === id && w.healthy));
    // Neither the key nor the machine id is shown (a machine id is half of a claim to replace the worker).
    for (const shown of [first.body, (await workers()).find((w) => w.id === id)])
      expect(shown).not.toHaveProperty('machineId');
    expect((await workers()).find((w) => w.id === id)).not.toHaveProperty('workerKey');
    expect((await h.get('/api/local/workers', bearer(READ_KEY))).body.workers[0]).not.toHaveProperty(
      'machineId',
    );

    const again = await register(token, { ...body, machineId: 'machine-b', url: machines[1].url });
    expect(again.status).toBe(401);
    expect(again.body.message).toMatch(/already used or expired: create a new one/);
    // A used token cannot read the manifest either.
    expect((await h.get('/api/local/install-manifest', bearer(token))).status).toBe(401);
    expect((await workers()).filter((w) => w.url === machines[1].url)).toEqual([]);
  });

  it('refuses an expired token and an unknown one, and lets a token do nothing but register and read the manifest', async () => {
    const { token: expiring } = await newToken({ ttlSeconds: 60 });
    h.clock.advance(61_000);
    expect((await register(expiring, { url: machines[1].url })).status).toBe(401);
    expect((await h.get('/api/local/install-manifest', bearer(expiring))).status).toBe(401);
    expect((await register(`cwe_${'x'.repeat(43)}`, { url: machines[1].url })).status).toBe(401);

    const { token } = await newToken();
    const env = (await workers()).find((w) => w.source === 'env');
    const attempts: Array<[string, string, unknown?]> = [
      ['GET', '/api/local/workers'],
      ['GET', '/api/stats'],
      ['GET', '/api/jobs'],
      ['POST', '/api/jobs', { workflow: {} }],
      ['PATCH', `/api/local/workers/${env.id}`, { enabled: false }],
      ['DELETE', `/api/local/workers/${env.id}`],
      ['POST', '/api/local/install-tokens', {}],
      ['PUT', '/api/cloud/config', { maxPods: 0 }],
    ];
    for (const [method, path, body] of attempts) {
      const answer = await h.request(method, path, body, bearer(token));
      expect({ method, path, status: answer.status }).toEqual({ method, path, status: 401 });
    }
    // Still unused after all that: it registers.
    const c = await register(token, { url: machines[1].url, machineId: 'machine-c' });
    expect(c.status).toBe(201);
    enrolled['machine-c'] = { id: c.body.id, key: c.body.workerKey };
  });

  it('two registrations racing with one token: exactly one gets in', async () => {
    const { token } = await newToken();
    const answers = await Promise.all([
      register(token, { url: machines[2].url, machineId: 'race-1' }),
      register(token, { url: `${machines[2].url}/`.replace('127.0.0.1', 'localhost'), machineId: 'race-2' }),
    ]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 401]);
    const winner = answers.find((a) => a.status === 201)!.body;
    const key = answers.find((a) => a.status === 201)!.body.workerKey as string;
    expect(
      (await h.request('DELETE', `/api/local/workers/${winner.id}`, undefined, bearer(key))).status,
    ).toBe(204);
  });

  it("a token cannot take over another machine's worker by its machine id or its URL: 409, the victim unchanged, the token unused", async () => {
    const victim = enrolled['machine-a'];
    const victimBefore = (await workers()).find((w) => w.id === victim.id);
    expect(victimBefore).toMatchObject({ url: machines[0].url, name: 'studio-a' });
    const { token } = await newToken();
    const attempts: Array<[string, Record<string, unknown>]> = [
      ['machine id, no key', { url: machines[2].url, machineId: 'machine-a' }],
      [
        'machine id, wrong key',
        { url: machines[2].url, machineId: 'machine-a', previousWorkerKey: `cww_${'z'.repeat(43)}` },
      ],
      [
        "machine id, another worker's key",
        { url: machines[2].url, machineId: 'machine-a', previousWorkerKey: enrolled['machine-c'].key },
      ],
      ["URL of another machine's worker", { url: machines[0].url, machineId: 'machine-z' }],
      [
        "URL of another machine's worker, with its key",
        { url: machines[0].url, machineId: 'machine-z', previousWorkerKey: victim.key },
      ],
    ];
    for (const [what, body] of attempts) {
      const answer = await register(token, body);
      expect({ what, status: answer.status }).toEqual({ what, status: 409 });
      expect(answer.body).not.toHaveProperty('workerKey');
      expect(JSON.stringify(answer.body)).not.toContain(victim.key);
    }
    expect((await register(token, { url: machines[2].url, machineId: 'machine-a' })).body.message).toMatch(
      /uninstall on that machine first, or have an admin delete the worker/,
    );
    expect((await workers()).find((w) => w.id === victim.id)).toMatchObject({
      url: machines[0].url,
      name: 'studio-a',
      healthy: true,
    });
    expect((await workers()).some((w) => w.url === machines[2].url)).toBe(false);
    // Refused before it was consumed: the token still reads the manifest, and the next test uses it.
    expect((await h.get('/api/local/install-manifest', bearer(token))).status).toBe(200);
    reinstallToken = token;
  });
  it('a re-install of the same machine with its previous worker key replaces its registration (same id, new URL, old key revoked); the key removes only its own worker', async () => {
    const before = enrolled['machine-a'];
    const replaced = await register(reinstallToken, {
      url: machines[2].url,
      name: 'studio-a2',
      machineId: 'machine-a',
      previousWorkerKey: before.key,
    });
    expect(replaced.status).toBe(201);
    expect(replaced.body).toMatchObject({ id: before.id, url: machines[2].url, name: 'studio-a2' });
    expect(replaced.body.workerKey).not.toBe(before.key);
    expect(JSON.stringify(replaced.body)).not.toContain(before.key);
    expect(h.logger.lines.join('\n')).not.toContain(before.key);
    const mine = (await workers()).filter((w) => w.id === before.id);
    expect(mine).toHaveLength(1);
    expect(mine[0].url).toBe(machines[2].url);
    expect((await workers()).some((w) => w.url === machines[0].url)).toBe(false);
    await h.until(async () => (await workers()).some((w) => w.id === before.id && w.healthy));
    // The old key was replaced: it removes nothing any more.
    expect(
      (await h.request('DELETE', `/api/local/workers/${before.id}`, undefined, bearer(before.key))).status,
    ).toBe(401);

    const key = replaced.body.workerKey as string;
    const other = enrolled['machine-c'];
    const env = (await workers()).find((w) => w.source === 'env');
    for (const target of [other.id, env.id, 'local-nope']) {
      const answer = await h.request('DELETE', `/api/local/workers/${target}`, undefined, bearer(key));
      expect({ target, status: answer.status }).toEqual({ target, status: 401 });
    }
    // The key is good for DELETE only, on its own worker.
    expect(
      (await h.request('PATCH', `/api/local/workers/${before.id}`, { enabled: false }, bearer(key))).status,
    ).toBe(401);
    expect((await h.get('/api/local/workers', bearer(key))).status).toBe(401);
    expect(
      (await h.request('DELETE', `/api/local/workers/${before.id}`, undefined, bearer(key))).status,
    ).toBe(204);
    expect((await workers()).some((w) => w.id === before.id)).toBe(false);
  });

  it("the admin key replaces a machine's worker without its key, but never another machine's through its URL; a token takes over an admin-registered URL only with its key", async () => {
    const c = enrolled['machine-c'];
    const byAdmin = await h.request(
      'POST',
      '/api/local/workers',
      { url: machines[1].url, machineId: 'machine-c', name: 'admin-replaced' },
      admin,
    );
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body).toMatchObject({
      id: c.id,
      name: 'admin-replaced',
      workerKey: expect.stringMatching(/^cww_/),
    });
    expect((await h.request('DELETE', `/api/local/workers/${c.id}`, undefined, bearer(c.key))).status).toBe(
      401,
    );
    // Another machine id at machine-c's URL: a conflict, even for the admin key.
    const other = await h.request(
      'POST',
      '/api/local/workers',
      { url: machines[1].url, machineId: 'machine-y' },
      admin,
    );
    expect(other.status).toBe(409);
    expect((await h.request('DELETE', `/api/local/workers/${c.id}`, undefined, admin)).status).toBe(204);

    // A worker the admin registered without a machine id: a token needs its key to take its URL over.
    const anonymous = await h.request('POST', '/api/local/workers', { url: machines[0].url }, admin);
    expect(anonymous.status).toBe(201);
    expect(anonymous.body.workerKey).toMatch(/^cww_/);
    const { token } = await newToken();
    expect((await register(token, { url: machines[0].url, machineId: 'machine-q' })).status).toBe(409);
    const taken = await register(token, {
      url: machines[0].url,
      machineId: 'machine-q',
      previousWorkerKey: anonymous.body.workerKey,
    });
    expect(taken.status).toBe(201);
    expect(taken.body.id).toBe(anonymous.body.id);
    expect(
      (
        await h.request(
          'DELETE',
          `/api/local/workers/${taken.body.id}`,
          undefined,
          bearer(taken.body.workerKey),
        )
      ).status,
    ).toBe(204);
  });

  it('warns when the commands would send the token over plain http to a host other than loopback', async () => {
    const port = new URL(h.url).port;
    const answer = await postWithHost(h.url, '/api/local/install-tokens', `workers.lan:${port}`, admin);
    expect(answer.status).toBe(201);
    expect(answer.body.commands.linux).toContain(`'http://workers.lan:${port}/install/install.sh'`);
    expect(answer.body).toMatchObject({
      insecure: true,
      warning: expect.stringMatching(/plain http.*PUBLIC_URL/s),
    });
    const local = await postWithHost(h.url, '/api/local/install-tokens', `localhost:${port}`, admin);
    expect(local.status).toBe(201);
    expect(local.body).not.toHaveProperty('insecure');
  });

  it('keeps the outbound address rules for self-registered URLs, and gives the token back when refused', async () => {
    const { token } = await newToken();
    const refused = await register(token, { url: 'http://169.254.169.254/', machineId: 'meta' });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/link-local/);
    const bad = await register(token, { url: machines[1].url, machineId: '../../etc', models: ['x'] });
    expect(bad.status).toBe(400);
    // Refused before it was consumed: the installer can fix its input and retry with the same token.
    expect((await register(token, { url: machines[1].url, machineId: 'machine-d' })).status).toBe(201);
  });

  it('keeps an enrolled worker, what it reported and its key across a restart; PUBLIC_URL names the server', async () => {
    const { token } = await newToken();
    // As the installer sends a CPU-only machine: unknown GPU fields are null.
    const cpu = { name: null, vramBytes: null, driver: null, cudaVersion: null, kind: 'cpu' };
    const kept = await register(token, {
      url: machines[0].url.replace('127.0.0.1', 'localhost'),
      machineId: 'machine-restart',
      gpu: cpu,
      models: ['loras/a.safetensors'],
    });
    expect(kept.status).toBe(201);
    await h.stopApp();
    await h.startApp({ PUBLIC_URL: 'https://workers.example.com/' });
    const after = (await workers()).find((w) => w.id === kept.body.id);
    expect(after).toMatchObject({ reported: { gpu: cpu, models: ['loras/a.safetensors'] } });
    const issued = await newToken();
    expect(issued.commands.linux).toBe(
      `curl -fsSL 'https://workers.example.com/install/install.sh' | CW_ENROLMENT_TOKEN='${issued.token}' bash -s -- --server 'https://workers.example.com'`,
    );
    const key = kept.body.workerKey as string;
    expect(
      (await h.request('DELETE', `/api/local/workers/${kept.body.id}`, undefined, bearer(key))).status,
    ).toBe(204);
  });

  it('serves the installer files without a key (no-cache), and the zipapp runs', async () => {
    const dir = installerDir();
    for (const [path, file, type] of [
      ['/install/install.sh', 'install.sh', /^text\/x-shellscript/],
      ['/install/install.ps1', 'install.ps1', /^text\/plain/],
    ] as const) {
      const response = await fetch(`${h.url}${path}`);
      if (!existsSync(join(dir, file))) {
        expect(response.status).toBe(404);
        continue;
      }
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(type);
      expect(response.headers.get('cache-control')).toBe('no-cache');
      expect(await response.text()).toBe(readFileSync(join(dir, file), 'utf8'));
    }
    const pyz = await fetch(`${h.url}/install/cw-installer.pyz`);
    if (!existsSync(join(dir, 'cw_install', '__main__.py'))) {
      expect(pyz.status).toBe(404);
      return;
    }
    expect(pyz.status).toBe(200);
    expect(pyz.headers.get('content-type')).toBe('application/zip');
    const tmp = mkdtempSync(join(tmpdir(), 'pyz-'));
    try {
      const file = join(tmp, 'cw-installer.pyz');
      writeFileSync(file, Buffer.from(await pyz.arrayBuffer()));
      expect(execFileSync('python3', ['-m', 'zipfile', '-l', file]).toString()).toMatch(/__main__\.py/);
      expect(execFileSync('python3', [file, '--help']).toString()).toMatch(/install/);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("the installer's own client (installer/cw_install) reads the manifest, registers with a token and unregisters with its key", async () => {
    const dir = installerDir();
    if (!existsSync(join(dir, 'cw_install', 'enrol.py'))) return; // the installer's side is not in this tree
    const { token } = await newToken();
    const script = [
      'import json, sys',
      'from cw_install import enrol, manifest',
      'server, token, url = sys.argv[1:4]',
      'doc = manifest.fetch(server, token)',
      'gpu = {"name": None, "vramBytes": None, "driver": None, "cudaVersion": None, "kind": "cpu"}',
      'body = enrol.registration_body(url, "py-studio", "py-machine-1", gpu, ["checkpoints/x.safetensors"])',
      'reg = enrol.register(server, token, body)',
      'print(json.dumps({"manifest": doc, "reg": reg}))',
    ].join('\n');
    // Asynchronously: the service answers from this very process.
    const run = promisify(execFile);
    const { stdout } = await run(
      'python3',
      ['-c', script, h.url, token, machines[1].url.replace('127.0.0.1', 'localhost')],
      {
        env: { ...process.env, PYTHONPATH: dir },
      },
    );
    const { manifest, reg } = JSON.parse(stdout) as {
      manifest: any;
      reg: { workerId: string; workerKey: string };
    };
    expect(manifest).toMatchObject({ version: 1, models: [], customNodes: [] });
    const listed = (await workers()).find((w) => w.id === reg.workerId);
    expect(listed).toMatchObject({ name: 'py-studio', source: 'api' });
    const unregister = [
      'import sys',
      'from cw_install import enrol',
      'print(enrol.unregister(*sys.argv[1:4]))',
    ].join('\n');
    const removed = await run('python3', ['-c', unregister, h.url, reg.workerId, reg.workerKey], {
      env: { ...process.env, PYTHONPATH: dir },
    });
    expect(removed.stdout.trim()).toBe('deleted');
    expect((await workers()).some((w) => w.id === reg.workerId)).toBe(false);
  });

  it('counts bad enrolment credentials as failed authentication (429 past the limit)', async () => {
    h.clock.advance(61_000);
    let status = 0;
    for (let i = 0; i <= AUTH_FAILURES && status !== 429; i++)
      status = (await register(`cwe_${'y'.repeat(43)}`, { url: machines[1].url })).status;
    expect(status).toBe(429);
    expect((await h.get('/api/stats', admin)).status).toBe(429);
    h.clock.advance(61_000);
    expect((await h.get('/api/stats', admin)).status).toBe(200);
  });
});
