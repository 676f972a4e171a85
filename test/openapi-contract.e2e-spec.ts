import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ShutdownState } from '../src/common/shutdown-state';
import type { AppConfig } from '../src/config/app-config';
import { APP_CONFIG } from '../src/config/config.module';
import { CloudHarness } from './support/cloud-harness';
import { type Answer, OpenApiContract, parseServerSentEvents } from './support/openapi-contract';
import { SseReader } from './support/sse-reader';
import { pngWorkflow } from './support/workflows';

/**
 * The contract test: boots the service against the simulators, reads /api/docs-json, and drives every documented
 * operation into its success status and the error statuses that are cheap to reach. Every answer must have a
 * status the document lists for that operation and a JSON body that validates against the documented schema
 * (closed objects: an undocumented field fails too). Every documented request example is sent as-is, every
 * documented example must validate against its own schema, and every route the router serves must be in the
 * document. A documented status no scenario reaches must be listed in NOT_DRIVEN with the reason.
 */

const ADMIN_KEY = 'contract-admin-key';
const READ_KEY = 'contract-read-key';
const CREATE_LIMIT = 25;
const AUTH_FAILURE_LIMIT = 5;

/** Documented statuses this test does not reach, and why (each is covered by its own e2e test or unreachable cheaply). */
const NOT_DRIVEN: Record<string, string> = {
  'POST /api/cloud/spawn 504': 'needs a real wait past the boot deadline plus two control-loop intervals',
  // The build ships installer/; a build without it answers 404 (InstallerFiles, src/local/installer specs).
  'GET /install/install.sh 404': 'only a build without installer/install.sh',
  'GET /install/install.ps1 404': 'only a build without installer/install.ps1',
  'GET /install/cw-installer.pyz 404': 'only a build without installer/cw_install',
};

type Credential = 'admin' | 'read' | 'none' | 'wrong';

interface Call {
  /** Concrete path (with query) when the operation's path has parameters or a query is wanted. */
  path?: string;
  body?: unknown;
  /** Sent as-is with content-type JSON (malformed JSON, oversized bodies). */
  rawBody?: string;
  as?: Credential;
  /** Sent as `Authorization: Bearer <bearer>` instead of a key (enrolment tokens, worker keys). */
  bearer?: string;
}

describe('OpenAPI contract: every route answers only what /api/docs-json documents', () => {
  let h: CloudHarness;
  let contract: OpenApiContract;
  const reached = new Map<string, Set<number>>();

  beforeAll(async () => {
    h = await CloudHarness.start({
      localWorkers: 1,
      serverless: true,
      env: {
        API_KEY: ADMIN_KEY,
        API_READ_KEY: READ_KEY,
        MAX_REQUEST_BODY_MB: '1',
        RATE_LIMIT_CREATE_PER_MINUTE: String(CREATE_LIMIT),
        RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: String(AUTH_FAILURE_LIMIT),
      },
    });
    const answer = await fetch(`${h.url}/api/docs-json`);
    expect(answer.status).toBe(200);
    contract = new OpenApiContract((await answer.json()) as Record<string, any>);
  });

  afterAll(async () => {
    await h?.close();
  });

  /** Calls one documented operation and asserts the answer is documented; returns it for further checks. */
  async function call(key: string, request: Call = {}): Promise<Answer & { json: any }> {
    const [method, template] = key.split(' ');
    const path = request.path ?? template;
    if (/[{}]/.test(path)) throw new Error(`${key}: give a concrete path`);
    const headers: Record<string, string> = {};
    const as = request.as ?? 'admin';
    if (as === 'admin') headers.authorization = `Bearer ${ADMIN_KEY}`;
    if (as === 'read') headers['x-api-key'] = READ_KEY;
    if (as === 'wrong') headers['x-api-key'] = 'not-the-key';
    if (request.bearer) headers.authorization = `Bearer ${request.bearer}`;
    const body = request.rawBody ?? (request.body !== undefined ? JSON.stringify(request.body) : undefined);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${h.url}${path}`, { method, headers, body });
    const text = await response.text();
    const answer = { status: response.status, contentType: response.headers.get('content-type'), text };
    const problems = contract.problems(key, answer);
    expect({ request: `${method} ${path} as ${as}`, problems, body: text.slice(0, 500) }).toEqual({
      request: `${method} ${path} as ${as}`,
      problems: [],
      body: text.slice(0, 500),
    });
    if (!reached.has(key)) reached.set(key, new Set());
    reached.get(key)!.add(answer.status);
    const isJson = answer.contentType?.startsWith('application/json') && text.length > 0;
    return { ...answer, json: isJson ? JSON.parse(text) : undefined };
  }

  async function expectStatus(key: string, status: number, request: Call = {}): Promise<any> {
    const answer = await call(key, request);
    expect({ key, status: answer.status, body: answer.json }).toEqual({ key, status, body: answer.json });
    return answer.json;
  }

  /** The documented request body examples of an operation, sent as-is (what "Try it out" sends). */
  function examplesOf(key: string): unknown[] {
    return Object.values(contract.requestExamples(key));
  }

  function fill(template: string, values: Record<string, string>): string {
    return template.replace(/\{([^}]+)\}/g, (_match, name: string) =>
      encodeURIComponent(values[name] ?? 'x'),
    );
  }

  it('documents every route the router serves, and nothing it does not serve', () => {
    const router = h.app!.getHttpAdapter().getInstance().router as {
      stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }>;
    };
    const served = router.stack
      .filter((layer) => layer.route)
      .flatMap((layer) =>
        Object.keys(layer.route!.methods)
          .filter((method) => method !== '_all')
          .map((method) => `${method.toUpperCase()} ${layer.route!.path.replace(/:(\w+)/g, '{$1}')}`),
      )
      // Swagger UI and its JSON are served by SwaggerModule itself, outside the document they serve; the
      // dashboard's page fallback (index.html for the app's own page paths only, src/http/dashboard.module.ts)
      // is a web page, not an API operation.
      .filter((key) => !/ \/api\/docs/.test(key) && key !== 'GET {*any}');
    const documented = contract.operations().map((operation) => operation.key);
    expect(served.length).toBeGreaterThan(15);
    expect([...new Set(served)].sort()).toEqual([...documented].sort());
  });

  it('has an example for every error status, and each example validates against its own schema', () => {
    for (const { key, operation } of contract.operations()) {
      for (const [status, response] of Object.entries(operation.responses as Record<string, any>)) {
        if (Number(status) < 400) continue;
        // A health check's 503 answers the health body itself (documented by its schema), not an error.
        if (key.startsWith('GET /health')) continue;
        const examples = Object.values<any>(response.content?.['application/json']?.examples ?? {});
        expect({ key, status, examples: examples.length > 0 }).toEqual({ key, status, examples: true });
        for (const example of examples) expect(example.value.statusCode).toBe(Number(status));
      }
    }
    const problems = contract
      .allExamples()
      .flatMap(({ where, schema, value }) => contract.schemaProblems(where, schema, value));
    expect(problems).toEqual([]);
  });

  it('every error status has its own examples (no shared example body across codes)', () => {
    const spawn = contract.operation('POST /api/cloud/spawn').responses;
    const messages = (status: number) =>
      Object.values(spawn[status].content['application/json'].examples).map((e: any) => e.value.message);
    expect(new Set([...messages(400), ...messages(409), ...messages(503)]).size).toBe(
      messages(400).length + messages(409).length + messages(503).length,
    );
  });

  it('health and the read-only routes answer 200 in their documented shape', async () => {
    for (const { key, path, method, operation } of contract.operations()) {
      if (method !== 'get' || path.includes('{')) continue;
      // An event stream does not end; the events test reads GET /api/events as it arrives.
      if (operation['x-server-sent-events']) continue;
      const publicRoute = Array.isArray(operation.security) && operation.security.length === 0;
      await expectStatus(key, 200, { as: publicRoute ? 'none' : 'read' });
    }
    await expectStatus('GET /api/cloud/pods', 200, { path: '/api/cloud/pods?all=true&limit=5' });
    await expectStatus('GET /api/jobs', 200, { path: '/api/jobs?status=completed&limit=3' });
    await expectStatus('GET /api/jobs', 400, { path: '/api/jobs?status=lost' });
    // Query values reach the parse pipes as sent: a word is refused, not read as false or NaN.
    await expectStatus('GET /api/jobs', 400, { path: '/api/jobs?limit=ten' });
    await expectStatus('GET /api/cloud/pods', 400, { path: '/api/cloud/pods?all=maybe' });
    await expectStatus('GET /api/cloud/pods', 400, { path: '/api/cloud/pods?all=true&limit=ten' });
    await expectStatus('POST /api/cloud/spawn', 400, { path: '/api/cloud/spawn?wait=perhaps', body: {} });
  });

  it('jobs: the documented example runs to completion; outputs, events, cancel and their errors', async () => {
    const [example] = examplesOf('POST /api/jobs');
    const job = await expectStatus('POST /api/jobs', 202, { body: example });
    // Follow it live: the stream ends by itself after the job's final status.
    const live = await call('GET /api/jobs/{id}/events', { path: `/api/jobs/${job.id}/events`, as: 'read' });
    expect(live.status).toBe(200);
    const events = parseServerSentEvents(live.text);
    const documentedEvents = contract.operation('GET /api/jobs/{id}/events')['x-server-sent-events'];
    for (const event of events) {
      expect(Object.keys(documentedEvents)).toContain(event.event);
      expect(
        contract.schemaProblems(`event ${event.event}`, documentedEvents[event.event].data, event.data),
      ).toEqual([]);
    }
    expect(events.at(-1)).toMatchObject({ event: 'status', data: { id: job.id, status: 'completed' } });

    const done = await expectStatus('GET /api/jobs/{id}', 200, { path: `/api/jobs/${job.id}`, as: 'read' });
    const output = done.outputs[0];
    const bytes = await call('GET /api/jobs/{id}/outputs/{filename}', { path: output.url, as: 'read' });
    expect(bytes.status).toBe(200);
    await expectStatus('GET /api/jobs/{id}/outputs/{filename}', 404, {
      path: `/api/jobs/${job.id}/outputs/nope.png`,
    });
    await expectStatus('GET /api/jobs/{id}/outputs/{filename}', 404, {
      path: '/api/jobs/job-nope/outputs/a.png',
    });
    // An ended job: one status event, then the end of the stream.
    const ended = await call('GET /api/jobs/{id}/events', { path: `/api/jobs/${job.id}/events` });
    expect(parseServerSentEvents(ended.text).map((event) => event.event)).toEqual(['status']);
    await expectStatus('GET /api/jobs/{id}/events', 404, { path: '/api/jobs/job-nope/events' });
    await expectStatus('GET /api/jobs/{id}', 404, { path: '/api/jobs/job-nope' });

    // A job that waits for a pod (none will start: pods are capped at 0) is cancelled while queued.
    await expectStatus('PUT /api/cloud/config', 200, { body: { maxPods: 0 } });
    const queued = await expectStatus('POST /api/jobs', 202, {
      body: { ...(example as object), backend: 'pod' },
    });
    const cancelled = await expectStatus('DELETE /api/jobs/{id}', 200, { path: `/api/jobs/${queued.id}` });
    // Pod-only with no pod allowed ends at once (unroutable) or is cancelled while queued: either way it ended.
    expect(['cancelled', 'failed']).toContain(cancelled.status);
    await expectStatus('DELETE /api/jobs/{id}', 404, { path: '/api/jobs/job-nope' });
    await expectStatus('PUT /api/cloud/config', 200, { body: { maxPods: 5 } });

    await expectStatus('POST /api/jobs', 400, { body: { workflow: {} } });
    await expectStatus('POST /api/jobs', 400, {
      body: { workflow: (example as any).workflow, images: [{ name: 'a.png', image: 'not base64!' }] },
    });
    await expectStatus('POST /api/jobs', 400, {
      body: { workflow: (example as any).workflow, colour: 'red' },
    });
    await expectStatus('POST /api/jobs', 400, { rawBody: '{"workflow": ' });
    await expectStatus('POST /api/jobs', 413, {
      rawBody: JSON.stringify({ workflow: { x: 'y'.repeat(1_100_000) } }),
    });
  });

  it('jobs: a quote answers every candidate and the pick, to the read-only key, validated like a submit', async () => {
    for (const body of examplesOf('POST /api/jobs/quote')) {
      const { webhookUrl: _webhook, ...example } = body as Record<string, unknown>;
      const quote = await expectStatus('POST /api/jobs/quote', 200, { body: example, as: 'read' });
      expect(quote.candidates.length).toBeGreaterThan(0);
      expect(quote.pick.why).toMatch(/fixed order/);
    }
    await expectStatus('POST /api/jobs/quote', 400, { body: { workflow: {} }, as: 'read' });
    await expectStatus('POST /api/jobs/quote', 413, {
      rawBody: JSON.stringify({ workflow: { x: 'y'.repeat(1_100_000) } }),
    });
  });

  it('jobs: 422 with the missing names for a workflow no local worker can run when only local may run it', async () => {
    // Once the worker's capabilities are read (GET /api/local/workers shows them in their documented shape).
    const deadline = Date.now() + 20_000;
    while (!(await expectStatus('GET /api/local/workers', 200)).workers.every((w: any) => w.capabilities)) {
      if (Date.now() > deadline) throw new Error('local worker capabilities never read');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const workflow = {
      '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'not-on-any-worker.safetensors' } },
      '2': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
      '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'x' } },
    };
    const refused = await expectStatus('POST /api/jobs', 422, { body: { workflow, backend: 'local' } });
    await expectStatus('POST /api/jobs/quote', 422, { body: { workflow, backend: 'local' } });
    expect(refused.missing).toEqual({
      nodes: [],
      models: [{ folder: 'checkpoints', name: 'not-on-any-worker.safetensors' }],
    });
  });

  it('events: the fleet stream says hello, streams only documented events, resets; recent lists them', async () => {
    // The stream stays open, so it is read as it arrives rather than through call(), which reads to the end.
    const live = await SseReader.open(`${h.url}/api/events`, { 'x-api-key': READ_KEY });
    const answer = { status: live.status, contentType: live.contentType, text: '' };
    expect(contract.problems('GET /api/events', answer)).toEqual([]);
    if (!reached.has('GET /api/events')) reached.set('GET /api/events', new Set());
    reached.get('GET /api/events')!.add(live.status);
    const job = await expectStatus('POST /api/jobs', 202, { body: { workflow: pngWorkflow('events') } });
    await live.waitFor((event) => event.event === 'jobCompleted' && event.data.jobId === job.id);
    const reset = await SseReader.open(`${h.url}/api/events`, {
      'x-api-key': READ_KEY,
      'last-event-id': '1',
    });
    await reset.waitFor((event) => event.event === 'reset');
    await live.close();
    await reset.close();
    const documentedEvents = contract.operation('GET /api/events')['x-server-sent-events'];
    for (const event of [...live.events, ...reset.events]) {
      expect(Object.keys(documentedEvents)).toContain(event.event);
      expect(
        contract.schemaProblems(`event ${event.event}`, documentedEvents[event.event].data, event.data),
      ).toEqual([]);
    }
    expect(live.events.map((event) => event.event)).toEqual(
      expect.arrayContaining(['hello', 'jobQueued', 'jobStarted', 'jobCompleted']),
    );

    const recent = await expectStatus('GET /api/events/recent', 200, {
      path: '/api/events/recent?limit=20',
      as: 'read',
    });
    expect(recent.events.map((event: { jobId?: string }) => event.jobId)).toContain(job.id);
    await expectStatus('GET /api/events/recent', 400, { path: '/api/events/recent?limit=ten' });
  });

  it('local workers: the documented example registers (201), replaces (201), then 409, 400, 204, 404 and 409 for an env worker', async () => {
    const [example] = examplesOf('POST /api/local/workers') as Array<Record<string, unknown>>;
    const worker = await expectStatus('POST /api/local/workers', 201, { body: example });
    // The same machine again: its registration is replaced, same id.
    const replaced = await expectStatus('POST /api/local/workers', 201, { body: example });
    expect(replaced.id).toBe(worker.id);
    // Without the machine id, its URL is another worker's.
    const { machineId: _machine, ...anonymous } = example;
    await expectStatus('POST /api/local/workers', 409, { body: anonymous });
    await expectStatus('POST /api/local/workers', 400, { body: { url: 'ftp://127.0.0.1:8188' } });
    await expectStatus('POST /api/local/workers', 400, { rawBody: '{' });
    await expectStatus('POST /api/local/workers', 413, {
      rawBody: JSON.stringify({ url: 'y'.repeat(1_100_000) }),
    });
    await expectStatus('DELETE /api/local/workers/{id}', 204, { path: `/api/local/workers/${worker.id}` });
    await expectStatus('DELETE /api/local/workers/{id}', 404, { path: `/api/local/workers/${worker.id}` });
    const list = await expectStatus('GET /api/local/workers', 200);
    const fromEnv = list.workers.find((w: any) => w.source === 'env');
    await expectStatus('DELETE /api/local/workers/{id}', 409, { path: `/api/local/workers/${fromEnv.id}` });
  });

  it('enrolment: tokens (201, 400, 413), the manifest and a registration with a token, its reuse (401), a re-install (409 without the previous worker key, 201 with it), the worker key', async () => {
    h.clock.advance(61_000); // a fresh create-rate window
    let issued: any;
    for (const body of examplesOf('POST /api/local/install-tokens'))
      issued = await expectStatus('POST /api/local/install-tokens', 201, { body });
    await expectStatus('POST /api/local/install-tokens', 400, { body: { ttlSeconds: 10 } });
    await expectStatus('POST /api/local/install-tokens', 400, { rawBody: '{' });
    await expectStatus('POST /api/local/install-tokens', 413, {
      rawBody: JSON.stringify({ name: 'y'.repeat(1_100_000) }),
    });
    const manifest = 'GET /api/local/install-manifest';
    await expectStatus(manifest, 200, { bearer: issued.token });
    const [example] = examplesOf('POST /api/local/workers') as Array<Record<string, unknown>>;
    const body = { ...example, machineId: 'contract-enrolled' };
    const worker = await expectStatus('POST /api/local/workers', 201, { body, bearer: issued.token });
    await expectStatus('POST /api/local/workers', 401, { body, bearer: issued.token });
    await expectStatus(manifest, 401, { bearer: issued.token });
    expect(worker).not.toHaveProperty('machineId');
    expect(issued).not.toHaveProperty('insecure'); // the harness is on loopback
    // Another token may replace this machine's worker only with the key of its earlier registration.
    const again = await expectStatus('POST /api/local/install-tokens', 201, { body: {} });
    await expectStatus('POST /api/local/workers', 409, { body, bearer: again.token });
    const reinstalled = await expectStatus('POST /api/local/workers', 201, {
      body: { ...body, previousWorkerKey: worker.workerKey },
      bearer: again.token,
    });
    expect(reinstalled.id).toBe(worker.id);
    const path = `/api/local/workers/${worker.id}`;
    await expectStatus('DELETE /api/local/workers/{id}', 401, { path, bearer: worker.workerKey });
    await expectStatus('DELETE /api/local/workers/{id}', 401, {
      path: '/api/local/workers/local-nope',
      bearer: reinstalled.workerKey,
    });
    await expectStatus('DELETE /api/local/workers/{id}', 204, { path, bearer: reinstalled.workerKey });
  });

  it('cloud config: the documented example applies as-is and changes only what it shows', async () => {
    const before = (await expectStatus('GET /api/cloud/status', 200)).config;
    let current = before;
    for (const example of examplesOf('PUT /api/cloud/config')) {
      const changed = await expectStatus('PUT /api/cloud/config', 200, { body: example });
      expect(changed).toEqual({ ...current, ...(example as object) });
      current = changed;
    }
    await expectStatus('PUT /api/cloud/config', 400, { body: { maxPods: -1 } });
    await expectStatus('PUT /api/cloud/config', 400, { body: { gpuType: 'NVIDIA Quantum 9000' } });
    await expectStatus('PUT /api/cloud/config', 400, { rawBody: '[' });
    await expectStatus('PUT /api/cloud/config', 413, {
      rawBody: JSON.stringify({ gpuType: 'y'.repeat(1_100_000) }),
    });
    await expectStatus('PUT /api/cloud/config', 200, { body: before });
  });

  it('pods: spawn (201 with the documented example, 202 without a body), terminate, shutdown, and their errors', async () => {
    const [example] = examplesOf('POST /api/cloud/spawn');
    // wait=true answers once the pod is ready, which the control loop decides: tick while waiting.
    const spawning = call('POST /api/cloud/spawn', { body: example });
    let settled = false;
    void spawning.finally(() => (settled = true));
    await h.tickUntil(() => settled, 15000);
    const ready = await spawning;
    expect(ready.status).toBe(201);
    expect(ready.json.pod.status).toBe('ready');

    // The body is optional.
    const requested = await expectStatus('POST /api/cloud/spawn', 202, {
      path: '/api/cloud/spawn?wait=false',
    });
    await expectStatus('POST /api/cloud/spawn', 400, { body: { gpuType: 'NVIDIA Quantum 9000' } });
    await expectStatus('POST /api/cloud/spawn', 400, { rawBody: '{"gpuType"' });
    await expectStatus('POST /api/cloud/spawn', 413, {
      rawBody: JSON.stringify({ gpuType: 'y'.repeat(1_100_000) }),
    });

    await expectStatus('PUT /api/cloud/config', 200, { body: { maxPods: 2 } });
    await expectStatus('POST /api/cloud/spawn', 409, { path: '/api/cloud/spawn?wait=false' });
    await expectStatus('PUT /api/cloud/config', 200, { body: { maxPods: 5, dailyBudgetUsd: 0.0001 } });
    await expectStatus('POST /api/cloud/spawn', 409, { path: '/api/cloud/spawn?wait=false' });
    await expectStatus('PUT /api/cloud/config', 200, { body: { dailyBudgetUsd: 0 } });

    h.fake.faults.noCapacity();
    await expectStatus('POST /api/cloud/spawn', 503, { path: '/api/cloud/spawn?wait=false' });
    h.fake.faults.reset();

    h.fake.faults.rejectAllKeys();
    await expectStatus('POST /api/cloud/spawn', 502, {
      path: '/api/cloud/spawn?wait=false',
      body: { gpuType: 'NVIDIA GeForce RTX 4090' },
    });
    await expectStatus('POST /api/cloud/terminate/{podId}', 502, {
      path: `/api/cloud/terminate/${ready.json.pod.id}`,
    });
    h.fake.faults.rejectAllKeys(false);

    await expectStatus('POST /api/cloud/terminate/{podId}', 200, {
      path: `/api/cloud/terminate/${ready.json.pod.id}`,
    });
    await expectStatus('POST /api/cloud/terminate/{podId}', 404, {
      path: '/api/cloud/terminate/no-such-pod',
    });
    const shutdown = await expectStatus('POST /api/cloud/shutdown-all', 200);
    expect(shutdown.terminated).toContain(requested.pod.id);
  });

  /** A job the controls block completed; re-run while draining in the 503 block. */
  let rerunSource = '';

  it('controls: gpu-types, worker enable/drain (PATCH), re-run and signed output links, with their errors', async () => {
    h.clock.advance(61_000); // a fresh create-rate window for this block's submits
    const catalog = await expectStatus('GET /api/cloud/gpu-types', 200, { as: 'read' });
    expect(catalog.source).toBe('runpod');

    const { workers } = await expectStatus('GET /api/local/workers', 200);
    const worker = workers[0];
    const workerPath = `/api/local/workers/${worker.id}`;
    for (const example of examplesOf('PATCH /api/local/workers/{id}')) {
      await expectStatus('PATCH /api/local/workers/{id}', 200, { path: workerPath, body: example });
    }
    const enabled = await expectStatus('PATCH /api/local/workers/{id}', 200, {
      path: workerPath,
      body: { enabled: true, draining: false },
    });
    expect(enabled.state).toBe('active');
    await expectStatus('PATCH /api/local/workers/{id}', 400, { path: workerPath, body: { enabled: 'yes' } });
    await expectStatus('PATCH /api/local/workers/{id}', 400, { path: workerPath, rawBody: '{' });
    await expectStatus('PATCH /api/local/workers/{id}', 413, {
      path: workerPath,
      rawBody: JSON.stringify({ enabled: 'y'.repeat(1_100_000) }),
    });
    await expectStatus('PATCH /api/local/workers/{id}', 404, {
      path: '/api/local/workers/local-nope',
      body: {},
    });

    // The documented job without a webhook: this block is about the job, not its notifications.
    const { webhookUrl: _webhook, ...example } = examplesOf('POST /api/jobs')[0] as Record<string, unknown>;
    const job = await expectStatus('POST /api/jobs', 202, { body: example });
    await h.until(
      async () =>
        (await call('GET /api/jobs/{id}', { path: `/api/jobs/${job.id}` })).json.status === 'completed',
    );
    rerunSource = job.id;
    const rerun = await expectStatus('POST /api/jobs/{id}/rerun', 201, { path: `/api/jobs/${job.id}/rerun` });
    expect(rerun.metadata.rerunOf).toBe(job.id);
    await expectStatus('POST /api/jobs/{id}/rerun', 404, { path: '/api/jobs/job-nope/rerun' });
    // Metadata at the limit: the added rerunOf takes it over.
    const full = await expectStatus('POST /api/jobs', 202, {
      body: { ...example, metadata: { pad: 'x'.repeat(65_500) } },
    });
    await expectStatus('POST /api/jobs/{id}/rerun', 400, { path: `/api/jobs/${full.id}/rerun` });
    // Its input images were deleted from DATA_DIR: it cannot be re-run.
    await rm(join(h.app!.get<AppConfig>(APP_CONFIG).dataDir, 'inputs', full.id), {
      recursive: true,
      force: true,
    });
    await expectStatus('POST /api/jobs/{id}/rerun', 409, { path: `/api/jobs/${full.id}/rerun` });

    const linksPath = `/api/jobs/${job.id}/output-links`;
    for (const body of examplesOf('POST /api/jobs/{id}/output-links')) {
      await expectStatus('POST /api/jobs/{id}/output-links', 200, { path: linksPath, body, as: 'read' });
    }
    const minted = await expectStatus('POST /api/jobs/{id}/output-links', 200, {
      path: linksPath,
      body: {},
      as: 'read',
    });
    const signed = await call('GET /api/jobs/{id}/outputs/{filename}', {
      path: minted.links[0].url,
      as: 'none',
    });
    expect(signed.status).toBe(200);
    await expectStatus('GET /api/jobs/{id}/outputs/{filename}', 401, {
      // Flip the first hex digit: always a different signature (a fixed '0' was the same one time in 16).
      path: minted.links[0].url.replace(/signature=(.)/, (_m: string, c: string) => `signature=${c === '0' ? '1' : '0'}`),
      as: 'none',
    });
    await expectStatus('POST /api/jobs/{id}/output-links', 400, {
      path: linksPath,
      body: { expiresInSeconds: 1 },
    });
    await expectStatus('POST /api/jobs/{id}/output-links', 400, { path: linksPath, rawBody: '{' });
    await expectStatus('POST /api/jobs/{id}/output-links', 413, {
      path: linksPath,
      rawBody: JSON.stringify({ expiresInSeconds: 'y'.repeat(1_100_000) }),
    });
    await expectStatus('POST /api/jobs/{id}/output-links', 404, {
      path: '/api/jobs/job-nope/output-links',
      body: {},
    });
  });

  it('cost history (JSON and CSV) and the jobs list pages (backend filter, cursor) answer as documented', async () => {
    const history = 'GET /api/cloud/cost/history';
    await expectStatus(history, 200, {
      path: '/api/cloud/cost/history?granularity=hour&from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z',
      as: 'read',
    });
    const csv = await call(history, { path: '/api/cloud/cost/history?format=csv', as: 'read' });
    expect([csv.status, csv.contentType]).toEqual([200, 'text/csv; charset=utf-8']);
    for (const query of [
      'granularity=week',
      'from=yesterday',
      'granularity=hour&from=2026-01-01T00:00:00Z&to=2026-11-01T00:00:00Z',
      'format=xml',
    ])
      await expectStatus(history, 400, { path: `/api/cloud/cost/history?${query}`, as: 'read' });

    const first = await expectStatus('GET /api/jobs', 200, { path: '/api/jobs?limit=1', as: 'read' });
    if (first.nextCursor)
      await expectStatus('GET /api/jobs', 200, {
        path: `/api/jobs?limit=1&cursor=${first.nextCursor}`,
        as: 'read',
      });
    await expectStatus('GET /api/jobs', 200, {
      path: '/api/jobs?backend=local&status=completed',
      as: 'read',
    });
    await expectStatus('GET /api/jobs', 400, { path: '/api/jobs?backend=gpu', as: 'read' });
    await expectStatus('GET /api/jobs', 400, { path: '/api/jobs?cursor=not-a-cursor', as: 'read' });
  });

  it('metrics: GET /metrics answers Prometheus text to the read key; a refused webhookUrl is a 400', async () => {
    const metrics = await call('GET /metrics', { as: 'read' });
    expect(metrics.status).toBe(200);
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(metrics.text).toMatch(/^cloud_workers_leader 1$/m);
    expect(metrics.text).toMatch(/^cloud_workers_queue_depth \d+$/m);
    const [example] = examplesOf('POST /api/jobs');
    const refused = await expectStatus('POST /api/jobs', 400, {
      body: { ...(example as object), webhookUrl: 'http://169.254.169.254/latest/meta-data' },
    });
    expect(refused.message).toMatch(/^webhookUrl /);
  });

  it('answers 401 without a key and 403 to the read-only key on every route that is not public', async () => {
    for (const { key, path, operation } of contract.operations()) {
      const responses = operation.responses as Record<string, unknown>;
      const concrete = fill(path, {});
      if (responses['401']) await expectStatus(key, 401, { path: concrete, as: 'none' });
      if (responses['403']) await expectStatus(key, 403, { path: concrete, as: 'read' });
      if (!responses['401']) expect({ key, security: operation.security }).toEqual({ key, security: [] });
    }
  });

  it('answers 429 past the create rate limit and past the wrong-key limit', async () => {
    for (const { key, operation } of contract.operations()) {
      const tooMany = operation.responses['429'];
      const creates = Object.values(tooMany?.content['application/json'].examples ?? {}).some(
        (example: any) => /RATE_LIMIT_CREATE_PER_MINUTE/.test(example.value.message),
      );
      if (!creates) continue;
      let status = 0;
      for (let i = 0; i <= CREATE_LIMIT && status !== 429; i++)
        // Past the guards (the body parser answers malformed JSON before them) but refused by validation.
        status = (await call(key, { path: fill(key.split(' ')[1], {}), body: { bogus: true } })).status;
      expect({ key, status }).toEqual({ key, status: 429 });
    }
    h.clock.advance(61_000);

    let status = 0;
    for (let i = 0; i <= AUTH_FAILURE_LIMIT && status !== 429; i++)
      status = (await call('GET /api/stats', { as: 'wrong' })).status;
    expect(status).toBe(429);
    // Every route that needs a key now answers 429 to this address, even with the right key.
    for (const { key, path, operation } of contract.operations()) {
      if (operation.responses['429']) await expectStatus(key, 429, { path: fill(path, {}), as: 'read' });
    }
    h.clock.advance(61_000);
  });

  it('answers 503 to new jobs while draining', async () => {
    const [example] = examplesOf('POST /api/jobs');
    h.app!.get(ShutdownState).beginDraining();
    await expectStatus('POST /api/jobs', 503, { body: example });
    await expectStatus('POST /api/jobs/{id}/rerun', 503, { path: `/api/jobs/${rerunSource}/rerun` });
    // Readiness: a draining instance reports itself not ready on every public health route documenting 503.
    for (const { key, path, method, operation } of contract.operations()) {
      if (method === 'get' && operation.security?.length === 0 && operation.responses['503'])
        await expectStatus(key, 503, { path, as: 'none' });
    }
  });

  it('reaches every documented status of every operation (or says why not)', () => {
    const missing: string[] = [];
    for (const { key, operation } of contract.operations()) {
      for (const status of Object.keys(operation.responses)) {
        const id = `${key} ${status}`;
        if (!reached.get(key)?.has(Number(status)) && !NOT_DRIVEN[id]) missing.push(id);
      }
    }
    expect(missing).toEqual([]);
  });
});
