import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Test } from '@nestjs/testing';
import { ExpressAdapter } from '@nestjs/platform-express';
import { DashboardModule, dashboardDistDir } from '../../src/http/dashboard.module';
import { SecuredService } from '../support/secured-service';

const ADMIN_KEY = 'admin-key-for-the-dashboard';
const DIST = dashboardDistDir();

/**
 * The dashboard's static files and SPA fallback, over HTTP (no browser). Needs web/dist: `npm test` builds it
 * first (pretest); run `npm run build:web` before running this spec alone.
 */
describe('dashboard serving', () => {
  let service: SecuredService;
  beforeAll(async () => {
    if (!existsSync(join(DIST, 'index.html'))) {
      throw new Error(
        `${DIST}/index.html is missing: run \`npm run build:web\` first (npm test does it in pretest)`,
      );
    }
    service = await SecuredService.start({ API_KEY: ADMIN_KEY });
  });
  afterAll(async () => service.close());

  it('serves the app at / and its client routes without a key, with only same-origin, external scripts', async () => {
    for (const path of ['/', '/jobs', '/jobs/job-123', '/cost', '/controls']) {
      const page = await service.request('GET', path);
      expect([path, page.status]).toEqual([path, 200]);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.body).toContain('<div id="app"></div>');
      expect(page.headers['cache-control']).toBe('no-cache');
    }
    const page = await service.request('GET', '/');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/script-src 'self'(;|$)/);
    // The policy forbids inline script: every <script> has a src, and every asset is same-origin and served.
    expect(page.body).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    const assets = [...page.body.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(assets.length).toBeGreaterThanOrEqual(2);
    for (const asset of assets) {
      const answer = await service.request('GET', asset);
      expect([asset, answer.status]).toEqual([asset, 200]);
      expect(answer.headers['cache-control']).toContain('immutable');
    }
  });

  it('never answers the API, docs, health or metrics paths with the app', async () => {
    const paths = ['/api/nope', '/API/Nope', '/api', '/health/nope', '/metrics/x', '/api/jobs/x/y/z'];
    // Spellings that Nest's router does not match either: they must not get the app (a 200) instead of a 404.
    paths.push('//api/jobs', '/%61pi/jobs', '/api%2fjobs', '/jobs/a/b', '/nope');
    for (const path of paths) {
      const answer = await service.request('GET', path, { authorization: `Bearer ${ADMIN_KEY}` });
      expect([path, answer.body]).not.toEqual([path, expect.stringContaining('<div id="app">')]);
      expect([path, answer.status]).toEqual([path, 404]);
      expect(answer.headers['content-type']).toMatch(/application\/json/);
    }
    expect((await service.request('GET', '/api/stats')).status).toBe(401);
    expect((await service.request('GET', '/health')).status).toBe(200);
    const docs = await service.request('GET', '/api/docs');
    expect(docs.status).toBe(200);
    expect(docs.body).toContain('swagger');
  });

  it('answers / with how to build the app when web/dist is missing', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'no-dashboard-'));
    const moduleRef = await Test.createTestingModule({ imports: [DashboardModule.forRoot(empty)] }).compile();
    const app = moduleRef.createNestApplication(new ExpressAdapter(), { logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      const { port } = app.getHttpServer().address() as { port: number };
      const answer = await fetch(`http://127.0.0.1:${port}/`);
      expect(answer.status).toBe(200);
      expect(await answer.text()).toContain('npm run build:web');
    } finally {
      await app.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
