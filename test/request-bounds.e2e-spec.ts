import { performance } from 'node:perf_hooks';
import { DEFAULT_JSON_BOUNDS } from '../src/common/http/bounded-json';
import { MAX_METADATA_BYTES } from '../src/jobs/job-metadata';
import { CloudHarness } from './support/cloud-harness';
import { ServiceProcess } from './support/service-process';
import { TestDatabase } from './support/test-database';

const WORKFLOW = {
  '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'bounds' } },
};
const PNG_1X1 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP438AAAAQBAYD718vxAAAAAElFTkSuQmCC';

/** Keys `k0`..`k{count-1}` with value 0, as JSON text. */
const keys = (count: number, prefix = 'k') =>
  Array.from({ length: count }, (_, i) => `"${prefix}${i}":0`).join(',');

describe('request bounds: every request does bounded work before it is validated', () => {
  let h: CloudHarness;

  beforeAll(async () => {
    h = await CloudHarness.start({ env: { RATE_LIMIT_CREATE_PER_MINUTE: '0' } });
  });
  afterAll(async () => {
    await h.close();
  });

  /** Sends raw JSON text (the harness would re-serialize objects). */
  async function postRaw(path: string, text: string) {
    const response = await fetch(`${h.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: text,
    });
    return { status: response.status, body: (await response.json()) as { message: string } };
  }

  it('answers 400 to JSON nested 10,000 deep, before parsing it', async () => {
    const deep = '['.repeat(10000) + ']'.repeat(10000);
    const answer = await postRaw(
      '/api/jobs',
      `{"workflow":${JSON.stringify(WORKFLOW)},"metadata":{"a":${deep}}}`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/nested deeper than 64 levels/);
    const objects = '{"a":'.repeat(10000) + '1' + '}'.repeat(10000);
    expect((await postRaw('/api/cloud/spawn', objects)).status).toBe(400);
  });

  it('answers 400 to an object with more keys than the bound, or a body with more members', async () => {
    const wide = await postRaw(
      '/api/jobs',
      `{"workflow":${JSON.stringify(WORKFLOW)},"metadata":{${keys(DEFAULT_JSON_BOUNDS.maxKeysPerObject + 1)}}}`,
    );
    expect(wide.status).toBe(400);
    expect(wide.body.message).toMatch(/more than 10,000 keys/);

    const objects = Array.from({ length: 6 }, (_, i) => `"o${i}":{${keys(9000)}}`).join(',');
    const many = await postRaw(
      '/api/jobs',
      `{"workflow":${JSON.stringify(WORKFLOW)},"metadata":{${objects}}}`,
    );
    expect(many.status).toBe(400);
    expect(many.body.message).toMatch(/more than 50,000 keys and array items/);
  });

  it('limits metadata to 64 KB and 8 levels, and keeps it whole when it fits', async () => {
    const big = await h.post('/api/jobs', {
      workflow: WORKFLOW,
      metadata: { note: 'x'.repeat(MAX_METADATA_BYTES) },
    });
    expect(big.status).toBe(400);
    expect(big.body.message).toMatch(/metadata is over 65536 bytes/);

    let nested: Record<string, unknown> = { leaf: true };
    for (let i = 0; i < 8; i++) nested = { nested };
    const deep = await h.post('/api/jobs', { workflow: WORKFLOW, metadata: nested });
    expect(deep.status).toBe(400);
    expect(deep.body.message).toMatch(/metadata is nested deeper than 8 levels/);

    const labels = { note: 'y'.repeat(60 * 1024), tags: ['a', { b: [1, 2] }] };
    const id = await h.submit({ workflow: WORKFLOW, metadata: labels });
    expect((await h.get(`/api/jobs/${id}`)).body.metadata).toEqual(labels);
  });

  it('lists jobs as summaries without metadata; the job itself has it all', async () => {
    const id = await h.submit({ workflow: WORKFLOW, metadata: { user: 'alice' } });
    const listed = (await h.get('/api/jobs?limit=500')).body.jobs.find(
      (job: { id: string }) => job.id === id,
    );
    expect(listed).toMatchObject({ id, status: expect.any(String), outputCount: 0 });
    expect(listed).not.toHaveProperty('metadata');
    expect(listed).not.toHaveProperty('outputs');
    expect((await h.get(`/api/jobs/${id}`)).body).toMatchObject({
      id,
      metadata: { user: 'alice' },
      outputs: [],
    });
  });

  it('names the first 10 unknown properties and counts the rest, instead of echoing thousands', async () => {
    const answer = await postRaw(
      '/api/jobs',
      `{"workflow":${JSON.stringify(WORKFLOW)},${keys(900, 'unknown')}}`,
    );
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/^property unknown0 should not exist; /);
    expect(answer.body.message).toMatch(/; and 890 more$/);
    expect(answer.body.message.length).toBeLessThan(1000);

    const crowded = await postRaw('/api/jobs', `{"workflow":${JSON.stringify(WORKFLOW)},${keys(2000, 'x')}}`);
    expect(crowded.status).toBe(400);
    expect(crowded.body.message).toBe('Request has more than 1,000 fields and list items besides workflow');
  });

  it.each([
    ['..', /must be a file name, not ".."/],
    ['.', /must be a file name, not "."/],
    ['C:evil.png', /must not contain ":"/],
    ['../evil.png', /plain file name/],
    ['dir/evil.png', /plain file name/],
    ['dir\\evil.png', /plain file name/],
    ['evil\u0000.png', /NUL/],
    ['é'.repeat(128), /at most 255 bytes in UTF-8 \(it has 256\)/],
    ['', /must not be empty/],
  ])('refuses the input image name %j with a 400 and a reason', async (name, reason) => {
    const answer = await h.post('/api/jobs', { workflow: WORKFLOW, images: [{ name, image: PNG_1X1 }] });
    expect(answer.status).toBe(400);
    expect(answer.body.message).toMatch(/^images\.0\.name /);
    expect(answer.body.message).toMatch(reason);
  });

  it('accepts an input image name of exactly 255 bytes in UTF-8', async () => {
    const name = '€'.repeat(84) + 'abc'; // 84 x 3 bytes + 3
    expect(Buffer.byteLength(name)).toBe(255);
    expect(
      (await h.post('/api/jobs', { workflow: WORKFLOW, images: [{ name, image: PNG_1X1 }] })).status,
    ).toBe(202);
  });
});

describe('PUT /api/cloud/config edge values', () => {
  let h: CloudHarness;

  beforeAll(async () => {
    h = await CloudHarness.start({ env: { CLOUD_DAILY_BUDGET_USD: '10', CLOUD_MAX_PODS: '5' } });
  });
  afterAll(async () => {
    await h.close();
  });

  const EDGE_VALUES: unknown[] = [
    null,
    1e300,
    -1e300,
    1e-7,
    -1,
    0.5,
    'NaN',
    'Infinity',
    '5',
    '',
    true,
    [],
    [5],
    {},
    { value: 5 },
  ];
  const FIELDS = [
    'maxPods',
    'idleTimeout',
    'autoScaleThreshold',
    'preferServerless',
    'routingPreference',
    'gpuType',
    'dailyBudgetUsd',
  ];
  /** What each field accepts among EDGE_VALUES (everything else must be a 400). */
  const ACCEPTED: Record<string, unknown[]> = {
    preferServerless: [true],
    dailyBudgetUsd: [0.5],
  };

  it('answers every edge value of every field with a 400 and a message naming the field, or applies it', async () => {
    const before = (await h.put('/api/cloud/config', {})).body;
    for (const field of FIELDS) {
      for (const value of EDGE_VALUES) {
        const answer = await h.put('/api/cloud/config', { [field]: value });
        const accepted = (ACCEPTED[field] ?? []).some((ok) => Object.is(ok, value));
        const label = `${field}=${JSON.stringify(value)} -> ${answer.status} ${JSON.stringify(answer.body)}`;
        expect({ label, status: answer.status }).toEqual({ label, status: accepted ? 200 : 400 });
        if (!accepted) {
          expect(answer.body.message).toContain(field);
          expect(answer.body.message).not.toMatch(/TypeError|Cannot read|undefined/);
        }
      }
    }
    const after = (
      await h.put('/api/cloud/config', {
        preferServerless: before.preferServerless,
        dailyBudgetUsd: before.dailyBudgetUsd,
      })
    ).body;
    expect(after).toEqual(before);
  });

  it('says null is not a value: leave the field out to keep it', async () => {
    const answer = await h.put('/api/cloud/config', { dailyBudgetUsd: null });
    expect(answer.body.message).toMatch(
      /dailyBudgetUsd must not be null: leave it out to keep the current value/,
    );
    expect((await h.put('/api/cloud/config', {})).body.dailyBudgetUsd).toBe(10);
  });

  it('ignores a null saved by an older version at boot, so the budget from the environment holds', async () => {
    await h.put('/api/cloud/config', { maxPods: 3 });
    const { SettingsRepository } = await import('../src/persistence/settings.repository');
    await h.app!.get(SettingsRepository).setMany({ cloud: { dailyBudgetUsd: null, maxPods: 3 } });
    await h.stopApp();
    await h.startApp();
    const config = (await h.put('/api/cloud/config', {})).body;
    expect(config).toMatchObject({ dailyBudgetUsd: 10, maxPods: 3 });
    expect(h.logger.has(/Ignoring saved cloud setting dailyBudgetUsd=null/)).toBe(true);
  });
});

/**
 * `@IsOptional()` lets null through as well as a missing field, and a default parameter applies only to a
 * missing one: `{"ttlSeconds":null}` minted an install token that had already expired, `{"enabled":null}`
 * answered 200. Every optional request field without null in its type is a 400 naming the field for null.
 */
describe('null in an optional request field', () => {
  let h: CloudHarness;
  let workerId: string;
  let jobId: string;

  beforeAll(async () => {
    h = await CloudHarness.start({ localWorkers: 1, env: { RATE_LIMIT_CREATE_PER_MINUTE: '0' } });
    workerId = (await h.get('/api/local/workers')).body.workers[0].id;
    jobId = await h.submit({ workflow: WORKFLOW });
  });
  afterAll(async () => {
    await h.close();
  });

  const job = { workflow: WORKFLOW };
  /** Each request DTO's optional fields, with a body that is valid apart from the null field. */
  const CASES: Array<{
    route: string;
    method: string;
    path: () => string;
    base: () => object;
    fields: string[];
  }> = [
    {
      route: 'POST /api/local/install-tokens',
      method: 'POST',
      path: () => '/api/local/install-tokens',
      base: () => ({}),
      fields: ['ttlSeconds', 'name'],
    },
    {
      route: 'PATCH /api/local/workers/:id',
      method: 'PATCH',
      path: () => `/api/local/workers/${workerId}`,
      base: () => ({}),
      fields: ['enabled', 'draining'],
    },
    {
      route: 'POST /api/local/workers',
      method: 'POST',
      path: () => '/api/local/workers',
      base: () => ({ url: h.locals[0].url }),
      fields: ['name', 'maxConcurrent', 'machineId', 'previousWorkerKey', 'gpu', 'models'],
    },
    {
      route: 'POST /api/jobs/:id/output-links',
      method: 'POST',
      path: () => `/api/jobs/${jobId}/output-links`,
      base: () => ({}),
      fields: ['expiresInSeconds'],
    },
    {
      route: 'POST /api/jobs',
      method: 'POST',
      path: () => '/api/jobs',
      base: () => job,
      fields: ['images', 'priority', 'backend', 'metadata'],
    },
    {
      route: 'POST /api/jobs/quote',
      method: 'POST',
      path: () => '/api/jobs/quote',
      base: () => job,
      fields: ['images', 'priority', 'backend', 'metadata'],
    },
    {
      route: 'POST /api/cloud/spawn',
      method: 'POST',
      path: () => '/api/cloud/spawn?wait=false',
      base: () => ({}),
      fields: ['gpuType'],
    },
  ];

  it.each(CASES.flatMap((c) => c.fields.map((field) => [c.route, field, c] as const)))(
    '%s: %s null is a 400 naming the field',
    async (_label, field, c) => {
      const answer = await h.request(c.method, c.path(), { ...c.base(), [field]: null });
      expect({ field, status: answer.status }).toEqual({ field, status: 400 });
      expect(answer.body.message).toMatch(new RegExp(`^${field} must not be null: leave it out`));
    },
  );

  it('keeps the current value for a worker PATCH: null changes nothing', async () => {
    await h.request('PATCH', `/api/local/workers/${workerId}`, { enabled: null, draining: null });
    const worker = (await h.get('/api/local/workers')).body.workers.find((w: any) => w.id === workerId);
    expect(worker.state).toBe('active');
  });

  it('gives an install token or output links without the field their default lifetime', async () => {
    const token = await h.request('POST', '/api/local/install-tokens', {});
    expect(token.status).toBe(201);
    expect(Date.parse(token.body.expiresAt) - h.clock.now()).toBeGreaterThan(3500_000);
    const links = await h.request('POST', `/api/jobs/${jobId}/output-links`, {});
    expect(links.status).toBe(200);
  });

  it('still takes null where the field documents it: a job without a per-job webhook', async () => {
    expect((await h.post('/api/jobs', { workflow: WORKFLOW, webhookUrl: null })).status).toBe(202);
  });
});

/**
 * The service in its own process, so the probes measure its event loop and not this one's. A body as large
 * as the default limit allows (25 MB), at the structure bounds, and rejected only after everything that
 * remains has run (parse, pipe, workflow and metadata checks).
 */
describe('a worst-case body does not stall other requests', () => {
  const db = new TestDatabase();
  let service: ServiceProcess;

  beforeAll(async () => {
    service = new ServiceProcess({ ...db.env(), RATE_LIMIT_CREATE_PER_MINUTE: '0' });
    await service.start(120000);
  }, 150000);
  afterAll(async () => {
    service.kill();
    await db.drop();
  });

  const BODY_LIMIT = 25 * 1024 * 1024;

  /** A body of `BODY_LIMIT` bytes: `metadata` holds `members` then a string that pads it to the limit. */
  function bodyOfLimitSize(members: string[]): Buffer {
    const head = `{"workflow":${JSON.stringify(WORKFLOW)},"metadata":{${members.map((m) => m + ',').join('')}"pad":"`;
    const tail = '"}}';
    return Buffer.from(head + 'A'.repeat(BODY_LIMIT - head.length - tail.length - 1024) + tail);
  }

  /** The slowest shape the bounds allow: four objects at the key bound, then padding. */
  const worstCaseBody = () =>
    bodyOfLimitSize(
      Array.from({ length: 4 }, (_, i) => `"o${i}":{${keys(DEFAULT_JSON_BOUNDS.maxKeysPerObject)}}`),
    );
  /** The same size with no structure at all: what reading and parsing 25 MB costs on this machine now. */
  const plainBody = () => bodyOfLimitSize([]);

  /** Sends `body` three times; each must be refused because `metadata` is too large. */
  async function rejectThrice(body: Buffer) {
    for (let i = 0; i < 3; i++) {
      const answer = await fetch(`${service.url}/api/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(answer.status).toBe(400);
      expect(((await answer.json()) as { message: string }).message).toMatch(/^metadata is over/);
    }
  }

  /** Latencies of /health probes sent back to back while `work` runs. */
  async function probeWhile(work: Promise<unknown>): Promise<number[]> {
    const latencies: number[] = [];
    let done = false;
    void work.finally(() => (done = true));
    while (!done) {
      const started = performance.now();
      const response = await fetch(`${service.url}/health`);
      await response.arrayBuffer();
      latencies.push(performance.now() - started);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return latencies;
  }

  it('keeps /health answering within 200 ms while the body is rejected', async () => {
    const worst = worstCaseBody();
    const plain = plainBody();
    // What no service can avoid: reading 25 MB and parsing it. On an idle machine that stalls other requests
    // some 30-100 ms and the budget is the 200 ms. On a busy machine the same unavoidable work takes
    // longer, so each round first measures it (the slowest probe while a structureless body of the same size
    // is refused) and allows the worst shape twice that: the claim is that the shape adds no stall of its own
    // (a quadratic key walk stalls for seconds and fails either way). A busy machine may also deschedule the
    // service for a moment, so the claim holds when one of five rounds keeps every probe within its budget.
    const rounds: Array<{ slowestProbeMs: number; budgetMs: number }> = [];
    for (let round = 0; round < 5; round++) {
      const unavoidableMs = Math.max(...(await probeWhile(rejectThrice(plain))));
      const budgetMs = Math.max(200, 2 * unavoidableMs);
      const attacks = rejectThrice(worst);
      const latencies = await probeWhile(attacks);
      await attacks;
      expect(latencies.length).toBeGreaterThan(0);
      rounds.push({ slowestProbeMs: Math.round(Math.max(...latencies)), budgetMs: Math.round(budgetMs) });
      if (rounds[rounds.length - 1].slowestProbeMs < budgetMs) break;
    }
    expect(rounds.some((round) => round.slowestProbeMs < round.budgetMs) ? 'within budget' : rounds).toBe(
      'within budget',
    );
  }, 240000);
});
