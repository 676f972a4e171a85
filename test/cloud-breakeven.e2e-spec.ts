import { SECOND } from '../src/common/clock';
import { CloudHarness } from './support/cloud-harness';
import { samplerWorkflow } from '../src/comfyui/testing/comfyui-test-kit';
import { pngWorkflow, slowWorkflow, videoSamplerWorkflow } from './support/workflows';

/** The fake RunPod's pod boot in these tests (simulated time: the tests advance the clock through it). */
const BOOT_MS = 150 * SECOND;

/**
 * The break-even scaling policy (CLOUD_POLICY=breakeven, the default) in the service, against the fake RunPod:
 * what it spawns and why, what it reaps and when, and what GET /api/cloud/status says about both.
 */
describe('break-even scaling policy', () => {
  let h: CloudHarness;

  afterEach(async () => {
    await h.close();
  });

  async function start(
    env: Record<string, string> = {},
    samplerStepMs = 5,
    serverlessWorkers = 1,
  ): Promise<void> {
    h = await CloudHarness.start({
      serverless: true,
      sim: { bootMs: BOOT_MS, comfy: { samplerStepMs }, serverlessWorkersPerEndpoint: serverlessWorkers },
      env: { CLOUD_POLICY: 'breakeven', CLOUD_POLICY_DEFAULT_JOB_SECONDS: '30', ...env },
    });
  }

  const scaling = async () => (await h.get('/api/cloud/status')).body.scalingPolicy;

  /** Ticks, advancing simulated time a second at a time, until the pods the fake has are all running. */
  async function bootPods(): Promise<void> {
    await h.tickUntil(async () => {
      h.clock.advance(5 * SECOND);
      const pods = (await h.get('/api/cloud/pods')).body.pods as Array<{ state: string }>;
      return pods.length > 0 && pods.every((pod) => pod.state === 'ready' || pod.state === 'busy');
    }, 30_000);
  }

  it('keeps a lone job on serverless and says why no pod is worth it', async () => {
    await start();
    const job = await h.waitForJob(await h.submit({ workflow: pngWorkflow('lone') }));
    expect(job).toMatchObject({ status: 'completed', backend: 'serverless' });
    await h.tick();

    const policy = await scaling();
    expect(policy.name).toBe('breakeven');
    expect(policy.lastEvaluation).toMatchObject({
      policy: 'breakeven',
      action: 'hold',
      pods: 0,
      reason: 'none',
    });
    expect(policy.lastEvaluation.message).toMatch(/below break-even u\* 0\.\d+; serverless is cheaper/);
    expect(policy.parameters).toMatchObject({
      serverlessPricePerSecond: 0.00034,
      serverlessOverheadSeconds: 5,
      jobSamples: 1,
      bootSamples: 0,
      bootSeconds: 150,
    });
    // Run times are measured per job kind (the workflow's, stored at submit): this one was an image.
    expect(Object.keys(policy.parameters.meanJobSecondsByKind)).toEqual(['image']);
    expect(policy.parameters.meanJobSecondsByKind.image).toBe(policy.parameters.meanJobSeconds);
    expect(policy.parameters.podPricePerHour).toBeGreaterThan(0);
    expect(policy.parameters.breakEvenUtilisation).toBeCloseTo(
      policy.parameters.podPricePerHour / 3600 / 0.00034,
      3,
    );
    // τ* = boot + the serverless premium of one mean job / the pod's price per second.
    expect(policy.parameters.idleTimeoutSeconds).toBeGreaterThan(150);
    expect(h.fake.listAllPods()).toEqual([]);
  });

  it('spawns a pod when the queue beyond serverless would keep it busier than u*, and records why', async () => {
    await start({ RUNPOD_SERVERLESS_MAX_WORKERS: '1' });
    // Twelve 30 s jobs wait for cloud capacity: serverless (one worker) drains 150 s of them before a pod boots.
    h.demand.publish({ waitingForCloud: 12 }, 'test');
    const before = h.clock.now();
    await h.tick();

    expect(h.fake.runningPods().length).toBeGreaterThanOrEqual(1);
    expect(
      h.logger.has(
        /Auto-scaling \(break-even\): forecast \d+s of work .* > u\* 0\.\d+; spawning \d pod\(s\)/,
      ),
    ).toBe(true);
    const policy = await scaling();
    expect(policy.decisions[0]).toMatchObject({ policy: 'breakeven', action: 'spawn', reason: 'break-even' });
    expect(policy.decisions[0].pods).toBe(h.fake.runningPods().length);
    expect(Date.parse(policy.decisions[0].at)).toBeGreaterThanOrEqual(before);

    // The pods it started count: the same demand on the next tick spawns nothing more.
    await h.tick();
    expect(h.fake.runningPods()).toHaveLength(policy.decisions[0].pods);

    // The demand goes away (serverless took it): once up, no pod is worth keeping, so each is released at the
    // reaper's next passes instead of idling out τ* (CLOUD_IDLE_RELEASE_SECONDS=0).
    h.demand.publish({ waitingForCloud: 0 }, 'test');
    await bootPods();
    await h.tick(2);
    await h.tickUntil(() => h.fake.runningPods().length === 0);
    const released = (await scaling()).decisions.filter((decision: any) => decision.action === 'terminate');
    expect(released.length).toBe(policy.decisions[0].pods);
    expect(released[0].message).toMatch(/the forecast keeps 0 pod\(s\) busy enough, not this one/);
  });

  it('sends serverless no more jobs than its max workers: the rest wait in our queue, where a pod can take them', async () => {
    await start({ RUNPOD_SERVERLESS_MAX_WORKERS: '1' }, 100);
    const ids = [
      await h.submit({ workflow: slowWorkflow(20, 1) }),
      await h.submit({ workflow: slowWorkflow(20, 2) }),
      await h.submit({ workflow: slowWorkflow(20, 3) }),
    ];
    await h.until(async () =>
      /waiting for a pod or a free serverless worker \(RUNPOD_SERVERLESS_MAX_WORKERS busy\)/.test(
        (await h.get(`/api/jobs/${ids[2]}`)).body.waitingReason ?? '',
      ),
    );
    for (const id of ids)
      expect(await h.waitForJob(id)).toMatchObject({ status: 'completed', backend: 'serverless' });
    // One at a time: none of them queued at RunPod behind another (its delayTime would be a whole job).
    const jobs = h.fake.serverlessJobs();
    expect(jobs).toHaveLength(3);
    for (const job of jobs) expect(job.delayTimeMs!).toBeLessThan(1000);
  });

  it("reads the endpoint's max workers from RunPod when RUNPOD_SERVERLESS_MAX_WORKERS is unset", async () => {
    await start({}, 5, 4);
    await h.tick();
    expect((await scaling()).parameters).toMatchObject({
      serverlessMaxWorkers: 4,
      serverlessMaxWorkersSource: 'runpod',
    });
  });

  it('caps serverless at RUNPOD_SERVERLESS_MAX_WORKERS when it is set, whatever RunPod says', async () => {
    await start({ RUNPOD_SERVERLESS_MAX_WORKERS: '2' }, 5, 4);
    await h.tick();
    expect((await scaling()).parameters).toMatchObject({
      serverlessMaxWorkers: 2,
      serverlessMaxWorkersSource: 'config',
    });
  });

  it('falls back to the seed rule while no pod price is known, instead of treating pods as free', async () => {
    // No daily budget: under one, a pod whose price is not known is not admitted at all (cloud-budget's test).
    await start({ CLOUD_DAILY_BUDGET_USD: '0' });
    // RunPod's catalogue answers 500 (retries included) and no pod of this GPU type ran before: no price.
    h.fake.faults.failNext(1000, 500, { path: /catalog/ });
    // A fresh start, so no earlier read of the catalogue is cached.
    await h.stopApp();
    await h.startApp();
    h.demand.publish({ waitingForCloud: 12 }, 'test');
    await h.tick();
    expect(h.logger.has(/No price known for .*: the seed rule scales until RunPod quotes one/)).toBe(true);
    // The seed rule: ceil(12 / CLOUD_AUTOSCALE_THRESHOLD 5) = 3 pods, not one per forecast excess at $0.
    expect(h.fake.runningPods()).toHaveLength(3);
    expect((await scaling()).decisions[0]).toMatchObject({ policy: 'seed', reason: 'queue-length', pods: 3 });
  });

  it('spawns nothing for a backlog serverless drains before a pod could boot', async () => {
    await start({ RUNPOD_SERVERLESS_MAX_WORKERS: '10' });
    h.demand.publish({ waitingForCloud: 3 }, 'test');
    await h.tick();
    expect(h.fake.runningPods()).toEqual([]);
    expect((await scaling()).lastEvaluation).toMatchObject({ action: 'hold', reason: 'none' });
  });

  it('does not strand a job when serverless is configured but not preferred (the seed rule would)', async () => {
    await start({ CLOUD_PREFER_SERVERLESS: 'false' });
    const id = await h.submit({ workflow: pngWorkflow('stranded') });
    await h.until(async () => (await h.get(`/api/jobs/${id}`)).body.waitingReason !== null);
    await h.tick();
    expect(h.fake.runningPods()).toHaveLength(1);
    expect((await scaling()).decisions[0].message).toMatch(/no serverless overflow, so pods take it/);

    await bootPods();
    const job = await h.waitForJob(id);
    expect(job).toMatchObject({ status: 'completed', backend: 'pod' });
  });

  it('the seed rule, for comparison, leaves that job waiting (CLOUD_POLICY=seed)', async () => {
    await start({ CLOUD_POLICY: 'seed', CLOUD_PREFER_SERVERLESS: 'false' });
    const id = await h.submit({ workflow: pngWorkflow('stranded') });
    await h.until(async () => (await h.get(`/api/jobs/${id}`)).body.waitingReason !== null);
    await h.tick(2);
    expect(h.fake.runningPods()).toEqual([]);
    expect((await h.get(`/api/jobs/${id}`)).body.status).toBe('queued');
    expect(await scaling()).toMatchObject({ name: 'seed', parameters: null });
  });

  it("does not hold a job for a busy pod whose running job's estimate says it ends far beyond the wait target", async () => {
    // The mean job is 30 s: by the mean alone the busy pod would look free within the 30 s wait target.
    await start({ CLOUD_IDLE_TIMEOUT: '3600000' }, 20);
    const spawned = await h.post('/api/cloud/spawn?wait=false');
    expect(spawned.status).toBe(202);
    const podId = spawned.body.pod.id as string;
    await bootPods();
    await h.tick();
    expect((await scaling()).parameters.meanJobSeconds).toBe(30);
    // 10,000 sampler steps at 512x512: the run-time estimate (published defaults, scaled by size and steps) is
    // minutes, not 30 s. (At samplerWorkflow's 64x64 it is about 10 s: the pod then looked free within the wait
    // target, the next job was held for it until the running job's overrun estimate grew past it, about 25 s,
    // and this test passed only while that stayed under waitForJob's 25 s.)
    const workflow = samplerWorkflow(10_000, 1);
    const long = await h.submit({
      workflow: {
        ...workflow,
        '5': { class_type: 'EmptyLatentImage', inputs: { width: 512, height: 512, batch_size: 1 } },
      },
    });
    await h.until(async () => (await h.get(`/api/jobs/${long}`)).body.status === 'running');
    expect((await h.get(`/api/jobs/${long}`)).body).toMatchObject({ backend: 'pod' });
    expect(h.fake.getPod(podId)!.terminatedAt).toBeNull();

    // Sent to serverless at once, not "waiting for a pod that will take it shortly".
    const nextId = await h.submit({ workflow: pngWorkflow('next') });
    await h.until(async () => (await h.get(`/api/jobs/${nextId}`)).body.status !== 'queued');
    expect((await h.get(`/api/jobs/${nextId}`)).body.waitingReason).toBeNull();
    const next = await h.waitForJob(nextId);
    expect(next).toMatchObject({ status: 'completed', backend: 'serverless' });
    expect((await h.get(`/api/jobs/${long}`)).body.status).toBe('running');
    await h.request('DELETE', `/api/jobs/${long}`);
  });

  const status = async (id: string) => (await h.get(`/api/jobs/${id}`)).body;
  /** Where the service logged sending the job to a backend (its line's index; -1: never). */
  const sentAt = (id: string) =>
    h.logger.lines.findIndex((line) => line.includes(`Processing job ${id} with`));

  /** One serverless worker; both kinds measured: a video that runs four simulated minutes, an image in no time. */
  async function startWithVideoAndImageMeasured(): Promise<void> {
    await start({ RUNPOD_SERVERLESS_MAX_WORKERS: '1' }, 50);
    const measured = await h.submit({ workflow: videoSamplerWorkflow(20, 1) });
    await h.until(async () => (await status(measured)).status === 'running');
    // 'running' is ours (sent to RunPod); the run is measured from when a worker took it at RunPod. On a loaded
    // machine the fake's worker took it after the advance below, and the video measured 1.3 s.
    const endpointId = h.fake.serverlessEndpointIds[0];
    await h.until(() => h.fake.serverlessWorkers(endpointId).some((worker) => worker.state === 'running'));
    h.clock.advance(240 * SECOND);
    expect(await h.waitForJob(measured)).toMatchObject({ status: 'completed' });
    await h.waitForJob(await h.submit({ workflow: pngWorkflow('measured') }));
    await h.tick();
  }

  it('serves a queued image before a video that came just before it when serverless is full (due first)', async () => {
    await startWithVideoAndImageMeasured();
    const byKind = (await scaling()).parameters.meanJobSecondsByKind;
    expect(byKind.video).toBeGreaterThanOrEqual(240);
    expect(byKind.image).toBeLessThan(30);

    // The day's budget is spent, so a video, then an image, wait in our queue; then the budget is raised and the
    // next pass has one serverless worker (RUNPOD_SERVERLESS_MAX_WORKERS) for the two of them.
    expect((await h.put('/api/cloud/config', { dailyBudgetUsd: 0.01 })).status).toBe(200);
    const video = await h.submit({ workflow: videoSamplerWorkflow(5, 3) });
    const image = await h.submit({ workflow: pngWorkflow('after-the-video') });
    await h.until(async () =>
      (await Promise.all([status(video), status(image)])).every((job) =>
        /budget/i.test(job.waitingReason ?? ''),
      ),
    );
    expect((await h.put('/api/cloud/config', { dailyBudgetUsd: 100 })).status).toBe(200);
    for (const id of [video, image])
      expect(await h.waitForJob(id)).toMatchObject({ status: 'completed', backend: 'serverless' });
    // The image was due to start within 30 s of its arrival, the video within half its 4-minute run: first come
    // first served would have sent the video first.
    expect(sentAt(image)).toBeGreaterThan(-1);
    expect(sentAt(image)).toBeLessThan(sentAt(video));
  });

  it('leaves the one free serverless worker to an image queued behind a video that has waited less than its run', async () => {
    await startWithVideoAndImageMeasured();
    // The budget is spent: a video waits; 100 s later an image comes. The video is due first (120 s after its
    // arrival, the image 30 s after its own), so by the queue order alone it would take the worker.
    expect((await h.put('/api/cloud/config', { dailyBudgetUsd: 0.01 })).status).toBe(200);
    const video = await h.submit({ workflow: videoSamplerWorkflow(5, 3) });
    await h.until(async () => /budget/i.test((await status(video)).waitingReason ?? ''));
    h.clock.advance(100 * SECOND);
    const image = await h.submit({ workflow: pngWorkflow('behind-the-video') });
    await h.until(async () => /budget/i.test((await status(image)).waitingReason ?? ''));
    expect((await h.put('/api/cloud/config', { dailyBudgetUsd: 100 })).status).toBe(200);
    for (const id of [video, image])
      expect(await h.waitForJob(id)).toMatchObject({ status: 'completed', backend: 'serverless' });
    expect(sentAt(image)).toBeGreaterThan(-1);
    expect(sentAt(image)).toBeLessThan(sentAt(video));
  });

  it("keeps a pod a steady stream pays for through the stream's gaps, beyond τ*, and says so", async () => {
    await start({ CLOUD_IDLE_TIMEOUT: '3600000' });
    await h.tick(); // this instance leads from here: its windows grow from now
    h.clock.advance(2 * 3600 * SECOND);
    // A cloud job a minute (30 s each, CLOUD_POLICY_DEFAULT_JOB_SECONDS), recorded as cloud starts: the forecast
    // counts them whatever ran them. A pod would have been busy half the time, idle 30 s between jobs: less than
    // the next job's serverless premium would cost.
    let streamedUpTo = h.clock.now() - 2 * 3600 * SECOND;
    const stream = () => {
      for (; streamedUpTo + 60 * SECOND <= h.clock.now(); streamedUpTo += 60 * SECOND)
        h.demand.recordCloudStart(streamedUpTo + 60 * SECOND, streamedUpTo + 60 * SECOND, 'image');
    };
    stream();
    await h.tick();
    expect(h.fake.runningPods()).toHaveLength(1);
    await bootPods();
    stream();
    await h.tick();
    const { parameters } = await scaling();
    expect(parameters).toMatchObject({ podsKept: 1, keptIdleTimeoutsSeconds: [1800] });
    const tauMs = parameters.idleTimeoutSeconds * 1000;
    expect(tauMs).toBeLessThan(1_800_000);
    const [pod] = h.fake.runningPods();
    // The pod itself says how long it may idle (the dashboard's countdown reads it).
    const listed = (await h.get('/api/cloud/pods')).body.pods as Array<{ id: string; idleTimeout: number }>;
    expect(listed.find((entry) => entry.id === pod.id)?.idleTimeout).toBe(1_800_000);

    // The stream goes on elsewhere while this pod idles. Past τ*, it lives: the stream's next job is cheaper on
    // it than on serverless.
    const idleSince = h.clock.now();
    const idleMs = () => h.clock.now() - idleSince;
    const minuteGoesBy = async () => {
      h.clock.advance(60 * SECOND);
      stream();
      await h.tick();
    };
    while (idleMs() < tauMs + 60 * SECOND) await minuteGoesBy();
    expect(h.fake.getPod(pod.id)!.terminatedAt).toBeNull();

    // Its own timeout is an arrival window (30 min): no gap it had says more idling pays. Released, with why.
    while (idleMs() < 1_800_000) await minuteGoesBy();
    expect(h.fake.getPod(pod.id)!.terminatedAt).toBeNull();
    await minuteGoesBy();
    await minuteGoesBy();
    expect(h.fake.getPod(pod.id)!.terminatedAt).not.toBeNull();
    const terminate = (await scaling()).decisions.find((decision: any) => decision.action === 'terminate');
    expect(terminate.message).toMatch(
      new RegExp(`pod ${pod.id} idle \\d+s ≥ 1800s, the idle timeout its last two hours of jobs call for`),
    );
  });

  it('measures the boot, and reaps an idle pod spawned by hand at the measured break-even τ*, not CLOUD_IDLE_TIMEOUT', async () => {
    await start({ CLOUD_IDLE_TIMEOUT: '3600000' });
    const answer = await h.post('/api/cloud/spawn?wait=false');
    expect(answer.status).toBe(202);
    const podId = answer.body.pod.id as string;
    await bootPods();
    await h.tick();

    const parameters = (await scaling()).parameters;
    expect(parameters.bootSamples).toBe(1);
    // Booted on the first tick at or after 150 s of simulated time (ticks are 5 s of it apart here).
    expect(parameters.bootSeconds).toBeGreaterThanOrEqual(150);
    expect(parameters.bootSeconds).toBeLessThan(165);
    const tauMs = parameters.idleTimeoutSeconds * 1000;
    expect(tauMs).toBeLessThan(3_600_000);
    // Spawned by hand: τ*, whatever the forecast keeps.
    const listed = (await h.get('/api/cloud/pods')).body.pods as Array<{ id: string; idleTimeout: number }>;
    // (The status rounds τ* to a tenth of a second.)
    expect(Math.abs(listed.find((entry) => entry.id === podId)!.idleTimeout - tauMs)).toBeLessThanOrEqual(50);

    // Idle since it became ready (on the last tick of bootPods): a little short of τ*, it lives.
    h.clock.advance(tauMs - 20 * SECOND);
    await h.tick(2);
    expect(h.fake.getPod(podId)!.terminatedAt).toBeNull();

    // Past τ*: marked, then terminated on the next tick, with the reason recorded.
    h.clock.advance(25 * SECOND);
    await h.tick();
    h.clock.advance(SECOND);
    await h.tick();
    expect(h.fake.getPod(podId)!.terminatedAt).not.toBeNull();
    const terminate = (await scaling()).decisions.find((decision: any) => decision.action === 'terminate');
    expect(terminate).toMatchObject({ policy: 'breakeven', pods: 1, reason: 'idle-timeout' });
    expect(terminate.message).toMatch(new RegExp(`pod ${podId} idle \\d+s ≥ break-even τ\\* \\d+s`));
  });
});
