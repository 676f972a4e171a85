import { samplerWorkflow } from '../src/comfyui/testing/comfyui-test-kit';
import { CloudHarness } from './support/cloud-harness';

const STEP_MS = 20;

/**
 * Under the break-even policy, a job that the cloud would take waits instead for a busy local worker that should
 * start it within its wait allowance (LOCAL_WAIT_TARGET_SECONDS, LOCAL_WAIT_PER_RUN): a local GPU is free. The
 * allowance counts from the job's arrival, so a worker that stays busy past it is left to the cloud; 0, 0 bursts
 * at once, as the seed does. One local fake ComfyUI, one serverless endpoint, no pods.
 */
describe('waiting for a busy local worker instead of the cloud', () => {
  let h: CloudHarness;

  beforeAll(async () => {
    h = await CloudHarness.start({
      localWorkers: 1,
      localComfy: { samplerStepMs: STEP_MS },
      serverless: true,
      env: { CLOUD_POLICY: 'breakeven', RUNPOD_DOCKER_IMAGE: '' },
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  const job = async (id: string) => (await h.get(`/api/jobs/${id}`)).body;

  /** A job that keeps the local worker busy until it is cancelled (ComfyUI's KSampler maximum: 10,000 steps). */
  async function busyLocalWorker(seed: number): Promise<string> {
    const id = await h.submit({ workflow: samplerWorkflow(10_000, seed) });
    await h.until(async () => (await job(id)).status === 'running');
    expect((await job(id)).backend).toBe('local');
    return id;
  }

  it('holds a job for the local worker expected free shortly, and runs it there', async () => {
    const sentBefore = h.fake.serverlessJobs().length;
    // A first job teaches the estimator this workflow's run time on the worker (250 steps: about 5 s).
    const first = await h.waitForJob(await h.submit({ workflow: samplerWorkflow(250, 1) }));
    expect(first).toMatchObject({ status: 'completed', backend: 'local' });
    const busy = await h.submit({ workflow: samplerWorkflow(250, 2) });
    await h.until(async () => (await job(busy)).status === 'running');
    const next = await h.submit({ workflow: samplerWorkflow(250, 3) });
    // Held while the worker runs the busy job (about 5 s; held until 30 s, far beyond a slow machine's delay).
    await h.until(async () => /waiting for local worker/.test((await job(next)).waitingReason ?? ''));
    expect((await job(busy)).status).toBe('running');
    const done = await h.waitForJob(next);
    expect(done).toMatchObject({ status: 'completed', backend: 'local', attempts: 1 });
    expect(h.fake.serverlessJobs().length).toBe(sentBefore);
  });

  it('gives the freed worker first to a deadline job planned on it, before a job held for it that came earlier', async () => {
    const sentBefore = h.fake.serverlessJobs().length;
    // The queue is served due first once the control loop has measured the run times (a tick).
    await h.tick();
    const busy = await h.submit({ workflow: samplerWorkflow(250, 30) });
    await h.until(async () => (await job(busy)).status === 'running');
    const held = await h.submit({ workflow: samplerWorkflow(250, 31) });
    await h.until(async () => /waiting for local worker/.test((await job(held)).waitingReason ?? ''));
    // Far from its deadline, so only its plan puts it first: due when the worker frees, not 30 s after arrival.
    const planned = await h.submit({
      workflow: samplerWorkflow(250, 32),
      deadline: new Date(h.clock.now() + 600_000).toISOString(),
    });
    expect((await job(planned)).plannedBackend).toBe('local');
    const [first, second] = [await h.waitForJob(planned), await h.waitForJob(held)];
    expect(first).toMatchObject({ status: 'completed', backend: 'local' });
    expect(second).toMatchObject({ status: 'completed', backend: 'local' });
    expect(Date.parse(first.startedAt)).toBeLessThan(Date.parse(second.startedAt));
    expect(h.fake.serverlessJobs().length).toBe(sentBefore);
  });

  it('sends the job to the cloud once it has waited its allowance for a worker that stays busy', async () => {
    const sentBefore = h.fake.serverlessJobs().length;
    const busy = await busyLocalWorker(10);
    const next = await h.submit({ workflow: samplerWorkflow(100, 11) });
    await h.until(async () => /waiting for local worker/.test((await job(next)).waitingReason ?? ''));
    // 31 s later by the clock (past LOCAL_WAIT_TARGET_SECONDS=30 for a job this short), the worker still busy.
    h.clock.advance(31_000);
    const done = await h.waitForJob(next);
    expect(done).toMatchObject({ status: 'completed', backend: 'serverless' });
    expect(h.fake.serverlessJobs().length).toBe(sentBefore + 1);
    await h.request('DELETE', `/api/jobs/${busy}`);
    await h.until(async () => (await job(busy)).status === 'cancelled');
  });

  it('bursts at once with LOCAL_WAIT_TARGET_SECONDS=0 and LOCAL_WAIT_PER_RUN=0 (the seed’s local-then-cloud)', async () => {
    await h.stopApp();
    await h.startApp({ LOCAL_WAIT_TARGET_SECONDS: '0', LOCAL_WAIT_PER_RUN: '0' });
    await h.until(async () => (await h.get('/api/local/workers')).body.workers[0]?.healthy === true);
    const sentBefore = h.fake.serverlessJobs().length;
    const busy = await busyLocalWorker(20);
    const next = await h.submit({ workflow: samplerWorkflow(100, 21) });
    // A hold would last about 15 s here (the busy job's default estimate, then its overrun): never seen.
    const reasons = new Set<string>();
    await h.until(async () => {
      const body = await job(next);
      if (body.waitingReason) reasons.add(body.waitingReason);
      return body.status !== 'queued';
    });
    expect([...reasons].filter((reason) => /waiting for local worker/.test(reason))).toEqual([]);
    const done = await h.waitForJob(next);
    expect(done).toMatchObject({ status: 'completed', backend: 'serverless' });
    expect(h.fake.serverlessJobs().length).toBe(sentBefore + 1);
    await h.request('DELETE', `/api/jobs/${busy}`);
  });
});
