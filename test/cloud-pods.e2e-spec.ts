import { EventEmitter2 } from '@nestjs/event-emitter';
import { CloudEvents } from '../src/cloud/cloud.events';
import { MINUTE } from '../src/common/clock';
import { CloudHarness } from './support/cloud-harness';

/**
 * The seed's "Basic Functionality" and "Auto-Scaling" checklists, over HTTP against the fake RunPod,
 * for both pod APIs.
 */
describe.each(['rest', 'graphql'] as const)('cloud pods over RUNPOD_POD_API=%s', (podApi) => {
  let h: CloudHarness;

  beforeEach(async () => {
    // Ticks are driven by each test (h.tick), so a background tick never races a clock jump.
    h = await CloudHarness.start({ podApi });
  });

  afterEach(async () => {
    await h.close();
  });

  it('starts and answers status and cost with the seed fields', async () => {
    const status = await h.get('/api/cloud/status');
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({
      available: true,
      activePods: 0,
      busyPods: 0,
      totalJobsProcessed: 0,
      totalCost: 0,
      pods: [],
      config: {
        maxPods: 5,
        idleTimeout: 300000,
        autoScaleThreshold: 5,
        preferServerless: true,
        gpuType: 'NVIDIA GeForce RTX 3090',
        dailyBudgetUsd: 10,
      },
    });
    const cost = await h.get('/api/cloud/cost');
    expect(cost.status).toBe(200);
    expect(cost.body).toEqual({
      available: true,
      totalCost: 0,
      costByPod: {},
      activePods: 0,
      totalJobsProcessed: 0,
      avgCostPerJob: 0,
      budget: { limitUsd: 10, spentTodayUsd: 0, remainingUsd: 10 },
    });
  });

  it('spawns a pod manually, waiting until RunPod has a runtime and ComfyUI answers', async () => {
    const waiting = h.post('/api/cloud/spawn', { gpuType: 'NVIDIA RTX 4090' });
    let answered = false;
    void waiting.finally(() => (answered = true));
    await h.tickUntil(() => answered);
    const spawn = await waiting;
    expect(spawn.status).toBe(201);
    const pod = spawn.body.pod;
    expect(spawn.body.success).toBe(true);
    expect(pod).toMatchObject({
      status: 'ready',
      gpuType: 'NVIDIA GeForce RTX 4090',
      url: h.fake.podUrl(pod.id),
    });
    expect(pod.costPerHour).toBeGreaterThan(0);
    expect(pod.name).toMatch(/^comfyui-worker-[0-9a-f]{10}$/);

    const truth = h.fake.getPod(pod.id)!;
    expect(truth).toMatchObject({ name: pod.name, gpuTypeId: 'NVIDIA GeForce RTX 4090', terminatedAt: null });
    expect(truth.costPerHour).toBe(pod.costPerHour);
    // ComfyUI really answers at the URL we report.
    expect((await fetch(`${pod.url}/system_stats`)).status).toBe(200);
    expect(h.logger.has(new RegExp(`Pod ${pod.id} spawned and ready`))).toBe(true);

    const pods = await h.get('/api/cloud/pods');
    expect(pods.body.count).toBe(1);
    expect(pods.body.pods[0]).toMatchObject({ id: pod.id, status: 'ready', busy: false, jobsProcessed: 0 });
    expect(pods.body.pods[0].uptime).toBeGreaterThan(0);
  });

  it('emits podSpawned, podReady, podTerminated {podId, cost} and costUpdated {totalCost}', async () => {
    const events = h.app!.get(EventEmitter2);
    const seen: Array<[string, any]> = [];
    for (const name of Object.values(CloudEvents))
      events.on(name, (payload: unknown) => seen.push([name, payload]));
    const id = await h.spawnReadyPod();
    h.clock.advance(MINUTE);
    await h.post(`/api/cloud/terminate/${id}`);
    const names = seen.map(([name]) => name);
    expect(names).toEqual(expect.arrayContaining(['podSpawned', 'podReady', 'podTerminated', 'costUpdated']));
    expect(names.indexOf('podSpawned')).toBeLessThan(names.indexOf('podReady'));
    expect(names.indexOf('podReady')).toBeLessThan(names.indexOf('podTerminated'));
    const terminated = seen.find(([name]) => name === 'podTerminated')![1];
    expect(terminated).toMatchObject({ podId: id, cost: expect.any(Number) });
    expect(terminated.cost).toBeCloseTo(h.fake.getPod(id)!.billedUsd(), 5);
    const lastCost = seen.filter(([name]) => name === 'costUpdated').pop()![1];
    expect(lastCost.totalCost).toBeCloseTo(terminated.cost, 5);
  });

  it('answers 202 at once with ?wait=false; the control loop brings the pod to ready', async () => {
    const spawn = await h.post('/api/cloud/spawn?wait=false');
    expect(spawn.status).toBe(202);
    expect(spawn.body.pod.status).toBe('starting');
    await h.tickUntil(async () => (await h.get('/api/cloud/status')).body.pods[0]?.status === 'ready');
  });

  it('terminates a pod, settles its cost, and answers 404 for a pod that is not ours', async () => {
    const id = await h.spawnReadyPod();
    h.clock.advance(10 * MINUTE);
    const terminate = await h.post(`/api/cloud/terminate/${id}`);
    expect(terminate.status).toBe(200);
    expect(terminate.body).toMatchObject({ success: true, podId: id, status: 'terminated' });

    const truth = h.fake.getPod(id)!;
    expect(truth.terminatedAt).not.toBeNull();
    expect(terminate.body.cost).toBeCloseTo(truth.billedUsd(), 4);
    expect(h.logger.has(new RegExp(`Pod ${id} terminated\\. Cost: \\$\\d+\\.\\d{4}`))).toBe(true);
    expect((await h.get('/api/cloud/status')).body.activePods).toBe(0);
    expect((await h.get('/api/cloud/cost')).body.costByPod[id]).toBeCloseTo(truth.billedUsd(), 4);

    const unknown = await h.post('/api/cloud/terminate/notourpod12345');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ statusCode: 404, error: 'Not Found' });
  });

  it('shuts every pod down in an emergency', async () => {
    await h.spawnReadyPod();
    await h.post('/api/cloud/spawn?wait=false');
    const shutdown = await h.post('/api/cloud/shutdown-all');
    expect(shutdown.status).toBe(200);
    expect(shutdown.body.success).toBe(true);
    expect(shutdown.body.terminated).toHaveLength(2);
    expect(h.fake.runningPods()).toEqual([]);
    expect((await h.get('/api/cloud/status')).body.activePods).toBe(0);
  });

  it('holds CLOUD_MAX_PODS for manual spawns', async () => {
    expect((await h.put('/api/cloud/config', { maxPods: 2 })).status).toBe(200);
    expect((await h.post('/api/cloud/spawn?wait=false')).status).toBe(202);
    expect((await h.post('/api/cloud/spawn?wait=false')).status).toBe(202);
    const third = await h.post('/api/cloud/spawn?wait=false');
    expect(third.status).toBe(409);
    expect(third.body.message).toMatch(/CLOUD_MAX_PODS reached: 2 of 2/);
    expect(h.fake.runningPods()).toHaveLength(2);
  });

  it('spawns ceil(queue / threshold) pods when the queue is long, without double-spawning while they boot', async () => {
    h.demand.publish({ waitingForCloud: 8 }, 'test');
    await h.tick();
    expect(h.logger.has(/Auto-scaling: Queue length 8, spawning 2 pod\(s\)/)).toBe(true);
    expect(h.fake.runningPods()).toHaveLength(2);

    await h.tick(3);
    expect(h.fake.runningPods()).toHaveLength(2);

    await h.tickUntil(async () =>
      (await h.get('/api/cloud/status')).body.pods.every((p: any) => p.status === 'ready'),
    );
    const status = (await h.get('/api/cloud/status')).body;
    expect(status.activePods).toBe(2);
  });

  it('caps autoscaling at maxPods, and the next tick uses a changed maxPods', async () => {
    h.demand.publish({ waitingForCloud: 100 }, 'test');
    await h.tick();
    expect(h.fake.runningPods()).toHaveLength(5);

    expect((await h.put('/api/cloud/config', { maxPods: 7 })).body.maxPods).toBe(7);
    await h.tick();
    expect(h.fake.runningPods()).toHaveLength(7);
  });

  it('does not leave a pod-only job waiting below the threshold', async () => {
    h.demand.publish({ waitingForCloud: 1, waitingForPodOnly: 1 }, 'test');
    await h.tick();
    expect(h.fake.runningPods()).toHaveLength(1);
    await h.tick();
    expect(h.fake.runningPods()).toHaveLength(1);
  });

  it('reaps a pod idle for CLOUD_IDLE_TIMEOUT in two steps, and never a busy one', async () => {
    const idleId = await h.spawnReadyPod();
    const busyId = await h.spawnReadyPod();
    // The router (next issue) reserves pods like this; reserve the most recently used one.
    const reserved = await h.lifecycle.reserveIdlePod();
    const busy = reserved!.runpodId === busyId ? busyId : idleId;
    const idle = busy === busyId ? idleId : busyId;

    h.clock.advance(5 * MINUTE);
    await h.tick(); // step one: mark
    expect(h.fake.getPod(idle)!.terminatedAt).toBeNull();
    h.clock.advance(1000);
    await h.tick(); // step two: re-check and terminate

    expect(h.fake.getPod(idle)!.terminatedAt).not.toBeNull();
    expect(h.fake.getPod(busy)!.terminatedAt).toBeNull();
    expect(h.logger.has(new RegExp(`Pod ${idle} idle for 30\\ds, terminating\\.\\.\\.`))).toBe(true);
    expect(h.logger.has(new RegExp(`Pod ${idle} terminated\\. Cost: \\$`))).toBe(true);

    h.clock.advance(60 * MINUTE);
    await h.tick(3);
    expect(h.fake.getPod(busy)!.terminatedAt).toBeNull();
  });

  it('keeps an idle-marked pod the router claims between the mark and the re-check', async () => {
    const id = await h.spawnReadyPod();
    h.clock.advance(5 * MINUTE);
    await h.tick(); // marked
    expect(await h.lifecycle.reserveIdlePod()).not.toBeNull();
    h.clock.advance(1000);
    await h.tick();
    expect(h.fake.getPod(id)!.terminatedAt).toBeNull();
    expect((await h.get('/api/cloud/status')).body.busyPods).toBe(1);
  });

  it('restarts the idle clock after a job', async () => {
    const id = await h.spawnReadyPod();
    const pod = (await h.lifecycle.reserveIdlePod())!;
    h.clock.advance(20 * MINUTE);
    await h.lifecycle.releasePod(pod.name, true);
    h.clock.advance(4 * MINUTE);
    await h.tick(2);
    expect(h.fake.getPod(id)!.terminatedAt).toBeNull();
    const status = (await h.get('/api/cloud/status')).body;
    expect(status.totalJobsProcessed).toBe(1);
    expect(status.pods[0]).toMatchObject({ jobsProcessed: 1, busy: false });
    expect(status.pods[0].idleTime).toBeGreaterThanOrEqual(4 * MINUTE);
    // Its own reap timeout, as the reaper set it: CLOUD_IDLE_TIMEOUT under the seed's rule.
    expect(status.pods[0].idleTimeout).toBe(5 * MINUTE);
  });

  it('reports cost that matches the simulator billing of the same pods within 1%', async () => {
    h.demand.publish({ waitingForCloud: 12 }, 'test');
    await h.tick();
    await h.tickUntil(async () =>
      (await h.get('/api/cloud/status')).body.pods.every((p: any) => p.status === 'ready'),
    );
    h.demand.publish({ waitingForCloud: 0 }, 'test');
    h.clock.advance(37 * MINUTE);
    await h.tick();
    const [first] = h.fake.runningPods();
    await h.post(`/api/cloud/terminate/${first.id}`);
    h.clock.advance(23 * MINUTE);
    await h.tick();

    const ours = (await h.get('/api/cloud/cost')).body.totalCost as number;
    const truth = h.fake.totalPodBilledUsd();
    expect(truth).toBeGreaterThan(0.5);
    expect(Math.abs(ours - truth) / truth).toBeLessThan(0.01);

    await h.post('/api/cloud/shutdown-all');
    const settled = (await h.get('/api/cloud/cost')).body.totalCost as number;
    expect(Math.abs(settled - h.fake.totalPodBilledUsd()) / h.fake.totalPodBilledUsd()).toBeLessThan(0.01);
  });
});
