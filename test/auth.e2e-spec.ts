import {
  type DiscoveredRoute,
  discoverRoutes,
  expressRoutes,
  SecuredService,
} from './support/secured-service';

const ADMIN_KEY = 'admin-key-for-the-route-matrix';
const READ_KEY = 'read-only-key-for-the-route-matrix';

/** Methods that carry a JSON body in these requests (an empty object: enough to reach validation). */
const bodyFor = (method: string): object | undefined =>
  ['POST', 'PUT', 'PATCH'].includes(method) ? {} : undefined;

/** A concrete path for a route pattern (`:id` -> `x1`). */
function concrete(pattern: string): string {
  return pattern.replace(/:[A-Za-z]+/g, 'x1');
}

/** Spellings of one path that Express (or a proxy in front of it) might route to the same handler. */
function pathVariants(path: string): string[] {
  const rest = path.slice('/api'.length);
  let letter = 0;
  const variants = [
    path,
    path.toUpperCase(),
    path.replace(/[a-z]/g, (c) => (letter++ % 2 ? c.toUpperCase() : c)),
    `${path}/`,
    `${path.toUpperCase()}/`,
    `/${path}`,
    path.replace(/\//g, '//'),
    path.replace(/^\/api/, '/%61pi'),
    path.replace(/^\/api/, '/%41%50%49'),
    path.replace(/\/([a-z])/g, (_m, c: string) => `/%${c.charCodeAt(0).toString(16)}`),
    `/api${rest.replace(/\//g, '%2f')}`,
    `/api/../api${rest}`,
    `/api/./${rest.slice(1)}`,
    `/health/..${path}`,
    `${path};x=1`,
    `${path}?x=1`,
    `${path}%00`,
  ];
  return [...new Set(variants)];
}

describe('authentication: every route the router holds, every spelling', () => {
  let service: SecuredService;
  let routes: DiscoveredRoute[];

  beforeAll(async () => {
    service = await SecuredService.start({
      API_KEY: ADMIN_KEY,
      API_READ_KEY: READ_KEY,
      // The matrix sends hundreds of wrong keys; the failure limit has its own test.
      RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0',
      RATE_LIMIT_CREATE_PER_MINUTE: '0',
    });
    routes = discoverRoutes(service.app);
  });
  afterAll(async () => service.close());

  it('finds the routes in the router, and Express serves nothing else but the Swagger UI', () => {
    const declared = routes.map((r) => `${r.method} ${r.pattern}`);
    expect(declared).toEqual(
      expect.arrayContaining([
        'GET /api/cloud/status',
        'PUT /api/cloud/config',
        'POST /api/cloud/spawn',
        'POST /api/jobs',
        'GET /api/jobs/:id/events',
        'POST /api/local/workers',
        'GET /api/stats',
        'GET /health',
      ]),
    );
    const nestPatterns = new Set(routes.map((r) => r.pattern));
    const outsideNest = expressRoutes(service.app).filter((route) => !nestPatterns.has(route.path));
    // Whatever Express serves outside Nest's router never meets a guard, so it must be public by nature: the
    // Swagger UI, and the dashboard's page fallback `{*any}` (index.html, only for the app's own page paths:
    // src/http/dashboard.module.ts, test/browser/dashboard-serving.e2e-spec.ts).
    for (const route of outsideNest) expect(route.path).toMatch(/^(\/api\/docs|\{\*any\}$)/);
  });

  it('marks only GETs read-only, only health and the installer files public, and rate-limits exactly the routes that create things', () => {
    // POSTs that change nothing and spend nothing: they mint short-lived signed links to outputs, or quote a job.
    const readPosts = ['POST /api/jobs/:id/output-links', 'POST /api/jobs/quote'];
    for (const route of routes) {
      if (route.level === 'read' && !readPosts.includes(`${route.method} ${route.pattern}`))
        expect(route).toMatchObject({ method: 'GET' });
      // The installer files hold no secret and are fetched before a machine has any credential (issue 12).
      if (route.level === 'public')
        expect(route.pattern).toMatch(
          /^(\/health(\/|$)|\/install\/(install\.sh|install\.ps1|cw-installer\.pyz)$)/,
        );
      if (route.method === 'GET' && route.pattern.startsWith('/api/')) expect(route.level).toBe('read');
    }
    expect(
      routes
        .filter((r) => r.createRateLimited)
        .map((r) => `${r.method} ${r.pattern}`)
        .sort(),
    ).toEqual([
      'POST /api/cloud/spawn',
      'POST /api/jobs',
      'POST /api/jobs/:id/rerun',
      'POST /api/jobs/quote',
      'POST /api/local/install-tokens',
      'POST /api/local/workers',
    ]);
    // Only the job output route takes a signed link in place of the key.
    expect(routes.filter((r) => r.signedLink).map((r) => `${r.method} ${r.pattern}`)).toEqual([
      'GET /api/jobs/:id/outputs/:filename',
    ]);
  });

  it('lets no spelling, method or wrong key reach a handler without the key', async () => {
    const credentials: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer wrong' },
      { 'x-api-key': `${ADMIN_KEY}x` },
    ];
    const failures: string[] = [];
    for (const route of routes.filter((r) => r.level !== 'public')) {
      for (const path of pathVariants(concrete(route.pattern))) {
        for (const method of [route.method, 'HEAD', 'OPTIONS']) {
          for (const headers of credentials) {
            const answer = await service.request(method, path, headers, bodyFor(method));
            if (![401, 404].includes(answer.status))
              failures.push(`${method} ${path} ${JSON.stringify(headers)} -> ${answer.status}`);
          }
        }
      }
    }
    expect(failures).toEqual([]);
    expect(service.reached.hits).toEqual([]);
  }, 180_000);

  it('does not take a key in another scheme or a different case', async () => {
    const attempts: Record<string, string>[] = [
      { authorization: `Basic ${ADMIN_KEY}` },
      { authorization: `Bearer ${ADMIN_KEY.toUpperCase()}` },
      { authorization: ADMIN_KEY },
      { 'x-api-key': '' },
    ];
    for (const headers of attempts) {
      expect((await service.request('GET', '/api/cloud/status', headers)).status).toBe(401);
    }
    expect(service.reached.hits).toEqual([]);
  });

  it('answers 401 in the one error shape', async () => {
    const answer = await service.request('GET', '/API/cloud/status');
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Missing or invalid API key: send Authorization: Bearer <API_KEY> or X-API-Key',
    });
  });

  it('gives the read-only key the read routes and a 403 with a reason everywhere else', async () => {
    for (const route of routes.filter((r) => r.level !== 'public')) {
      const answer = await service.request(
        route.method,
        concrete(route.pattern),
        { 'x-api-key': READ_KEY },
        bodyFor(route.method),
      );
      if (route.level === 'read') {
        expect([route.pattern, answer.status]).not.toEqual([route.pattern, 401]);
        expect([route.pattern, answer.status]).not.toEqual([route.pattern, 403]);
      } else {
        expect([route.pattern, answer.status]).toEqual([route.pattern, 403]);
        expect(JSON.parse(answer.body)).toMatchObject({
          statusCode: 403,
          error: 'Forbidden',
          message: expect.stringMatching(
            /read-only key \(API_READ_KEY\) cannot do this: .* needs the admin key/,
          ),
        });
      }
    }
    // The same key under another spelling gets no more.
    expect(
      (await service.request('PUT', '/API/CLOUD/CONFIG', { authorization: `Bearer ${READ_KEY}` }, {})).status,
    ).toBe(403);
    expect(
      (await service.request('GET', '/API/cloud/status', { authorization: `Bearer ${READ_KEY}` })).status,
    ).toBe(200);
  });

  it('lets the admin key through to every handler', async () => {
    for (const route of routes) {
      const answer = await service.request(
        route.method,
        concrete(route.pattern),
        { authorization: `Bearer ${ADMIN_KEY}` },
        bodyFor(route.method),
      );
      expect([route.method, route.pattern, answer.status]).not.toEqual([route.method, route.pattern, 401]);
      expect([route.method, route.pattern, answer.status]).not.toEqual([route.method, route.pattern, 403]);
    }
  });

  it('lets an enrolment token open only registration and the manifest, and a worker key only its own DELETE', async () => {
    const token = await service.request(
      'POST',
      '/api/local/install-tokens',
      { authorization: `Bearer ${ADMIN_KEY}` },
      {},
    );
    const { token: enrolmentToken } = JSON.parse(token.body) as { token: string };
    // A worker nobody listens for: registration checks its health once and lists it unhealthy.
    const registered = await service.request(
      'POST',
      '/api/local/workers',
      { authorization: `Bearer ${ADMIN_KEY}` },
      { url: 'http://127.0.0.1:9', machineId: 'route-matrix' },
    );
    expect(registered.status).toBe(201);
    const { id, workerKey } = JSON.parse(registered.body) as { id: string; workerKey: string };
    const opened: string[] = [];
    for (const route of routes.filter((r) => r.level !== 'public')) {
      const path = route.pattern.replace(/:id\b/, id).replace(/:[A-Za-z]+/g, 'x1');
      for (const secret of [enrolmentToken, workerKey]) {
        // Without a body: registration answers 400 at validation, after the guard, and the token stays unused.
        const answer = await service.request(route.method, path, { authorization: `Bearer ${secret}` });
        if (answer.status !== 401)
          opened.push(`${secret.slice(0, 4)} ${route.method} ${route.pattern} ${answer.status}`);
      }
    }
    expect(opened.sort()).toEqual([
      'cwe_ GET /api/local/install-manifest 200',
      'cwe_ POST /api/local/workers 400',
      'cww_ DELETE /api/local/workers/:id 204',
    ]);
  });

  it('keeps health, the Swagger UI and its JSON open', async () => {
    for (const path of ['/health', '/api/docs', '/api/docs-json']) {
      expect([path, (await service.request('GET', path)).status]).toEqual([path, 200]);
    }
  });
});

describe('without API_KEY', () => {
  let service: SecuredService;
  beforeAll(async () => (service = await SecuredService.start({})));
  afterAll(async () => service.close());

  it('stays open, as before (it listens on loopback only)', async () => {
    expect((await service.request('GET', '/api/cloud/status')).status).toBe(200);
    expect((await service.request('PUT', '/api/cloud/config', {}, {})).status).toBe(200);
  });
});
