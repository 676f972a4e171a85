import { EventEmitter2 } from '@nestjs/event-emitter';
import { HOUR, MINUTE } from '../src/common/clock';
import { DEFAULT_GPU_TYPES } from './sim/runpod/fake-runpod';
import { CloudHarness } from './support/cloud-harness';
import { pngWorkflow } from './support/workflows';

/** CLOUD_DAILY_BUDGET_USD is a hard stop for cloud work; local work goes on. */
describe('the daily budget', () => {
  let h: CloudHarness;

  afterEach(async () => {
    await h.close();
  });

  it('refuses a spawn that would cross the budget, and creates nothing at RunPod', async () => {
    h = await CloudHarness.start({ env: { CLOUD_DAILY_BUDGET_USD: '0.01' } });
    const spawn = await h.post('/api/cloud/spawn?wait=false');
    expect(spawn.status).toBe(409);
    expect(spawn.body.message).toMatch(
      /Daily budget \(CLOUD_DAILY_BUDGET_USD \$0\.01\): a new pod .* would cross it/,
    );
    expect(spawn.body.details).toMatchObject({ limitUsd: 0.01 });
    expect(h.fake.listAllPods()).toEqual([]);
  });

  it('admits no pod while RunPod cannot price it, rather than at $0, and spawns once it can', async () => {
    h = await CloudHarness.start({ env: { CLOUD_DAILY_BUDGET_USD: '5' } });
    // RunPod's catalogue answers 500 (retries included) and no pod of this GPU type ran before: no price.
    h.fake.faults.failNext(1000, 500, { path: /catalog/ });
    // A fresh start, so no earlier read of the catalogue is cached.
    await h.stopApp();
    await h.startApp();
    const refused = await Promise.all(Array.from({ length: 5 }, () => h.post('/api/cloud/spawn?wait=false')));
    for (const answer of refused) {
      expect(answer.status).toBe(503);
      expect(answer.body.message).toMatch(
        /^Daily budget \(CLOUD_DAILY_BUDGET_USD \$5\.00\): a new pod cannot be admitted: no price known for NVIDIA GeForce RTX 3090 \(RunPod's GPU catalogue could not be read, and no pod of that type ran here\); try again when RunPod answers$/,
      );
    }
    expect(h.fake.listAllPods()).toEqual([]);
    // Nor does the autoscaler start one.
    h.demand.publish({ waitingForCloud: 12 }, 'test');
    await h.tick();
    expect(
      h.logger.has(
        /Auto-scaling spawn failed: Daily budget .*: a new pod cannot be admitted: no price known/,
      ),
    ).toBe(true);
    expect(h.fake.listAllPods()).toEqual([]);
    h.demand.publish({ waitingForCloud: 0 }, 'test');

    h.fake.faults.reset();
    const spawn = await h.post('/api/cloud/spawn?wait=false');
    expect(spawn.status).toBe(202);
    expect(spawn.body.pod.costPerHour).toBe(0.34);
    expect(h.fake.listAllPods()).toHaveLength(1);
  });

  it('leaves a fallback GPU type with no known price out of a spawn under a budget', async () => {
    // The fake's catalogue does not list the fallback type: RunPod quotes no price for it.
    h = await CloudHarness.start({
      env: { CLOUD_DAILY_BUDGET_USD: '5', CLOUD_GPU_FALLBACKS: 'NVIDIA RTX A5000' },
      sim: { gpuTypes: DEFAULT_GPU_TYPES.filter((type) => type.id !== 'NVIDIA RTX A5000') },
    });
    const spawn = await h.post('/api/cloud/spawn?wait=false');
    expect(spawn.status).toBe(202);
    expect(
      h.logger.has(/A new pod will not fall back to a GPU type with no price known for NVIDIA RTX A5000/),
    ).toBe(true);
    expect(
      h.logger.has(/Spawning new cloud pod\.\.\. \(comfyui-worker-\w+, NVIDIA GeForce RTX 3090\)$/),
    ).toBe(true);
  });

  it('at the limit terminates idle pods, fires budgetExceeded, and reports the budget', async () => {
    h = await CloudHarness.start({ env: { CLOUD_DAILY_BUDGET_USD: '0.5' } });
    const seen: any[] = [];
    h.app!.get(EventEmitter2).on('budgetExceeded', (payload: unknown) => seen.push(payload));
    const id = await h.spawnReadyPod(); // $0.34/h
    h.clock.advance(60 * MINUTE);
    await h.tick();
    let cost = (await h.get('/api/cloud/cost')).body;
    expect(cost.budget.limitUsd).toBe(0.5);
    expect(cost.budget.spentTodayUsd).toBeCloseTo(h.fake.getPod(id)!.billedUsd(), 3);
    expect(h.fake.getPod(id)!.terminatedAt).toBeNull();

    h.clock.advance(30 * MINUTE); // now past $0.50
    await h.tick();
    expect(h.fake.getPod(id)!.terminatedAt).not.toBeNull();
    expect(seen).toEqual([{ limitUsd: 0.5, spentTodayUsd: expect.any(Number) }]);
    expect(seen[0].spentTodayUsd).toBeGreaterThanOrEqual(0.5);
    cost = (await h.get('/api/cloud/cost')).body;
    expect(cost.budget.remainingUsd).toBe(0);
    expect(h.logger.has(/Daily budget reached/)).toBe(true);

    h.demand.publish({ waitingForCloud: 20 }, 'test');
    await h.tick(2);
    expect(h.fake.runningPods()).toEqual([]);
  });

  it('keeps local work running and holds cloud-only jobs with the reason visible', async () => {
    h = await CloudHarness.start({
      localWorkers: 1,
      serverless: true,
      env: { CLOUD_DAILY_BUDGET_USD: '0.001' },
    });
    const local = await h.waitForJob(await h.submit({ workflow: pngWorkflow('local') }));
    expect(local).toMatchObject({ status: 'completed', backend: 'local' });

    const cloudOnly = await h.submit({ workflow: pngWorkflow('cloud'), backend: 'serverless' });
    await h.until(async () =>
      /Daily budget/.test((await h.get(`/api/jobs/${cloudOnly}`)).body.waitingReason ?? ''),
    );
    const job = (await h.get(`/api/jobs/${cloudOnly}`)).body;
    expect(job.status).toBe('queued');
    expect(h.fake.serverlessJobs()).toEqual([]);

    // Raising the budget lets it run.
    expect((await h.put('/api/cloud/config', { dailyBudgetUsd: 5 })).body.dailyBudgetUsd).toBe(5);
    await h.post('/api/jobs', { workflow: pngWorkflow('kick'), backend: 'local' }); // any arrival triggers a pass
    expect((await h.waitForJob(cloudOnly)).backend).toBe('serverless');
  });
});

describe('the daily budget under CLOUD_POLICY=breakeven', () => {
  let h: CloudHarness;

  afterEach(async () => {
    await h.close();
  });

  it("counts an idle pod's own idle timeout (as the reaper set it), not CLOUD_IDLE_TIMEOUT, as what it still commits", async () => {
    // Serverless 200 times a pod's price: the break-even τ* keeps an idle pod for hours, where CLOUD_IDLE_TIMEOUT
    // would say a minute. Counted at a minute, a second pod would fit in the $0.50 left; counted at τ*, it does not.
    h = await CloudHarness.start({
      serverless: true,
      env: {
        CLOUD_POLICY: 'breakeven',
        CLOUD_DAILY_BUDGET_USD: '0.5',
        CLOUD_IDLE_TIMEOUT: '60000',
        RUNPOD_SERVERLESS_PRICE_PER_SECOND: '0.02',
      },
    });
    const id = await h.spawnReadyPod(); // $0.34/h
    await h.tick();
    const pod = (await h.get('/api/cloud/status')).body.pods.find((p: any) => p.id === id);
    expect(pod.idleTimeout).toBeGreaterThan(HOUR);
    const second = await h.post('/api/cloud/spawn?wait=false');
    expect(second.status).toBe(409);
    expect(second.body.message).toMatch(
      /Daily budget \(CLOUD_DAILY_BUDGET_USD \$0\.50\): a new pod .* would cross it; .* committed to cloud work in flight/,
    );
    expect(h.fake.listAllPods()).toHaveLength(1);
  });
});
