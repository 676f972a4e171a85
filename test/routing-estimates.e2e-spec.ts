import { RoutingEstimatesService } from '../src/routing-estimates/routing-estimates.service';
import { CloudHarness } from './support/cloud-harness';
import { pngWorkflow, slowWorkflow } from './support/workflows';

/**
 * Jobs that run for seconds (40 ms a step): the test sees one running and then moves the clock, which must
 * happen while it still runs, however slow a loaded machine is to answer.
 */
const LONG_STEPS = 100;
const POD_STEPS = 150;

/**
 * Issue 11 §1-2 through the HTTP API: POST /api/jobs/quote (every candidate, the router's pick and why), a job's
 * estimate at submit and its actual times and cost at the end, pod jobs' cost attribution, and the run-time
 * estimates learned from completed jobs surviving a restart. Runs on SQLite and, with DATABASE_URL, PostgreSQL.
 */
describe('routing estimates: quotes, job estimates and actuals', () => {
  let h: CloudHarness;

  afterEach(async () => {
    await h.close();
  });

  it('quotes local and serverless, picks local by the fixed order, and learns a run time that survives a restart', async () => {
    h = await CloudHarness.start({ localWorkers: 1, localComfy: { samplerStepMs: 40 }, serverless: true });
    const workflow = pngWorkflow('quote');
    const quote = await h.post('/api/jobs/quote', { workflow });
    expect(quote.status).toBe(200);
    const backends = quote.body.candidates.map((c: any) => c.backend).sort();
    expect(backends).toEqual(expect.arrayContaining(['local', 'serverless']));
    const local = quote.body.candidates.find((c: any) => c.backend === 'local');
    const serverless = quote.body.candidates.find((c: any) => c.backend === 'serverless');
    expect(local).toMatchObject({ kind: 'local', costUsd: 0, runSeconds: expect.any(Number) });
    expect(Date.parse(local.completeAt)).toBeGreaterThan(Date.parse(local.startAt));
    expect(serverless.costUsd).toBeGreaterThan(0);
    expect(serverless.workerClass).toBe(`serverless:${h.fake.serverlessEndpointIds[0]}`);
    expect(quote.body.pick).toMatchObject({
      decision: 'local',
      candidate: { backend: 'local', workerId: local.workerId },
      why: expect.stringMatching(
        /^fixed order \(ROUTING_PREFERENCE=balanced: .*local worker .* has a free slot$/,
      ),
    });
    expect(quote.body.runTimeSource).toBe('default');
    // Validated like a submit; nothing is queued.
    expect((await h.post('/api/jobs/quote', { workflow: {} })).status).toBe(400);
    expect((await h.post('/api/jobs/quote', { workflow, colour: 'red' })).status).toBe(400);
    expect((await h.get('/api/jobs')).body.count).toBe(0);

    // A submitted job carries its estimate; once ended, what it really took.
    const id = await h.submit({ workflow: slowWorkflow(LONG_STEPS) });
    const submitted = (await h.get(`/api/jobs/${id}`)).body;
    expect(submitted.estimate).toMatchObject({ backend: 'local', workerClass: local.workerId, costUsd: 0 });
    expect(submitted.actual).toBeNull();
    await h.until(async () => (await h.get(`/api/jobs/${id}`)).body.status === 'running');
    h.clock.advance(7_000); // the run takes 7 s on the test's clock, plus the real time it took
    const done = await h.waitForJob(id);
    expect(done).toMatchObject({ status: 'completed', backend: 'local', costUsd: 0 });
    expect(done.actual).toMatchObject({ backend: 'local', costUsd: 0, startedAt: done.startedAt });
    expect(done.actual.runSeconds).toBeGreaterThanOrEqual(7);
    expect(done.actual.runSeconds).toBeLessThan(30);
    expect(done.estimate.workerClass).toBe(local.workerId);

    const estimates = h.app!.get(RoutingEstimatesService);
    await h.until(() => estimates.snapshot().pairs === 1);
    const learned = (await h.post('/api/jobs/quote', { workflow: slowWorkflow(LONG_STEPS) })).body;
    expect(learned.runTimeSource).toBe('observed');
    // Timed from the dispatch of this attempt, as the job's own startedAt.
    expect(Math.abs(learned.pick.candidate.runSeconds - done.actual.runSeconds)).toBeLessThan(0.5);

    await h.stopApp();
    await h.startApp();
    const restored = (await h.post('/api/jobs/quote', { workflow: slowWorkflow(LONG_STEPS) })).body;
    expect(restored).toMatchObject({
      runTimeSource: 'observed',
      pick: {
        candidate: {
          workerId: learned.pick.candidate.workerId,
          runSeconds: learned.pick.candidate.runSeconds,
        },
      },
    });
  });

  it("learns the endpoint's cold start from jobs sent to it cold, and keeps it across a restart", async () => {
    h = await CloudHarness.start({ serverless: true });
    const serverlessStartInS = async () => {
      const quote = await h.post('/api/jobs/quote', { workflow: pngWorkflow(), backend: 'serverless' });
      expect(quote.status).toBe(200);
      const candidate = quote.body.candidates.find((c: any) => c.backend === 'serverless');
      return (Date.parse(candidate.startAt) - h.clock.now()) / 1000;
    };
    // Nothing seen yet: a cold endpoint is priced the published cold start (45 s).
    expect(await serverlessStartInS()).toBeGreaterThan(40);

    // The fake's workers start at once. A job sent to the endpoint cold (nothing in flight, none ended within
    // its idle timeout) shows that.
    const done = await h.waitForJob(await h.submit({ workflow: pngWorkflow(), backend: 'serverless' }));
    expect(done).toMatchObject({ status: 'completed', backend: 'serverless' });
    const estimates = h.app!.get(RoutingEstimatesService);
    await h.until(() => estimates.snapshot().startDelays === 1);
    h.clock.advance(60_000); // past the endpoint's idle timeout: cold again
    expect(await serverlessStartInS()).toBeLessThan(10);

    await h.stopApp();
    await h.startApp();
    expect(await serverlessStartInS()).toBeLessThan(10);
  });

  it("prices a saturated endpoint's start after the job it runs, by that job's estimate", async () => {
    h = await CloudHarness.start({
      serverless: true,
      sim: { comfy: { samplerStepMs: 100 } },
      env: { RUNPOD_SERVERLESS_MAX_WORKERS: '1' },
    });
    const serverlessStartAt = async () => {
      const quote = await h.post('/api/jobs/quote', { workflow: pngWorkflow(), backend: 'serverless' });
      expect(quote.status).toBe(200);
      return Date.parse(quote.body.candidates.find((c: any) => c.backend === 'serverless').startAt);
    };
    // Its one worker takes a job for about 40 s of real time (cancelled below).
    const running = await h.submit({ workflow: slowWorkflow(400), backend: 'serverless' });
    await h.until(async () => (await h.get(`/api/jobs/${running}`)).body.status === 'running');
    const { estimate } = (await h.get(`/api/jobs/${running}`)).body;
    const sentAt = h.clock.now();
    const first = await serverlessStartAt();
    // After the running job's start (the published 45 s cold start: none measured yet) and its estimated run.
    expect(first).toBeGreaterThanOrEqual(sentAt + (45 + estimate.runSeconds) * 1000 - 1000);
    // Its end does not move with the clock while the job is within its estimate: the start stays put, where
    // "a typical job from now" would move with it.
    h.clock.advance(20_000);
    expect(await serverlessStartAt()).toBe(first);
    expect((await h.request('DELETE', `/api/jobs/${running}`)).status).toBeLessThan(300);
  });

  it('forgets the oldest of more than 8,192 serverless jobs in flight without leaving their endpoint full for good', async () => {
    h = await CloudHarness.start({ serverless: true, env: { RUNPOD_SERVERLESS_MAX_WORKERS: '1' } });
    const serverlessStartInS = async () => {
      const quote = await h.post('/api/jobs/quote', { workflow: pngWorkflow(), backend: 'serverless' });
      expect(quote.status).toBe(200);
      const candidate = quote.body.candidates.find((c: any) => c.backend === 'serverless');
      return (Date.parse(candidate.startAt) - h.clock.now()) / 1000;
    };
    const idle = await serverlessStartInS(); // a cold start: nothing in flight
    const estimates = h.app!.get(RoutingEstimatesService);
    const endpointId = 'sim-endpoint-01';
    const ids = Array.from({ length: 9_000 }, (_, i) => `flood-${i}`);
    // The service's own events for 9,000 jobs sent to the one-worker endpoint (a seed-rule burst it queues at
    // RunPod), then each job's end.
    for (const jobId of ids)
      estimates.onStarted({
        jobId,
        backend: 'serverless',
        workerId: endpointId,
        attempt: 1,
        createdAt: h.clock.now(),
      });
    expect(await serverlessStartInS()).toBeGreaterThan(idle + 60); // full: behind the jobs in flight
    for (const jobId of ids) estimates.onCancelled({ jobId, status: 'cancelled' });
    h.clock.advance(60_000); // past the endpoint's idle timeout: cold again, as at the start
    expect(await serverlessStartInS()).toBeCloseTo(idle, 0);
  });

  it("shows a ready pod's marginal cost in a quote, and attributes a pod job its share of the pod without adding it to the ledger", async () => {
    h = await CloudHarness.start({
      localComfy: { samplerStepMs: 40 },
      sim: { comfy: { samplerStepMs: 40 } },
    });
    const quoteBefore = await h.post('/api/jobs/quote', { workflow: pngWorkflow(), backend: 'pod' });
    expect(quoteBefore.status).toBe(200);
    expect(quoteBefore.body.candidates.map((c: any) => c.kind)).toEqual(['new-pod']);
    expect(quoteBefore.body.pick).toMatchObject({ decision: 'wait', candidate: { kind: 'new-pod' } });

    const podId = await h.spawnReadyPod();
    const pod = (await h.get('/api/cloud/pods')).body.pods.find((p: any) => p.id === podId);
    const quote = await h.post('/api/jobs/quote', { workflow: pngWorkflow(), backend: 'pod' });
    const ready = quote.body.candidates.find((c: any) => c.kind === 'ready-pod');
    expect(ready).toMatchObject({ backend: 'pod', workerId: expect.any(String) });
    expect(ready.costUsd).toBeGreaterThan(0);
    expect(quote.body.pick).toMatchObject({ decision: 'pod', candidate: { kind: 'ready-pod' } });

    const id = await h.submit({ workflow: slowWorkflow(POD_STEPS), backend: 'pod' });
    expect((await h.get(`/api/jobs/${id}`)).body.estimate).toMatchObject({ backend: 'pod' });
    await h.until(async () => (await h.get(`/api/jobs/${id}`)).body.status === 'running');
    h.clock.advance(10_000);
    const done = await h.waitForJob(id);
    expect(done).toMatchObject({ status: 'completed', backend: 'pod' });
    expect(pod.costPerHour).toBeGreaterThan(0);
    // Its run on the test's clock: the 10 s it was moved plus the real time the run took.
    expect(done.costUsd).toBeGreaterThanOrEqual((pod.costPerHour / 3600) * 10);
    expect(done.costUsd).toBeLessThan((pod.costPerHour / 3600) * 30);
    expect(done.actual.costUsd).toBe(done.costUsd);
    // The ledger bills the pod (from its creation), not its jobs.
    await h.tick();
    const cost = (await h.get('/api/cloud/cost')).body;
    const podCost = (await h.get('/api/cloud/pods')).body.pods.find((p: any) => p.id === podId).costUsd;
    // (The two reads are a moment apart on a clock that follows real time: far less than the job's share.)
    expect(Math.abs(cost.totalCost - podCost)).toBeLessThan(done.costUsd / 2);
  });

  it("starts a new pod's job behind the images queued for pods, each counted at an image's published run before any has run", async () => {
    h = await CloudHarness.start({ env: { CLOUD_POLICY: 'breakeven', CLOUD_MAX_PODS: '1' } });
    const newPodInS = async () => {
      const quote = await h.post('/api/jobs/quote', { workflow: pngWorkflow(), backend: 'pod' });
      expect(quote.status).toBe(200);
      const [pod] = quote.body.candidates;
      expect(pod.kind).toBe('new-pod');
      return (Date.parse(pod.startAt) - h.clock.now()) / 1000;
    };
    const bootS = await newPodInS();
    // Twenty images wait for the one pod that may start (the control loop is not ticked: none does).
    for (let i = 0; i < 20; i++) await h.submit({ workflow: pngWorkflow(`queued-${i}`), backend: 'pod' });
    // Behind them: 20 x 6 s (an image's published median) after the boot, not 20 x the typical job (60 s). Until
    // a dispatch pass has published all twenty, those it has not count at their own estimate (under a second).
    let aheadS = 0;
    await h.until(async () => (aheadS = (await newPodInS()) - bootS) > 115);
    expect(aheadS).toBeLessThan(130);
  });
});
