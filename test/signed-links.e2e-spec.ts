import { CloudHarness } from './support/cloud-harness';
import { pngWorkflow } from './support/workflows';

const ADMIN_KEY = 'signed-links-admin-key';
const READ_KEY = 'signed-links-read-key';
const admin = { authorization: `Bearer ${ADMIN_KEY}` };

/** Short-lived signed links to job outputs: they stand in for the key on the output route only. */
describe('signed output links', () => {
  let h: CloudHarness;
  let jobId: string;
  let filename: string;

  const fetchPath = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${h.url}${path}`, { method, headers });

  async function links(body: object = {}, headers: Record<string, string> = { 'x-api-key': READ_KEY }) {
    return h.request('POST', `/api/jobs/${jobId}/output-links`, body, headers);
  }

  beforeAll(async () => {
    h = await CloudHarness.start({
      localWorkers: 1,
      env: { API_KEY: ADMIN_KEY, API_READ_KEY: READ_KEY, RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0' },
    });
    const submitted = await h.request('POST', '/api/jobs', { workflow: pngWorkflow('signed') }, admin);
    jobId = submitted.body.id;
    await h.until(async () => (await h.request('GET', `/api/jobs/${jobId}`, undefined, admin)).body.status === 'completed');
    filename = (await h.request('GET', `/api/jobs/${jobId}`, undefined, admin)).body.outputs[0].filename;
  });
  afterAll(async () => h?.close());

  it('gives the read-only key one link per output, valid for 10 minutes, with the key nowhere in it', async () => {
    const answer = await links();
    expect(answer.status).toBe(200);
    expect(answer.body.links).toEqual([
      {
        filename,
        url: expect.stringMatching(
          new RegExp(`^/api/jobs/${jobId}/outputs/${encodeURIComponent(filename)}\\?expires=\\d+&signature=[0-9a-f]{64}$`),
        ),
        expiresAt: expect.any(String),
      },
    ]);
    const lifetimeMs = Date.parse(answer.body.links[0].expiresAt) - h.clock.now();
    expect(lifetimeMs).toBeGreaterThan(595_000);
    expect(lifetimeMs).toBeLessThanOrEqual(600_000);
    expect(answer.body.links[0].url).not.toContain(ADMIN_KEY);
    expect(answer.body.links[0].url).not.toContain(READ_KEY);
  });

  it('serves the file without a key through the link, with the output security headers', async () => {
    const { url } = (await links()).body.links[0];
    const withKey = await fetchPath(`/api/jobs/${jobId}/outputs/${encodeURIComponent(filename)}`, admin);
    const signed = await fetchPath(url);
    expect(signed.status).toBe(200);
    expect(Buffer.from(await signed.arrayBuffer())).toEqual(Buffer.from(await withKey.arrayBuffer()));
    expect(signed.headers.get('content-type')).toBe('image/png');
    expect(signed.headers.get('content-security-policy')).toMatch(/^sandbox/);
    expect(signed.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await fetchPath(url, {}, 'HEAD')).status).toBe(200);
  });

  it('refuses a tampered, re-dated, expired link or one for another file, job or route (401)', async () => {
    const { url } = (await links({ expiresInSeconds: 60 })).body.links[0];
    const [path, query] = url.split('?');
    const params = new URLSearchParams(query);
    const signature = params.get('signature')!;
    const expires = params.get('expires')!;
    const flipped = (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1);
    const refused = [
      `${path}?expires=${expires}&signature=${flipped}`,
      `${path}?expires=${Number(expires) + 3600}&signature=${signature}`,
      `${path}?expires=${expires}`,
      `${path}?signature=${signature}`,
      `${path}?expires=${expires}&signature=${signature}&signature=${signature}`,
      `/api/jobs/${jobId}/outputs/other.png?expires=${expires}&signature=${signature}`,
      `/api/jobs/job-other/outputs/${encodeURIComponent(filename)}?expires=${expires}&signature=${signature}`,
      `/api/jobs/${jobId}?expires=${expires}&signature=${signature}`,
      `/api/jobs/${jobId}/events?expires=${expires}&signature=${signature}`,
    ];
    for (const attempt of refused) expect([attempt, (await fetchPath(attempt)).status]).toEqual([attempt, 401]);
    const body = await (await fetchPath(refused[0])).json();
    expect(body).toEqual({
      statusCode: 401,
      error: 'Unauthorized',
      message: 'Invalid or expired signed link: ask for a new one (POST output-links)',
    });
    // A request with a key is judged by the key alone: a wrong key with a good signature is refused.
    expect((await fetchPath(url, { 'x-api-key': 'wrong' })).status).toBe(401);
    expect((await fetchPath(url)).status).toBe(200);
    h.clock.advance(61_000);
    expect((await fetchPath(url)).status).toBe(401);
  });

  it('needs a key to mint links, bounds their lifetime and answers 404 for an unknown job', async () => {
    expect((await links({}, {})).status).toBe(401);
    expect((await links({ expiresInSeconds: 5 })).status).toBe(400);
    expect((await links({ expiresInSeconds: 86_401 })).status).toBe(400);
    expect((await h.request('POST', '/api/jobs/job-nope/output-links', {}, admin)).status).toBe(404);
  });
});
