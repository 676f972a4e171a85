import { MINUTE } from '../src/common/clock';
import { SecuredService } from './support/secured-service';

const ADMIN_KEY = 'admin-key-for-the-limits';

describe('rate limits', () => {
  let service: SecuredService;
  beforeEach(
    async () =>
      (service = await SecuredService.start({
        API_KEY: ADMIN_KEY,
        RATE_LIMIT_CREATE_PER_MINUTE: '2',
        RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '3',
      })),
  );
  afterEach(async () => service.close());

  const admin = { authorization: `Bearer ${ADMIN_KEY}` };

  it('answers 429 with Retry-After past the creation limit, per route, until the minute ends', async () => {
    // An empty body fails validation (400) after the guards: enough to count as a creation attempt.
    expect((await service.request('POST', '/api/jobs', admin, {})).status).toBe(400);
    expect((await service.request('POST', '/api/jobs', admin, {})).status).toBe(400);
    const limited = await service.request('POST', '/API/jobs/', admin, {});
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(JSON.parse(limited.body)).toEqual({
      statusCode: 429,
      error: 'Too Many Requests',
      message: expect.stringMatching(/at most 2 a minute .*RATE_LIMIT_CREATE_PER_MINUTE.*try again in \d+ s/),
    });
    // Another creating route has its own allowance; reading is not limited.
    expect((await service.request('POST', '/api/local/workers', admin, {})).status).toBe(400);
    for (let i = 0; i < 5; i++) expect((await service.request('GET', '/api/jobs', admin)).status).toBe(200);

    service.clock.advance(MINUTE);
    expect((await service.request('POST', '/api/jobs', admin, {})).status).toBe(400);
  });

  it('does not count requests that fail authentication against the creation limit', async () => {
    for (let i = 0; i < 5; i++) expect((await service.request('POST', '/api/jobs', {}, {})).status).toBe(401);
    expect((await service.request('POST', '/api/jobs', admin, {})).status).toBe(400);
  });

  it('blocks a client after too many wrong keys, even with the right key, until the minute ends', async () => {
    for (let i = 0; i < 3; i++) {
      expect((await service.request('GET', '/api/stats', { 'x-api-key': `guess-${i}` })).status).toBe(401);
    }
    const blocked = await service.request('GET', '/api/stats', admin);
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(blocked.body)).toMatchObject({ statusCode: 429, error: 'Too Many Requests' });
    expect((await service.request('GET', '/api/stats', { 'x-api-key': 'guess-4' })).status).toBe(429);
    // Public routes stay up for a blocked client.
    expect((await service.request('GET', '/health')).status).toBe(200);

    service.clock.advance(MINUTE);
    expect((await service.request('GET', '/api/stats', admin)).status).toBe(200);
  });

  it('does not count requests without a key as guesses', async () => {
    for (let i = 0; i < 10; i++) expect((await service.request('GET', '/api/stats')).status).toBe(401);
    expect((await service.request('GET', '/api/stats', admin)).status).toBe(200);
  });
});

describe('client address behind a reverse proxy (TRUST_PROXY)', () => {
  let service: SecuredService | undefined;
  afterEach(async () => service?.close());
  const admin = { authorization: `Bearer ${ADMIN_KEY}` };
  const wrongKeysFrom = async (forwardedFor: (i: number) => string) => {
    for (let i = 0; i < 2; i++) {
      const headers = { 'x-api-key': `guess-${i}`, 'x-forwarded-for': forwardedFor(i) };
      expect((await service!.request('GET', '/api/stats', headers)).status).toBe(401);
    }
  };

  it('ignores X-Forwarded-For when no proxy is trusted: a client cannot name another address to escape', async () => {
    service = await SecuredService.start({ API_KEY: ADMIN_KEY, RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '2' });
    await wrongKeysFrom((i) => `203.0.113.${i + 1}`);
    const escape = await service.request('GET', '/api/stats', {
      ...admin,
      'x-forwarded-for': '198.51.100.7',
    });
    expect(escape.status).toBe(429);
  });

  it('counts the address the trusted proxy reports, so one client behind it does not block the others', async () => {
    service = await SecuredService.start({
      API_KEY: ADMIN_KEY,
      RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '2',
      TRUST_PROXY: 'loopback',
    });
    await wrongKeysFrom(() => '203.0.113.1');
    const guesser = await service.request('GET', '/api/stats', {
      ...admin,
      'x-forwarded-for': '203.0.113.1',
    });
    expect(guesser.status).toBe(429);
    const other = await service.request('GET', '/api/stats', { ...admin, 'x-forwarded-for': '198.51.100.7' });
    expect(other.status).toBe(200);
  });
});

describe('security headers', () => {
  let service: SecuredService;
  beforeAll(async () => (service = await SecuredService.start({ API_KEY: ADMIN_KEY })));
  afterAll(async () => service.close());

  it('sends helmet headers and no X-Powered-By, on answers and on errors', async () => {
    for (const path of ['/health', '/api/cloud/status', '/nowhere']) {
      const { headers } = await service.request('GET', path);
      expect(headers['x-powered-by']).toBeUndefined();
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(headers['x-frame-options']).toBe('DENY');
      expect(headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(headers['content-security-policy']).toContain("object-src 'none'");
      expect(headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
      expect(headers['referrer-policy']).toBe('no-referrer');
    }
  });

  it('serves the Swagger UI page with a policy its own scripts and styles pass, and every asset it loads', async () => {
    const page = await service.request('GET', '/api/docs');
    expect(page.status).toBe(200);
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    expect(csp).toContain("style-src 'self' 'unsafe-inline'");
    expect(csp).toContain("img-src 'self' data:");
    // The page must not rely on inline script (the policy forbids it): every <script> has a src.
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...page.body.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(4);
    for (const asset of assets) {
      expect(asset).not.toMatch(/^(https?:)?\/\//); // same origin only, as 'self' requires
      const url = new URL(asset, 'http://x/api/docs');
      const answer = await service.request('GET', url.pathname);
      expect([url.pathname, answer.status]).toEqual([url.pathname, 200]);
    }
  });
});
