import { MINUTE } from '../src/common/clock';
import { CloudHarness } from './support/cloud-harness';
import { pngWorkflow, slowWorkflow } from './support/workflows';

/**
 * RunPod serverless as it misbehaves in the field (reference/peers.md, complaint 4; runpod.md §3.2): jobs left
 * IN_QUEUE for hours by an endpoint whose workers never take them, and RunPod's default executionTimeout (600 s)
 * stopping a long job. The shared FakeClock jumps ahead; the fake RunPod times queue and execution on it.
 */
describe('serverless jobs RunPod does not run, or would stop', () => {
  let h: CloudHarness;

  beforeEach(async () => {
    h = await CloudHarness.start({ serverless: true, sim: { comfy: { samplerStepMs: 100 } } });
  });

  afterEach(async () => {
    await h.close();
  });

  it('cancels a job stuck in the queue of an endpoint that runs nothing, says why, and runs it on a pod', async () => {
    const endpoint = h.fake.serverlessEndpointIds[0];
    h.fake.faults.throttleServerless(endpoint);
    const id = await h.submit({ workflow: pngWorkflow('stuck'), backend: 'cloud' });
    await h.until(() => h.fake.serverlessJobs().some((job) => job.status === 'IN_QUEUE'));
    // Nine minutes in the queue: still waiting there, nothing cancelled.
    h.clock.advance(9 * MINUTE);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(h.fake.serverlessJobs().map((job) => job.status)).toEqual(['IN_QUEUE']);
    expect((await h.get(`/api/jobs/${id}`)).body).toMatchObject({ status: 'running', backend: 'serverless' });

    h.clock.advance(MINUTE + 1000);
    const stuck =
      /^serverless: serverless endpoint \S+ kept the job in its queue for 6\d\d s without running any job \(workers: 0 running, 0 idle, 0 initializing, 1 throttled, 0 unhealthy\); cancelled there$/;
    // The reason goes with the job's requeued event (the dashboard's recent events) and into the log.
    const requeued = async () =>
      ((await h.get('/api/events/recent?limit=50')).body.events as any[]).find(
        (event) => event.type === 'jobRequeued' && event.jobId === id,
      );
    await h.until(async () => (await requeued()) !== undefined);
    expect(await requeued()).toMatchObject({ backend: 'serverless', reason: expect.stringMatching(stuck) });
    expect(h.logger.has(/kept the job in its queue .* cancelling it there to run it elsewhere/)).toBe(true);
    const [atRunPod] = h.fake.serverlessJobs();
    expect(atRunPod).toMatchObject({ status: 'CANCELLED', billedSeconds: 0 });

    // The seed's fallback after a serverless failure: an on-demand pod.
    await h.tickUntil(async () => (await h.get(`/api/jobs/${id}`)).body.status === 'completed');
    const done = (await h.get(`/api/jobs/${id}`)).body;
    expect(done).toMatchObject({ backend: 'pod', attempts: 2 });
    expect(h.fake.serverlessJobs()).toHaveLength(1);
  });

  it('leaves jobs queued behind a running one alone, however long they wait, asking /health once for both', async () => {
    // The endpoint's one worker runs a long job; two more wait in RunPod's queue behind it.
    const first = await h.submit({ workflow: slowWorkflow(40, 1), backend: 'serverless' });
    await h.until(() => h.fake.serverlessJobs().some((job) => job.status === 'IN_PROGRESS'));
    const queued = [
      await h.submit({ workflow: slowWorkflow(2, 2), backend: 'serverless' }),
      await h.submit({ workflow: slowWorkflow(2, 3), backend: 'serverless' }),
    ];
    await h.until(() => h.fake.serverlessJobs().filter((job) => job.status === 'IN_QUEUE').length === 2);
    h.clock.advance(11 * MINUTE);
    for (const id of [first, ...queued]) {
      const job = await h.waitForJob(id);
      expect(job).toMatchObject({ status: 'completed', backend: 'serverless', attempts: 1 });
    }
    expect(h.fake.serverlessJobs().map((job) => job.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    expect(h.logger.has(/kept the job in its queue/)).toBe(false);
    // Both queued jobs looked past the timeout within seconds of each other: one /health call served both.
    expect(h.fake.requests({ api: 'serverless', path: /\/health$/ })).toHaveLength(1);
  });

  it('asks RunPod for an hour of execution, so a job running past its default 600 s is not stopped', async () => {
    const id = await h.submit({ workflow: slowWorkflow(30), backend: 'serverless' });
    await h.until(() => h.fake.serverlessJobs().some((job) => job.status === 'IN_PROGRESS'));
    h.clock.advance(11 * MINUTE);
    const job = await h.waitForJob(id);
    expect(job).toMatchObject({ status: 'completed', backend: 'serverless', attempts: 1 });
    const [atRunPod] = h.fake.serverlessJobs();
    expect(atRunPod.status).toBe('COMPLETED');
    expect(atRunPod.executionTimeMs).toBeGreaterThan(11 * MINUTE);
  });
});

describe('a stuck serverless endpoint with another one configured', () => {
  let h: CloudHarness;
  const CHEAP_USD_PER_S = 0.0002;
  const DEAR_USD_PER_S = 0.0008;

  beforeAll(async () => {
    h = await CloudHarness.start({
      sim: {
        serverlessEndpoints: [
          { id: 'cheap-ep', workers: 1, pricePerSecond: CHEAP_USD_PER_S },
          { id: 'dear-ep', workers: 1, pricePerSecond: DEAR_USD_PER_S },
        ],
      },
      env: {
        RUNPOD_DOCKER_IMAGE: '', // no pods: serverless is the only cloud backend
        RUNPOD_SERVERLESS_ENDPOINT_ID: 'cheap-ep',
        RUNPOD_SERVERLESS_PRICE_PER_SECOND: String(CHEAP_USD_PER_S),
        RUNPOD_SERVERLESS_ENDPOINTS: JSON.stringify([{ id: 'dear-ep', pricePerSecond: DEAR_USD_PER_S }]),
      },
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('retries on the other endpoint, not on the one that left it stuck, and bills only that one', async () => {
    h.fake.faults.throttleServerless('cheap-ep');
    const id = await h.submit({ workflow: pngWorkflow('failover'), backend: 'serverless' });
    await h.until(() => h.fake.serverlessJobs('cheap-ep').some((job) => job.status === 'IN_QUEUE'));
    h.clock.advance(10 * MINUTE + 1000);
    const job = await h.waitForJob(id);
    expect(job).toMatchObject({
      status: 'completed',
      backend: 'serverless',
      workerId: 'dear-ep',
      attempts: 2,
    });
    expect(h.fake.serverlessJobs('cheap-ep').map((entry) => entry.status)).toEqual(['CANCELLED']);
    expect(h.fake.serverlessJobs('dear-ep').map((entry) => entry.status)).toEqual(['COMPLETED']);
    expect(job.costUsd).toBeCloseTo(h.fake.totalServerlessBilledSeconds('dear-ep') * DEAR_USD_PER_S, 10);
  });
});
