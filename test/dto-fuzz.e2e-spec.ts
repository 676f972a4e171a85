import fc from 'fast-check';
import { CloudHarness } from './support/cloud-harness';

/** Keys a body could use to reach an object's prototype, plus the DTOs' own field names. */
const KEYS = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'polluted',
  ),
  fc.constantFrom(
    'workflow',
    'images',
    'name',
    'image',
    'priority',
    'backend',
    'metadata',
    'class_type',
    'inputs',
  ),
  fc.constantFrom(
    'maxPods',
    'idleTimeout',
    'autoScaleThreshold',
    'preferServerless',
    'gpuType',
    'dailyBudgetUsd',
  ),
  fc.constantFrom('gpuTypeId', 'count', 'url', 'wait'),
);

const EDGE_NUMBERS = fc.constantFrom(
  0,
  -0,
  1e300,
  -1e300,
  1e-7,
  -1,
  0.5,
  2 ** 53 + 2,
  1000,
  1001,
  86_400_000,
);

/** JSON text for one value, built by hand so keys such as __proto__ stay plain keys. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ value: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant('null'),
    fc.boolean().map(String),
    fc
      .oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), EDGE_NUMBERS, fc.integer())
      .map((n) => JSON.stringify(n)),
    fc
      .oneof(fc.string(), fc.string({ unit: 'grapheme' }), fc.constantFrom('NaN', '1e-7', '..', 'C:evil.png'))
      .map((s) => JSON.stringify(s)),
    fc.array(tie('value'), { maxLength: 5 }).map((items) => `[${items.join(',')}]`),
    fc
      .array(fc.tuple(KEYS, tie('value')), { maxLength: 6 })
      .map((entries) => `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`),
  ),
})).value;

/** Deep nesting, far past the body bound, and just inside it. */
const deepText = fc
  .tuple(fc.integer({ min: 1, max: 12000 }), fc.boolean())
  .map(([depth, arrays]) =>
    arrays ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth),
  );

const WORKFLOW =
  '{"1":{"class_type":"EmptyImage","inputs":{"width":8}},"2":{"class_type":"SaveImage","inputs":{"images":["1",0]}}}';

/** A valid job body with one field replaced by anything: reaches the checks behind the first one. */
const jobBody = fc
  .tuple(
    fc.constantFrom('workflow', 'images', 'priority', 'backend', 'metadata', '__proto__', 'constructor'),
    fc.oneof(jsonText, deepText),
    fc.constantFrom(
      'a.png',
      '..',
      '.',
      'C:evil.png',
      'x'.repeat(256),
      'é'.repeat(128),
      'a\u0000b',
      'ok ✓.png',
    ),
  )
  .map(
    ([field, value, name]) =>
      `{"workflow":${WORKFLOW},"images":[{"name":${JSON.stringify(name)},"image":"iVBORw0KGgo="}],"${field}":${value}}`,
  );

interface Route {
  name: string;
  method: string;
  path: fc.Arbitrary<string>;
  body?: fc.Arbitrary<string>;
}

const anyBody = fc.oneof(jsonText, deepText);
const pathSegment = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.constantFrom('..', '%2e%2e', 'null', '0'),
);
const ROUTES: Route[] = [
  {
    name: 'POST /api/jobs',
    method: 'POST',
    path: fc.constant('/api/jobs'),
    body: fc.oneof(anyBody, jobBody),
  },
  { name: 'PUT /api/cloud/config', method: 'PUT', path: fc.constant('/api/cloud/config'), body: anyBody },
  { name: 'POST /api/cloud/spawn', method: 'POST', path: fc.constant('/api/cloud/spawn'), body: anyBody },
  { name: 'POST /api/local/workers', method: 'POST', path: fc.constant('/api/local/workers'), body: anyBody },
  {
    name: 'GET /api/jobs/:id',
    method: 'GET',
    path: pathSegment.map((id) => `/api/jobs/${encodeURIComponent(id)}`),
  },
  {
    name: 'GET /api/jobs?status&limit',
    method: 'GET',
    path: fc
      .tuple(fc.string(), fc.string())
      .map(([s, l]) => `/api/jobs?status=${encodeURIComponent(s)}&limit=${encodeURIComponent(l)}`),
  },
  {
    name: 'DELETE /api/jobs/:id',
    method: 'DELETE',
    path: pathSegment.map((id) => `/api/jobs/${encodeURIComponent(id)}`),
  },
  {
    name: 'POST /api/cloud/terminate/:podId',
    method: 'POST',
    path: pathSegment.map((id) => `/api/cloud/terminate/${encodeURIComponent(id)}`),
    body: fc.constant('{}'),
  },
];

describe('request DTOs under random JSON (fast-check)', () => {
  let h: CloudHarness;

  beforeAll(async () => {
    // No serverless endpoint and maxPods 0: accepted jobs and spawns stay queued or are refused, never run.
    h = await CloudHarness.start({ env: { RATE_LIMIT_CREATE_PER_MINUTE: '0', CLOUD_MAX_PODS: '0' } });
  });
  afterAll(async () => {
    await h.close();
  });

  it.each(ROUTES.map((route) => [route.name, route] as const))(
    '%s never answers 5xx',
    async (_label, route) => {
      const request = fc.tuple(route.path, route.body ?? fc.constant(undefined));
      await fc.assert(
        fc.asyncProperty(request, async ([path, body]) => {
          const response = await fetch(`${h.url}${path}`, {
            method: route.method,
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
            body,
          });
          const text = await response.text();
          if (response.status >= 500)
            throw new Error(`${route.method} ${path} ${body?.slice(0, 300)} -> ${response.status} ${text}`);
          // Every error is in the one shape, with a message.
          if (response.status >= 400)
            expect(JSON.parse(text)).toMatchObject({
              statusCode: response.status,
              message: expect.any(String),
            });
        }),
        { numRuns: 150 },
      );
      // No body reached Object.prototype (this process runs the service).
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(Object.keys(Object.prototype)).toEqual([]);
    },
    60000,
  );
});
