import type { Type } from '@nestjs/common';
import { getMetadataStorage } from 'class-validator';
import fc from 'fast-check';
import { CloudHarness } from './support/cloud-harness';
import { type DiscoveredRoute, discoverRoutes } from './support/secured-service';

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

const anyBody = fc.oneof(jsonText, deepText);
const pathSegment = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.constantFrom('..', '%2e%2e', 'null', '0', 'undefined', '__proto__'),
);
const queryValue = fc.oneof(
  fc.string(),
  fc.constantFrom('', 'true', 'false', '-1', '0', '1e300', '1e-7', 'NaN', '2026-13-45', '..', 'null'),
);

/** The properties a request DTO class declares to class-validator (whatever they are, as new DTOs add them). */
function dtoFields(dto: Type<unknown>): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
  return [...new Set(metadata.map((m) => m.propertyName))];
}

/**
 * A body that is valid where a test knows what valid is, so fields behind the first check are reached too.
 * A DTO not listed here starts from `{}`: its own fields still get random values.
 */
const VALID_BASES: Record<string, () => Record<string, string>> = {
  SubmitJobDto: () => ({
    workflow: WORKFLOW,
    images: '[{"name":"a.png","image":"iVBORw0KGgo="}]',
  }),
  RegisterLocalWorkerDto: () => ({ url: '"http://127.0.0.1:9"' }),
};

/** The DTO's own fields, some given random values (others left valid or out), as JSON text. */
function fieldsBody(dto: Type<unknown>): fc.Arbitrary<string> {
  const fields = dtoFields(dto);
  const keys = fc.oneof(
    fc.constantFrom(...(fields.length > 0 ? fields : ['x'])),
    fc.constantFrom('__proto__', 'constructor', 'polluted'),
    fc.string({ maxLength: 12 }),
  );
  return fc
    .array(fc.tuple(keys, fc.oneof(jsonText, jsonText, deepText)), { minLength: 1, maxLength: 4 })
    .map((entries) => {
      const members = new Map(Object.entries(VALID_BASES[dto.name]?.() ?? {}));
      for (const [key, value] of entries) members.set(key, value);
      return `{${[...members].map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`;
    });
}

/** Bodies for a route: any JSON, the DTO's fields with random values, and any hand-made shapes for that DTO. */
function bodyFor(dto: Type<unknown> | undefined): fc.Arbitrary<string> {
  if (!dto) return anyBody;
  const extra = EXTRA_BODIES[dto.name];
  return extra ? fc.oneof(anyBody, fieldsBody(dto), extra) : fc.oneof(anyBody, fieldsBody(dto));
}

/** Shapes worth more than random values for one DTO: a valid job with one field replaced by anything. */
const EXTRA_BODIES: Record<string, fc.Arbitrary<string>> = { SubmitJobDto: jobBody };

interface FuzzRoute {
  name: string;
  method: string;
  path: fc.Arbitrary<string>;
  body?: fc.Arbitrary<string>;
  numRuns: number;
}

/**
 * What to fuzz, from the router itself (test/support/secured-service.ts discoverRoutes): every route that
 * takes a body, path parameters or query parameters, and every POST/PUT/PATCH (a body it ignores must do no
 * harm either). A route added later is fuzzed without a change here.
 */
function fuzzRoutes(routes: DiscoveredRoute[], knownIds: string[]): FuzzRoute[] {
  const fuzzed: FuzzRoute[] = [];
  for (const route of routes) {
    const { body, params, query } = route.inputs;
    const takesBody = ['POST', 'PUT', 'PATCH'].includes(route.method);
    if (!takesBody && params.length === 0 && query.length === 0) continue;
    const segment = fc.oneof(pathSegment, fc.constantFrom(...knownIds));
    const path = fc
      .tuple(
        fc.array(segment, { minLength: params.length, maxLength: params.length }),
        fc.array(fc.option(queryValue), { minLength: query.length, maxLength: query.length }),
      )
      .map(([values, queryValues]) => {
        let i = 0;
        const concrete = route.pattern.replace(/:[A-Za-z]+/g, () => encodeURIComponent(values[i++]));
        const search = query
          .map((name, j) => (queryValues[j] === null ? '' : `${name}=${encodeURIComponent(queryValues[j])}`))
          .filter(Boolean)
          .join('&');
        return search ? `${concrete}?${search}` : concrete;
      });
    fuzzed.push({
      name: `${route.method} ${route.pattern}`,
      method: route.method,
      path,
      body: takesBody ? bodyFor(body) : undefined,
      // Bodies have the most shapes; a route that only takes path and query strings needs fewer runs.
      numRuns: body ? 120 : 40,
    });
  }
  return fuzzed;
}

/** Routes whose inputs must be fuzzed (a floor: the router may hold more, and they are fuzzed as well). */
const MUST_COVER = [
  'POST /api/jobs',
  'POST /api/jobs/quote',
  'POST /api/jobs/:id/rerun',
  'POST /api/jobs/:id/output-links',
  'PUT /api/cloud/config',
  'POST /api/cloud/spawn',
  'POST /api/local/workers',
  'PATCH /api/local/workers/:id',
  'POST /api/local/install-tokens',
  'GET /api/jobs/:id',
  'GET /api/jobs',
  'DELETE /api/jobs/:id',
  'POST /api/cloud/terminate/:podId',
];

describe('request DTOs under random JSON (fast-check), on every route the router holds', () => {
  let h: CloudHarness;
  let routes: FuzzRoute[];

  beforeAll(async () => {
    // No serverless endpoint and maxPods 0: accepted jobs and spawns stay queued or are refused, never run.
    h = await CloudHarness.start({ env: { RATE_LIMIT_CREATE_PER_MINUTE: '0', CLOUD_MAX_PODS: '0' } });
    // A real job id among the random ones, so routes on a job reach past "no such job".
    const jobId = await h.submit({ workflow: JSON.parse(WORKFLOW) as Record<string, unknown> });
    routes = fuzzRoutes(discoverRoutes(h.app!), [jobId]);
  });
  afterAll(async () => {
    await h.close();
  });

  it('takes its routes from the router: every route with a body or parameters, including the ones named here', () => {
    const names = routes.map((route) => route.name);
    expect(names).toEqual(expect.arrayContaining(MUST_COVER));
    // Each DTO's own fields are generated: the router's body classes are all known to class-validator.
    for (const route of discoverRoutes(h.app!))
      if (route.inputs.body)
        expect({ route: route.pattern, fields: dtoFields(route.inputs.body).length > 0 }).toEqual({
          route: route.pattern,
          fields: true,
        });
  });

  it('answers no request on any of them with a 5xx, always in the one error shape', async () => {
    for (const route of routes) {
      const request = fc.tuple(route.path, route.body ?? fc.constant(undefined));
      await fc.assert(
        fc.asyncProperty(request, async ([path, body]) => {
          const response = await fetch(`${h.url}${path}`, {
            method: route.method,
            headers: body === undefined ? {} : { 'content-type': 'application/json' },
            body,
            // A request the service never answers is a finding too.
            signal: AbortSignal.timeout(15000),
          });
          // An event stream the request opened never ends by itself: its status is the answer.
          if (String(response.headers.get('content-type')).startsWith('text/event-stream')) {
            await response.body?.cancel();
            return;
          }
          const text = await response.text();
          if (response.status >= 500)
            throw new Error(`${route.method} ${path} ${body?.slice(0, 300)} -> ${response.status} ${text}`);
          if (response.status >= 400)
            expect({ route: route.name, answer: JSON.parse(text) as unknown }).toMatchObject({
              route: route.name,
              answer: { statusCode: response.status, message: expect.any(String) },
            });
        }),
        { numRuns: route.numRuns },
      );
    }
    // No body reached Object.prototype (this process runs the service).
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.keys(Object.prototype)).toEqual([]);
  }, 240_000);
});
