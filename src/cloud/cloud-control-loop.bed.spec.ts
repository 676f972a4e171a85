import { MINUTE, SECOND } from '../common/clock';
import { CloudTestBed } from './testing/cloud-test-bed';

/**
 * Service-level specs of the control loop on the in-process test bed (no app, no HTTP, no sleeps): demand is
 * published as the dispatcher would, the clock moves, one tick runs, and RunPod's ground truth is checked.
 * The assertions come from what the README ("How it works") and the policies say the service does.
 */
const BOOT_MS = 90 * SECOND;
const POD_ONLY = { waitingForCloud: 1, waitingForPodOnly: 1 };
const NO_DEMAND = { waitingForCloud: 0, waitingForPodOnly: 0 };

describe('cloud control loop (test bed)', () => {
  let bed: CloudTestBed;

  afterEach(async () => {
    await bed?.close();
  });

  /** Ticks every `stepMs` until `untilMs` past now. */
  async function tickEvery(stepMs: number, untilMs: number): Promise<void> {
    for (let elapsed = 0; elapsed < untilMs; elapsed += stepMs) await bed.advanceAndTick(stepMs);
  }

  it('spawns exactly one pod for a pod-only job, and not a second while it boots', async () => {
    bed = await CloudTestBed.create({ pods: { bootMs: BOOT_MS } });
    bed.publishDemand({
      ...POD_ONLY,
      queuedJobs: [{ arrivedAt: bed.clock.now(), jobClass: 'image', podOnly: true }],
    });

    await bed.tick();
    expect(bed.runpod.calls('create')).toHaveLength(1);
    const [row] = await bed.rows();
    expect(row).toMatchObject({ state: 'starting', origin: 'autoscale' });

    // The job still waits while the pod boots: the booting pod covers it.
    await tickEvery(5 * SECOND, BOOT_MS - 5 * SECOND);
    expect(bed.runpod.calls('create')).toHaveLength(1);
    expect((await bed.podRows.findByName(row.name))?.state).toBe('starting');

    await bed.advanceAndTick(5 * SECOND);
    expect(bed.runpod.calls('create')).toHaveLength(1);
    expect(await bed.podRows.findByName(row.name)).toMatchObject({
      state: 'ready',
      readyAt: bed.clock.now(),
    });
    expect(bed.runpod.runningPods().map((pod) => pod.name)).toEqual([row.name]);
  });

  it('seed policy: reaps an idle pod in two steps after CLOUD_IDLE_TIMEOUT, and bills it as RunPod does', async () => {
    bed = await CloudTestBed.create({
      env: { CLOUD_POLICY: 'seed', CLOUD_IDLE_TIMEOUT: String(5 * MINUTE) },
      pods: { bootMs: BOOT_MS },
    });
    bed.publishDemand(POD_ONLY);
    await bed.tick();
    await bed.advanceAndTick(BOOT_MS);
    const [ready] = await bed.rows();
    expect(ready.state).toBe('ready');
    bed.publishDemand(NO_DEMAND); // the job ran and ended elsewhere: the pod is idle since it became ready

    await tickEvery(10 * SECOND, 5 * MINUTE - 10 * SECOND);
    expect((await bed.podRows.findByName(ready.name))?.idleMarkedAt).toBeNull();
    await bed.advanceAndTick(10 * SECOND); // idle exactly CLOUD_IDLE_TIMEOUT: marked, not yet terminated
    expect(await bed.podRows.findByName(ready.name)).toMatchObject({
      state: 'ready',
      idleMarkedAt: bed.clock.now(),
    });
    expect(bed.runpod.livePods()).toHaveLength(1);

    await bed.advanceAndTick(SECOND); // the re-check on the next tick
    const ended = await bed.podRows.findByName(ready.name);
    expect(ended).toMatchObject({ state: 'terminated', terminatedAt: bed.clock.now() });
    expect(bed.runpod.livePods()).toEqual([]);
    expect(bed.runpod.pod(ready.runpodId!)?.terminatedAt).toBe(bed.clock.now());
    // The ledger bills creation to termination at the same rate; RunPod rounds up to the second.
    expect(ended!.costUsd).toBeCloseTo(bed.runpod.billedUsd(), 6);
    expect(bed.decisions.recent()[0]).toMatchObject({ action: 'terminate', reason: 'idle-timeout' });
  });

  it('break-even policy: reaps an idle pod after τ* = boot + serverless premium of one mean job ÷ pod $/s', async () => {
    // CLOUD_IDLE_RELEASE_SECONDS past τ*: every pod waits τ* (without it, a pod the forecast does not keep goes at once).
    bed = await CloudTestBed.create({
      env: { CLOUD_IDLE_RELEASE_SECONDS: '100000' },
      pods: { bootMs: BOOT_MS },
    });
    bed.publishDemand(POD_ONLY);
    await bed.tick();
    await bed.advanceAndTick(BOOT_MS);
    const [ready] = await bed.rows();
    expect(ready.state).toBe('ready');
    bed.publishDemand(NO_DEMAND);

    // README: τ* = boot + (serverless premium of one mean job) ÷ pod $/s, with the measured boot (this pod's), the
    // default job (CLOUD_POLICY_DEFAULT_JOB_SECONDS 60), serverless $0.00034/s plus 5 s overhead, RTX 3090 $0.34/h.
    const podPerS = 0.34 / 3600;
    const premiumUsd = 0.00034 * (60 + 5) - podPerS * 60;
    const tauMs = BOOT_MS + (premiumUsd / podPerS) * 1000;
    expect(tauMs).toBeGreaterThan(BOOT_MS);

    await bed.advanceAndTick(Math.floor(tauMs) - SECOND);
    expect((await bed.podRows.findByName(ready.name))?.idleMarkedAt).toBeNull();
    await bed.advanceAndTick(2 * SECOND);
    expect((await bed.podRows.findByName(ready.name))?.idleMarkedAt).toBe(bed.clock.now());
    await bed.advanceAndTick(SECOND);
    expect((await bed.podRows.findByName(ready.name))?.state).toBe('terminated');
    expect(bed.runpod.livePods()).toEqual([]);
  });

  it('terminates a pod that never boots at CLOUD_BOOT_TIMEOUT, closes its billing, and the waiting job gets a new pod', async () => {
    bed = await CloudTestBed.create({
      env: { CLOUD_BOOT_TIMEOUT: String(10 * MINUTE) },
      pods: { bootMs: BOOT_MS },
    });
    bed.runpod.nextPodNeverBoots();
    bed.publishDemand(POD_ONLY);
    await bed.tick();
    const [stuck] = await bed.rows();

    await tickEvery(30 * SECOND, 10 * MINUTE - 30 * SECOND);
    expect((await bed.podRows.findByName(stuck.name))?.state).toBe('starting');
    expect(bed.runpod.calls('create')).toHaveLength(1);

    await bed.advanceAndTick(30 * SECOND);
    const failed = await bed.podRows.findByName(stuck.name);
    expect(failed).toMatchObject({ state: 'failed', terminatedAt: bed.clock.now() });
    expect(failed!.failureReason).toMatch(/boot timeout/);
    expect(bed.runpod.pod(stuck.runpodId!)?.terminatedAt).toBe(bed.clock.now());
    const billed = bed.runpod.billedUsd(stuck.runpodId!);
    expect(failed!.costUsd).toBeCloseTo(billed, 6);
    // A job only a pod can run never waits forever: with no pod starting, the same tick starts another.
    expect(bed.runpod.calls('create')).toHaveLength(2);

    await bed.advanceAndTick(10 * MINUTE);
    expect(bed.runpod.billedUsd(stuck.runpodId!)).toBe(billed);
    expect((await bed.podRows.findByName(stuck.name))?.costUsd).toBe(failed!.costUsd);
  });

  it('backs a GPU type off after "no capacity" and spawns again once the back-off has passed', async () => {
    bed = await CloudTestBed.create({ pods: { bootMs: BOOT_MS } });
    bed.runpod.failNextCreateWithNoCapacity();
    bed.publishDemand(POD_ONLY);

    await bed.tick();
    expect(bed.runpod.calls('create').map((call) => call.failed)).toEqual([true]);
    expect(await bed.rows()).toMatchObject([{ state: 'failed' }]);
    expect(bed.lifecycle.gpuBackoff()).toMatchObject([{ gpuType: 'NVIDIA GeForce RTX 3090', failures: 1 }]);

    // Within the first back-off (1 min) RunPod is not asked again.
    await tickEvery(10 * SECOND, MINUTE - 10 * SECOND);
    expect(bed.runpod.calls('create')).toHaveLength(1);

    await bed.advanceAndTick(10 * SECOND);
    expect(bed.runpod.calls('create').map((call) => call.failed)).toEqual([true, false]);
    expect(bed.runpod.livePods()).toHaveLength(1);
    expect(bed.lifecycle.gpuBackoff()).toEqual([]);
  });

  it('falls back to the next GPU type in CLOUD_GPU_FALLBACKS within the same spawn', async () => {
    bed = await CloudTestBed.create({ env: { CLOUD_GPU_FALLBACKS: 'NVIDIA RTX A5000' } });
    bed.runpod.removeCapacity('NVIDIA GeForce RTX 3090');
    bed.publishDemand(POD_ONLY);
    await bed.tick();
    expect(bed.runpod.livePods().map((pod) => pod.gpuTypeId)).toEqual(['NVIDIA RTX A5000']);
    expect(await bed.rows()).toMatchObject([
      { state: 'starting', gpuTypeId: 'NVIDIA RTX A5000', costPerHour: 0.36 },
    ]);
  });

  it('attaches the pod RunPod created when the create answer was lost, instead of creating a second', async () => {
    bed = await CloudTestBed.create({ pods: { bootMs: BOOT_MS } });
    bed.runpod.loseNextCreateAnswer();
    bed.publishDemand(POD_ONLY);
    await bed.tick();
    expect(bed.runpod.allPods()).toHaveLength(1);
    const [pod] = bed.runpod.allPods();
    expect(await bed.rows()).toMatchObject([{ name: pod.name, runpodId: pod.id, state: 'starting' }]);
    await bed.advanceAndTick(BOOT_MS);
    expect(bed.runpod.allPods()).toHaveLength(1);
  });
});
