import { MINUTE } from '../src/common/clock';
import { JobsRepository } from '../src/persistence/jobs.repository';
import { WorkerRouter } from '../src/routing/worker-router.service';
import type { FakeComfyUI } from './sim/comfyui/fake-comfyui';
import { CloudHarness } from './support/cloud-harness';
import { MISSING_INPUT_WORKFLOW, pngWorkflow, slowWorkflow, videoWorkflow } from './support/workflows';

/** Smart routing across local, serverless and pods, against the fake RunPod and fake ComfyUIs. */
describe('jobs across the hybrid fleet', () => {
  let h: CloudHarness;

  afterEach(async () => {
    await h.close();
  });

  describe('one local worker and a serverless endpoint', () => {
    beforeEach(async () => {
      h = await CloudHarness.start({ localWorkers: 1, localComfy: { samplerStepMs: 40 }, serverless: true });
    });

    it('prefers local, and sends a job to serverless when local is busy (cost = billed seconds x price)', async () => {
      const onLocal = await h.submit({ workflow: slowWorkflow(25) });
      await h.until(async () => (await h.get(`/api/jobs/${onLocal}`)).body.status === 'running');
      const burst = await h.submit({ workflow: pngWorkflow('burst') });

      const serverlessJob = await h.waitForJob(burst);
      expect(serverlessJob).toMatchObject({ status: 'completed', backend: 'serverless', attempts: 1 });
      const [truth] = h.fake.serverlessJobs();
      const expectedCost = truth.billedSeconds * 0.00034;
      expect(serverlessJob.costUsd).toBeCloseTo(expectedCost, 10);
      expect((await h.get('/api/cloud/cost')).body.costByPod.serverless).toBeCloseTo(expectedCost, 6);
      expect(h.logger.has(new RegExp(`Processing job ${burst} with serverless\\.\\.\\.`))).toBe(true);
      expect(
        h.logger.has(
          new RegExp(
            `Job completed\\. Duration: \\d+s, Cost: \\$${expectedCost.toFixed(4).replace('.', '\\.')}`,
          ),
        ),
      ).toBe(true);

      const worker = h.fake.serverlessWorkers(h.fake.serverlessEndpointIds[0])[0].comfy as FakeComfyUI;
      const served = await h.outputBytes(burst, 'burst_00001_.png');
      expect(served.data.equals(worker.readFile('burst_00001_.png')!)).toBe(true);
      expect((await h.waitForJob(onLocal)).backend).toBe('local');

      const stats = (await h.get('/api/stats')).body;
      expect(stats.jobs.completedByBackend).toEqual({ local: 1, serverless: 1, pod: 0 });
      expect(stats.local).toMatchObject({ workers: 1, healthy: 1, busy: 0 });
      expect(stats.totalCost).toBeCloseTo(expectedCost, 6);
      expect((await h.get('/api/cloud/status')).body.totalJobsProcessed).toBe(1);
    });

    it('returns a SaveVideo .mp4 from serverless byte-identical', async () => {
      const job = await h.waitForJob(
        await h.submit({ workflow: videoWorkflow('sv'), backend: 'serverless' }),
      );
      expect(job).toMatchObject({ status: 'completed', backend: 'serverless' });
      const worker = h.fake.serverlessWorkers(h.fake.serverlessEndpointIds[0])[0].comfy as FakeComfyUI;
      const served = await h.outputBytes(job.id, 'sv_00001_.mp4');
      expect(served.type).toBe('video/mp4');
      expect(served.data.equals(worker.readFile('sv_00001_.mp4')!)).toBe(true);
    });

    it('fails a workflow error on serverless at once, everywhere', async () => {
      h.fake.faults.failNextJobs(1, 'workflow');
      const job = await h.waitForJob(await h.submit({ workflow: pngWorkflow(), backend: 'cloud' }));
      expect(job).toMatchObject({
        status: 'failed',
        backend: 'serverless',
        attempts: 1,
        error: { kind: 'workflow' },
      });
      expect(job.error.message).toMatch(/Workflow validation failed/);
      expect(h.fake.listAllPods()).toEqual([]);
    });

    it('falls back to an on-demand pod when serverless fails for infrastructure reasons', async () => {
      h.fake.faults.failNextJobs(1, 'infrastructure');
      const id = await h.submit({ workflow: videoWorkflow('fallback'), backend: 'cloud' });
      await h.until(async () => {
        const job = (await h.get(`/api/jobs/${id}`)).body;
        return job.attempts === 1 && job.status === 'queued';
      });
      await h.until(async () =>
        /serverless failed; waiting for an on-demand pod/.test(
          (await h.get(`/api/jobs/${id}`)).body.waitingReason,
        ),
      );

      await h.tick(); // the autoscaler sees a pod-only job and spawns one pod
      expect(h.fake.runningPods()).toHaveLength(1);
      await h.tickUntil(async () => (await h.get(`/api/jobs/${id}`)).body.status === 'completed');
      const job = (await h.get(`/api/jobs/${id}`)).body;
      expect(job).toMatchObject({ backend: 'pod', attempts: 2 });
      // The failed serverless attempt was billed, as RunPod bills it; the pod attempt adds its attribution (the
      // pod's price × that attempt's run seconds, at most the job's whole run).
      const serverlessUsd = h.fake.totalServerlessBilledSeconds() * 0.00034;
      expect(serverlessUsd).toBeGreaterThan(0);
      const [pod] = h.fake.runningPods();
      const podPerHour = (await h.get('/api/cloud/pods')).body.pods[0].costPerHour;
      expect(job.costUsd).toBeGreaterThanOrEqual(serverlessUsd);
      expect(job.costUsd - serverlessUsd).toBeLessThanOrEqual(
        (podPerHour / 3600) * job.actual.runSeconds + 1e-9,
      );

      const served = await h.outputBytes(id, 'fallback_00001_.mp4');
      expect(
        served.data.equals((h.fake.podComfy(pod.id) as FakeComfyUI).readFile('fallback_00001_.mp4')!),
      ).toBe(true);
      const status = (await h.get('/api/cloud/status')).body;
      expect(status.pods[0]).toMatchObject({ id: pod.id, jobsProcessed: 1, busy: false });
    });

    it('runs an auto job serverless failed on the local worker once it is free, never on serverless again', async () => {
      // Busy until cancelled (ComfyUI's KSampler maximum: 10,000 steps).
      const busy = await h.submit({ workflow: slowWorkflow(10_000) });
      await h.until(async () => (await h.get(`/api/jobs/${busy}`)).body.status === 'running');
      h.fake.faults.failNextJobs(1, 'infrastructure');
      const id = await h.submit({ workflow: pngWorkflow('failover') });
      await h.until(async () => {
        const job = (await h.get(`/api/jobs/${id}`)).body;
        return (
          job.attempts === 1 &&
          /serverless failed; waiting for a local worker or an on-demand pod/.test(job.waitingReason ?? '')
        );
      });
      expect((await h.request('DELETE', `/api/jobs/${busy}`)).status).toBeLessThan(300);
      const done = await h.waitForJob(id);
      expect(done).toMatchObject({ status: 'completed', backend: 'local', attempts: 2 });
      expect(h.fake.serverlessJobs()).toHaveLength(1);
      expect(h.fake.listAllPods()).toEqual([]);
    });

    it('retries on serverless when serverless fails and no pod can be spawned (maxPods 0), instead of losing the job', async () => {
      await h.put('/api/cloud/config', { maxPods: 0 });
      h.fake.faults.failNextJobs(1, 'infrastructure');
      const job = await h.waitForJob(await h.submit({ workflow: pngWorkflow('again'), backend: 'cloud' }));
      expect(job).toMatchObject({ status: 'completed', backend: 'serverless', attempts: 2 });
      expect(h.fake.serverlessJobs()).toHaveLength(2);
      expect(h.fake.listAllPods()).toEqual([]);
    });

    it('lets other Nest services run workflows in-process through WorkerRouter.processJobSmart', async () => {
      const router = h.app!.get(WorkerRouter);
      const job = await router.processJobSmart({ workflow: pngWorkflow('inproc') });
      expect(job).toMatchObject({ status: 'completed', backend: 'local' });
      await expect(router.processJobSmart({ workflow: MISSING_INPUT_WORKFLOW })).rejects.toThrow(/failed/);
    });
  });

  describe('a serverless endpoint with one slow worker', () => {
    beforeEach(async () => {
      h = await CloudHarness.start({ serverless: true, sim: { comfy: { samplerStepMs: 40 } } });
    });

    it("records a serverless job's real start, after RunPod's queue and cold start, not when it was sent", async () => {
      const first = await h.submit({ workflow: slowWorkflow(50), backend: 'serverless' });
      await h.until(() => h.fake.serverlessJobs().some((job) => job.status === 'IN_PROGRESS'));
      const second = await h.submit({ workflow: pngWorkflow('queued-at-runpod'), backend: 'serverless' });
      // RunPod's one worker is busy: the second job waits in RunPod's queue, here for a simulated minute.
      await h.until(() => h.fake.serverlessJobs().some((job) => job.status === 'IN_QUEUE'));
      h.clock.advance(60_000);

      const [a, b] = [await h.waitForJob(first), await h.waitForJob(second)];
      expect(b).toMatchObject({ status: 'completed', backend: 'serverless' });
      const queued = h.fake.serverlessJobs().find((job) => job.delayTimeMs! >= 60_000)!;
      expect(queued).toBeDefined();
      // Its start is when RunPod started it (sent + delayTime), so its wait shows RunPod's queue.
      const waitMs = (job: { createdAt: string; startedAt: string }) =>
        Date.parse(job.startedAt) - Date.parse(job.createdAt);
      expect(waitMs(b)).toBeGreaterThanOrEqual(60_000);
      expect(b.durationMs).toBeLessThan(60_000);
      expect(waitMs(a)).toBeLessThan(60_000);
    });
  });

  describe('no local worker, pods only', () => {
    beforeEach(async () => {
      h = await CloudHarness.start({
        sim: { comfy: { samplerStepMs: 30 } },
        env: { CLOUD_PREFER_SERVERLESS: 'false', CLOUD_AUTOSCALE_THRESHOLD: '4' },
      });
    });

    it('spawns pods for a long queue and runs jobs on several pods at once', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) ids.push(await h.submit({ workflow: slowWorkflow(10, i) }));
      await h.until(async () => (await h.get(`/api/jobs/${ids[11]}`)).body.waitingReason !== null);
      await h.tick();
      expect(h.logger.has(/Auto-scaling: Queue length 12, spawning 3 pod\(s\)/)).toBe(true);

      let maxBusy = 0;
      await h.tickUntil(async () => {
        const status = (await h.get('/api/cloud/status')).body;
        maxBusy = Math.max(maxBusy, status.busyPods);
        return (await h.get('/api/jobs?status=completed')).body.count === 12;
      }, 20000);
      expect(maxBusy).toBeGreaterThanOrEqual(2);

      // Three pods for the queue; while all are busy, a waiting pod-only job may bring one more (never past maxPods).
      const jobs = (await h.get('/api/jobs?limit=20')).body.jobs;
      const podsUsed = new Set(jobs.map((job: any) => job.workerId)).size;
      expect(podsUsed).toBeGreaterThanOrEqual(3);
      expect(h.fake.listAllPods().length).toBeLessThanOrEqual(5);
      const status = (await h.get('/api/cloud/status')).body;
      expect(status.totalJobsProcessed).toBe(12);
      expect(status.pods.reduce((sum: number, pod: any) => sum + pod.jobsProcessed, 0)).toBe(12);

      // Drained: the pods idle out.
      h.clock.advance(6 * MINUTE);
      await h.tick(2);
      expect(h.fake.runningPods()).toEqual([]);
      const cost = (await h.get('/api/cloud/cost')).body;
      expect(Math.abs(cost.totalCost - h.fake.totalPodBilledUsd()) / h.fake.totalPodBilledUsd()).toBeLessThan(
        0.01,
      );
      expect(cost.avgCostPerJob).toBeCloseTo(cost.totalCost / 12, 5);
    });

    it('a burst behind a queue waiting for pods costs a few dispatch passes, and every arrival is counted', async () => {
      const repository = h.app!.get(JobsRepository);
      const readQueue = repository.findQueuedForRouting.bind(repository);
      let reads = 0;
      const startedAt = performance.now();
      repository.findQueuedForRouting = (limit: number) => {
        reads++;
        return readQueue(limit);
      };
      const ids = await Promise.all(
        Array.from({ length: 40 }, (_, i) => h.submit({ workflow: slowWorkflow(10, i) })),
      );
      await h.until(async () => {
        const queued = (await h.get('/api/jobs?status=queued&limit=100')).body.jobs;
        return (
          queued.length === 40 && queued.every((job: { waitingReason: string | null }) => job.waitingReason)
        );
      });
      const passesSoFar = reads;
      const elapsedMs = performance.now() - startedAt;
      expect(h.demand.current()).toMatchObject({ waitingForCloud: 40, waitingForPodOnly: 40 });
      // Nothing could start, so passes only refreshed the demand: at most one per 250 ms (the dispatcher's
      // bookkeeping interval; +2 for a pass already under way and the trailing one), not one per arrival. The
      // bound follows the time the burst really took, so a slow machine (where a fixed "fewer than 10" breaks
      // once the burst takes over 2 s) gets a fair bound, while one pass per arrival still fails it.
      expect(passesSoFar).toBeLessThanOrEqual(Math.floor(elapsedMs / 250) + 2);
      expect(ids).toHaveLength(40);
    });

    it('retries a job on another pod when its pod dies mid-job, and terminates the dead pod', async () => {
      const first = await h.spawnReadyPod();
      const id = await h.submit({ workflow: slowWorkflow(60) });
      // Seen on the pod's ComfyUI itself, at once: the API shows progress only a second into the 1.8 s run,
      // which left a busy machine little time to kill the pod mid-job.
      await h.until(() => (h.fake.podComfy(first) as FakeComfyUI | undefined)?.runningPromptId !== undefined);
      await h.fake.faults.killPod(first);
      await h.until(async () => (await h.get(`/api/jobs/${id}`)).body.status === 'queued');
      expect(h.fake.getPod(first)!.terminatedAt).not.toBeNull();
      await h.tickUntil(async () => (await h.get(`/api/jobs/${id}`)).body.status === 'completed', 15000);
      const job = (await h.get(`/api/jobs/${id}`)).body;
      expect(job.attempts).toBe(2);
    });
  });
});
