import { fakeRunpodModel } from '../src/policy-sim/model';
import { createPolicy, type PolicyName } from '../src/policy-sim/baselines';
import { runSimulation, type RunResult } from '../src/policy-sim/engine';
import { quantile, Rng } from '../src/policy-sim/rng';
import type { SimJob, Workload } from '../src/policy-sim/workloads';
import { JobsRepository } from '../src/persistence/jobs.repository';
import { CloudHarness } from './support/cloud-harness';
import { pngWorkflow } from './support/workflows';

/**
 * The real service does what the simulator says (issue 10 §3): the service runs against the in-repo simulated
 * RunPod in compressed time (every duration divided by K, the control loop's tick included) on one trace, and its
 * billed cost and p95 wait are compared with `runSimulation` on the same trace, the same policy and the same
 * model (bench:policy's `--model fake-runpod`: 150 s boot, $0.34/h pods, $0.00034/s serverless billed on
 * execution only, a fixed number of serverless workers, no failures).
 *
 * How time is compressed (README "Compressed time"): one FakeClock at rate K is the service's Clock and the
 * fake RunPod's (pod boot, billing, serverless delay/execution times, the reaper's idle timeout and the boot
 * deadline are all read from it, so they need no scaling); every interval the service or the fakes wait on a
 * real timer is given as its simulated value / K (scaledEnv below, the fake ComfyUI's node time and the fake
 * serverless worker's /history poll).
 */

/** Simulated seconds per real second. 40: a 30-minute trace runs in about 50 s, and 25 ms of event-loop
 * jitter is 1 simulated second (measured below and printed: lateness of submissions, job run times). */
const K = 40;
/**
 * A case that does not agree at K (usually a machine too busy to keep it: a CPU hog beside the suite) runs again
 * at this rate, where a stall of the same real length is a quarter of the simulated time (about 3.5 minutes of
 * real time per case); the verdict is that run's.
 */
const K_BUSY_MACHINE = 10;
const TRACE_MINUTES = 30;
const JOB_S = 30;
const ARRIVALS_PER_MINUTE = 4;
const SERVERLESS_WORKERS = 3;
const TRACE_SEED = 11;
const TICK_S = 5;
/**
 * p95 wait: 15% of the simulator's value, or this many seconds if larger. The simulator's ticks fall every
 * TICK_S from t = 0 and it sees a pod ready the instant its boot ends; the service's ticks start in that phase
 * (runService starts the trace on one) but its timer drifts, and it sees the boot end on its first tick after it
 * (0..TICK_S later), then dispatches. A job that waited for a pod can so start up to one tick later (or earlier,
 * by the drift) than in the simulator, and the spawn that started the pod was itself decided on a tick: two
 * ticks of granularity, plus ~1 s of scheduling jitter.
 */
const P95_FLOOR_S = 2 * TICK_S + 1;
/**
 * Real milliseconds the fake serverless worker spends on a job besides ComfyUI's node time (check_server, POST
 * /prompt, /history polls, /view, the executor's own steps), measured at 20-25 ms on a loaded 2-core machine:
 * 0.8-1 simulated s at K = 40, which the model does not have (it bills exactly JOB_S). The node time gives it
 * back so that a job's execution is JOB_S as the simulator assumes; without it every job billed 31-32 s and
 * the serverless queue (3 workers at 2/3 load) ran 3-6% slower, which moved the p95 wait by 8 s.
 */
const WORKER_OVERHEAD_REAL_MS = 20;

/** The mixed case's videos: this share of the jobs, each VIDEO_NODES nodes (videoWorkflow) of half a JOB_S. */
const VIDEO_SHARE = 0.1;
const VIDEO_NODES = 16;
const VIDEO_S = (VIDEO_NODES * JOB_S) / 2;

/**
 * Poisson arrivals over the trace: fixed-length images, or (`mixed`) with VIDEO_SHARE of them VIDEO_S videos, as
 * bench:policy's default mix has (90% images, 10% video).
 */
function poissonTrace(mixed = false): Workload {
  const rng = Rng.stream(TRACE_SEED, 'policy-agreement');
  const horizonS = TRACE_MINUTES * 60;
  const jobs: SimJob[] = [];
  for (
    let t = rng.exponential(60 / ARRIVALS_PER_MINUTE);
    t < horizonS;
    t += rng.exponential(60 / ARRIVALS_PER_MINUTE)
  ) {
    const video = mixed && rng.next() < VIDEO_SHARE;
    jobs.push({
      id: jobs.length,
      arrivalS: t,
      durationS: video ? VIDEO_S : JOB_S,
      kind: video ? 'video' : 'image',
    });
  }
  return { name: mixed ? 'policy-agreement-mixed' : 'policy-agreement', jobs, horizonS };
}

/** The batch case: this many images submitted from BATCH_AT_S on, all due BATCH_DUE_S later. */
const BATCH_JOBS = 80;
const BATCH_AT_S = 61;
const BATCH_DUE_S = 900;

/**
 * A batch with a deadline (bench:policy's `batch`, small): BATCH_JOBS images within 8 s, 2,400 s of work that
 * five pods finish within the deadline after a boot; the service plans each job (`plan`) and re-plans it as its
 * start slips (`replan`), which the simulator's planning adapter does too.
 *
 * One image of the same workflow runs first, alone, and ends before the batch: both then plan the batch on its
 * measured run. Without it each planned on a prior the other does not share: the service its estimate for this
 * workflow from published figures (about a second: an 8x8 image and no sampler, which the fake ComfyUI runs for
 * 30 s), the simulator its mean job. The batch straddles the tick at 65 s, in the simulator and (runService
 * starts the trace on one of its ticks) in the service: both see the pods the tick starts at the same job.
 */
function batchTrace(): Workload {
  const probe: SimJob = { id: 0, arrivalS: 0, durationS: JOB_S, kind: 'image' };
  const jobs: SimJob[] = Array.from({ length: BATCH_JOBS }, (_, i) => ({
    id: i + 1,
    arrivalS: BATCH_AT_S + i * 0.1,
    durationS: JOB_S,
    kind: 'image' as const,
    deadlineS: BATCH_AT_S + BATCH_DUE_S,
  }));
  return { name: 'policy-agreement-batch', jobs: [probe, ...jobs], horizonS: BATCH_AT_S + BATCH_DUE_S };
}

/** The bursty case (the "bursty", smaller): BURST_JOBS images at once every BURST_EVERY_S. */
const BURST_JOBS = 20;
const BURST_EVERY_S = 600;

/**
 * The bursty workload: bursts bigger than serverless takes at once (BURST_JOBS on SERVERLESS_WORKERS
 * workers, 200 s of backlog). The break-even policy holds the jobs beyond serverless's workers in the service's
 * queue (a job sent beyond them only queues at RunPod), weighs a pod boot against the backlog's drain (the first
 * burst, before any job has finished, at the assumed 150 s a job: four pods, which take a few jobs), and reaps
 * between bursts.
 */
function burstTrace(): Workload {
  const horizonS = TRACE_MINUTES * 60;
  const jobs: SimJob[] = [];
  for (let t = 5; t < horizonS; t += BURST_EVERY_S)
    for (let i = 0; i < BURST_JOBS; i++)
      jobs.push({ id: jobs.length, arrivalS: t + i * 0.05, durationS: JOB_S, kind: 'image' });
  return { name: 'policy-agreement-bursty', jobs, horizonS };
}

/** Every real-time interval of the service that delays a job's start or end, a spawn or a reap, divided by k. */
function scaledEnv(k: number): Record<string, string> {
  const scaled = (simulatedMs: number, min = 1): string => String(Math.max(min, Math.round(simulatedMs / k)));
  return {
    CLOUD_TICK_INTERVAL: scaled(TICK_S * 1000, 10),
    JOBS_DISPATCH_INTERVAL: scaled(1000, 10),
    SERVERLESS_POLL_INTERVAL: scaled(1000, 10),
    SERVERLESS_POLL_MAX_INTERVAL: scaled(2000, 10),
    COMFYUI_POLL_INTERVAL: scaled(1000, 5),
    COMFYUI_CONNECTED_POLL_INTERVAL: scaled(5000, 5),
    COMFYUI_WS_RECONNECT_DELAY: scaled(1000, 5),
    LOCAL_HEALTH_INTERVAL: scaled(5000, 10),
    CLOUD_SWEEP_INTERVAL: scaled(60_000, 10),
    LEADER_ELECTION_INTERVAL: scaled(5000, 100),
    JOBS_EXECUTION_TIMEOUT: scaled(3_600_000, 1000),
  };
}

interface PolicyCase {
  /** The simulator's policy. */
  sim: PolicyName;
  /** The service's configuration for it. */
  env: Record<string, string>;
  /** Images and videos (the service classes each by its workflow: `workload_kind`), not images alone. */
  mixed?: boolean;
  /** The batch with a deadline (`batchTrace`) instead of Poisson arrivals. */
  batch?: boolean;
  /** Bursts of images (`burstTrace`) instead of Poisson arrivals. */
  bursts?: boolean;
  /** The trace, in the test's name. */
  trace: string;
  /** Compression, when not K. */
  k?: number;
}

const CASES: PolicyCase[] = [
  // The default policy (the harness defaults to seed, so it is named): serverless up to its workers, pods by break-even, reaped at tau*.
  // The simulator's adapter assumes no serverless overhead for this model (no cold start, no idle timeout:
  // serverlessOverheadS) and, before a job has finished, a job as long as a boot: the service is told the same.
  {
    sim: 'breakeven',
    trace: 'images',
    env: {
      CLOUD_POLICY: 'breakeven',
      CLOUD_SERVERLESS_OVERHEAD_SECONDS: '0',
      CLOUD_POLICY_DEFAULT_JOB_SECONDS: '150',
    },
  },
  // Left out since session 14, for CI time: the seed rule with serverless preferred (every cloud job on
  // serverless; cost 1.00 of the simulator's in the runs the README reports). Its serverless path is the one the
  // breakeven cases overflow to.
  // The seed rule with pods: spawn past 5 waiting jobs, 150 s boots, reap after 5 idle minutes.
  {
    sim: 'seed-no-overflow',
    trace: 'images',
    env: { CLOUD_POLICY: 'seed', CLOUD_PREFER_SERVERLESS: 'false' },
  },
  // The default policy on images and videos: run times measured per kind, the forecast and the pod holds count a
  // queued video as a video, and the queue is served due first (an image before the videos just ahead of it).
  {
    sim: 'breakeven',
    mixed: true,
    trace: 'images and videos',
    // At K = 40 the service's p95 ran 14-16 s above the simulator's 101.5 s in CI (the floor is 15.2 s), where
    // each serverless slot is freed a /status poll late and the videos' backlog adds those polls up; one run in
    // three then ran again at K_BUSY_MACHINE (3 minutes more). At K = 20 (about 90 s): 8.2 s above.
    k: 20,
    env: {
      CLOUD_POLICY: 'breakeven',
      CLOUD_SERVERLESS_OVERHEAD_SECONDS: '0',
      CLOUD_POLICY_DEFAULT_JOB_SECONDS: '150',
    },
  },
  // The default policy on bursts bigger than serverless takes at once.
  {
    sim: 'breakeven',
    bursts: true,
    trace: 'bursts of 20 images every 10 minutes',
    env: {
      CLOUD_POLICY: 'breakeven',
      CLOUD_SERVERLESS_OVERHEAD_SECONDS: '0',
      CLOUD_POLICY_DEFAULT_JOB_SECONDS: '150',
    },
  },
  // The default policy on a batch with a deadline: each job planned and re-planned by its deadline. No pod is up
  // at submit: the first jobs go to serverless, and once the jobs planned there queue beyond its workers a new
  // pod is one that the queued work starts anyway (`newPodStartedAnyway`): five pods start and take the rest, in
  // time even at twice their estimate (about 8 of the 81 jobs on serverless, in both). Before the service counted
  // the jobs planned since the dispatcher's last pass (`PlansSincePass`), how many went to serverless depended on
  // how long that pass took: 28 to 61.
  {
    sim: 'breakeven',
    batch: true,
    trace: 'a batch due in 15 minutes',
    // At K = 40 the 80 submissions land up to 2 simulated seconds late and out of order, and the plans follow the
    // order: 30 to 56 of the jobs went to serverless over four runs (the simulator on each run's own arrivals
    // agreed on cost), moving the p95 wait by 60-115 s. At K_BUSY_MACHINE every run agreed (4 of 4).
    k: K_BUSY_MACHINE,
    env: {
      CLOUD_POLICY: 'breakeven',
      CLOUD_SERVERLESS_OVERHEAD_SECONDS: '0',
      CLOUD_POLICY_DEFAULT_JOB_SECONDS: '150',
    },
  },
];

/**
 * A video of VIDEO_NODES nodes (an image, inverted VIDEO_NODES − 3 times, CreateVideo, SaveVideo), each taking
 * the fake's node time as pngWorkflow's two do: 240 simulated seconds where an image takes 30. SaveVideo makes
 * the service class it as a video (`workload_kind`); its own colour keeps the fake's output cache from skipping it.
 */
function videoWorkflow(prefix: string, color: number): Record<string, unknown> {
  const workflow: Record<string, unknown> = {
    '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 2, color } },
  };
  let last = '1';
  for (let i = 2; i <= VIDEO_NODES - 2; i++) {
    workflow[String(i)] = { class_type: 'ImageInvert', inputs: { image: [last, 0] } };
    last = String(i);
  }
  workflow[String(VIDEO_NODES - 1)] = { class_type: 'CreateVideo', inputs: { images: [last, 0], fps: 8 } };
  workflow[String(VIDEO_NODES)] = {
    class_type: 'SaveVideo',
    inputs: { video: [String(VIDEO_NODES - 1), 0], filename_prefix: prefix, format: 'auto', codec: 'auto' },
  };
  return workflow;
}

interface Measured {
  costUsd: number;
  podUsd: number;
  serverlessUsd: number;
  waits: number[];
  p95: number;
  podLaunches: number;
  serverlessJobs: number;
  lateness: number[];
  execS: number[];
  /** Start to end of jobs on pods, as the service saw them (simulated s). */
  podRunS: number[];
  endS: number;
  realMs: number;
  /** The time compression it ran at. */
  k: number;
  /** The service's scaling policy at the end (GET /api/cloud/status): name, parameters, decisions. */
  scaling: string;
  /** The trace as the service ran it: arrival = its createdAt, duration = the run on the fake. */
  realized: Workload;
}

async function runService(policy: PolicyCase, workload: Workload, k: number): Promise<Measured> {
  const realStart = Date.now();
  const h = await CloudHarness.start({
    clockRate: k,
    serverless: true,
    sim: {
      bootMs: 150_000,
      serverlessEndpoints: [{ id: 'sim-endpoint-01', workers: SERVERLESS_WORKERS, pricePerSecond: 0.00034 }],
      // pngWorkflow runs two nodes (each job has its own colour, so the fake's output cache never skips one):
      // JOB_S simulated seconds in all; videoWorkflow VIDEO_NODES of them.
      comfy: { executionMsPerNode: ((JOB_S * 1000) / k - WORKER_OVERHEAD_REAL_MS) / 2 },
      // The fake worker-comfyui polls /history in real time: 5 ms is 0.2 simulated s of billed execution.
      worker: { historyPollMs: 5 },
    },
    env: {
      ...scaledEnv(k),
      RUNPOD_SERVERLESS_PRICE_PER_SECOND: '0.00034',
      RUNPOD_SERVERLESS_MAX_WORKERS: String(SERVERLESS_WORKERS),
      RUNPOD_GPU_TYPE: 'NVIDIA GeForce RTX 3090',
      CLOUD_POLICY_DEFAULT_BOOT_SECONDS: '150',
      ...policy.env,
    },
  });
  try {
    // The simulator ticks at t = 0, TICK_S, ...: start the trace on one of the service's ticks, so that its ticks
    // fall where the simulator's do.
    const loop = h.loop;
    const tickOnce = loop.tick.bind(loop);
    let lastTickAt = -Infinity;
    loop.tick = () => {
      lastTickAt = h.clock.now();
      return tickOnce();
    };
    const bootedAt = h.clock.now();
    while (lastTickAt < bootedAt) await new Promise((resolve) => setTimeout(resolve, 1));
    const t0 = lastTickAt;
    const lateness: number[] = [];
    const submits: Promise<string>[] = [];
    for (const job of workload.jobs) {
      const due = t0 + job.arrivalS * 1000;
      const ahead = due - h.clock.now();
      if (ahead > 0) await new Promise((resolve) => setTimeout(resolve, ahead / k));
      lateness.push((h.clock.now() - due) / 1000);
      const workflow =
        job.kind === 'video'
          ? videoWorkflow(`v${job.id}`, job.id + 1)
          : pngWorkflow(`a${job.id}`, job.id + 1);
      const dueBy =
        job.deadlineS === undefined ? undefined : new Date(t0 + job.deadlineS * 1000).toISOString();
      submits.push(h.submit({ workflow, ...(dueBy ? { deadline: dueBy } : {}) }));
    }
    const ids = await Promise.all(submits);
    const kindOf = new Map(ids.map((id, i) => [id, workload.jobs[i].kind]));
    const deadlineOf = new Map(ids.map((id, i) => [id, workload.jobs[i].deadlineS]));
    const done = new Map<string, any>();
    const deadline = Date.now() + (20 * 60_000) / k + 60_000;
    while (done.size < ids.length) {
      if (Date.now() > deadline) throw new Error(`${ids.length - done.size} job(s) still not done`);
      for (const id of ids.filter((x) => !done.has(x))) {
        const job = (await h.get(`/api/jobs/${id}`)).body;
        if (['completed', 'failed', 'cancelled'].includes(job.status)) done.set(id, job);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const jobs = [...done.values()];
    expect(jobs.filter((j) => j.status !== 'completed')).toEqual([]);
    // The end of the run, as the simulator defines it: the trace has drained (its last job ended). Pods still
    // up then are billed to this moment (the simulator terminates them then too).
    const end = Math.max(...jobs.map((j) => Date.parse(j.completedAt)));
    const podUsd = h.fake
      .listAllPods()
      .reduce(
        (sum, pod) =>
          sum +
          (pod.costPerHour *
            Math.max(0, Math.min(pod.terminatedAt?.getTime() ?? end, end) - pod.createdAt.getTime())) /
            3_600_000,
        0,
      );
    const serverlessUsd = h.fake.totalServerlessBilledUsd();
    const policyView = (await h.get('/api/cloud/status')).body.scalingPolicy;
    const spawns = (policyView?.decisions ?? []).filter((d: any) => d.action === 'spawn');
    const scaling = policyView
      ? `${policyView.name}: ${spawns.length} spawn decision(s) [${spawns
          .map((d: any) => d.message)
          .slice(0, 3)
          .join(' | ')}]; ` +
        `parameters ${JSON.stringify(policyView.parameters)}; last evaluation: ${policyView.lastEvaluation?.message ?? 'none'}`
      : 'no scalingPolicy in /api/cloud/status';
    const execMs = new Map(h.fake.serverlessJobs().map((entry) => [entry.id, entry.executionTimeMs]));
    const repository = h.app!.get(JobsRepository);
    const realizedJobs: SimJob[] = [];
    for (const job of jobs) {
      const row = (await repository.findById(job.id))!;
      // Serverless: RunPod's executionTime (the service sees the end a poll later); pods: start to end as the
      // service saw them over the pod's websocket.
      const ms = job.backend === 'serverless' ? execMs.get(row.remoteId ?? '') : job.durationMs;
      realizedJobs.push({
        id: realizedJobs.length,
        arrivalS: (Date.parse(job.createdAt) - t0) / 1000,
        durationS: (ms ?? JOB_S * 1000) / 1000,
        kind: kindOf.get(job.id) ?? 'image',
        deadlineS: deadlineOf.get(job.id),
      });
    }
    realizedJobs.sort((a, b) => a.arrivalS - b.arrivalS);
    const waits = jobs.map((j) => (Date.parse(j.startedAt) - Date.parse(j.createdAt)) / 1000);
    return {
      costUsd: podUsd + serverlessUsd,
      podUsd,
      serverlessUsd,
      waits,
      p95: quantile(waits, 0.95),
      podLaunches: h.fake.listAllPods().length,
      serverlessJobs: h.fake.serverlessJobs().length,
      lateness,
      execS: h.fake.serverlessJobs().map((j) => (j.executionTimeMs ?? 0) / 1000),
      podRunS: jobs.filter((j) => j.backend === 'pod').map((j) => j.durationMs / 1000),
      endS: (end - t0) / 1000,
      realMs: Date.now() - realStart,
      k: k,
      scaling,
      realized: { name: 'policy-agreement-realized', jobs: realizedJobs, horizonS: workload.horizonS },
    };
  } finally {
    await h.close();
  }
}

const fmt = (n: number, d = 2): string => (Number.isFinite(n) ? n.toFixed(d) : String(n));
const podUsdOf = (r: RunResult) => r.breakdown.podBoot + r.breakdown.podBusy + r.breakdown.podIdle;
const serverlessUsdOf = (r: RunResult) =>
  r.breakdown.serverlessBusy +
  r.breakdown.serverlessCold +
  r.breakdown.serverlessIdle +
  r.breakdown.serverlessActive;

function simulate(name: PolicyName, workload: Workload): RunResult {
  // bench:policy's `--model fake-runpod --serverless-workers 3`, with the service's default tick.
  const model = { ...fakeRunpodModel(SERVERLESS_WORKERS), tickS: TICK_S };
  return runSimulation(workload, createPolicy(name, { model, workload, seed: TRACE_SEED }), {
    model,
    seed: TRACE_SEED,
  });
}

function report(policy: PolicyCase, nominal: RunResult, realized: RunResult, svc: Measured): string {
  const stat = (xs: number[]) =>
    xs.length
      ? `p50 ${fmt(quantile(xs, 0.5))} s, p95 ${fmt(quantile(xs, 0.95))} s, max ${fmt(Math.max(...xs))} s`
      : 'none';
  const row = (label: string, r: RunResult) =>
    `  ${label.padEnd(20)} cost $${fmt(r.costUsd, 4)} (pods ${fmt(podUsdOf(r), 4)}, serverless ${fmt(serverlessUsdOf(r), 4)}), ` +
    `p95 wait ${fmt(r.waitP95, 1)} s (p50 ${fmt(r.waitP50, 1)}, max ${fmt(r.waitMax, 1)}), pods launched ${r.podLaunches}, ` +
    `service/sim cost ${fmt(svc.costUsd / r.costUsd, 3)}, p95 diff ${fmt(svc.p95 - r.waitP95, 1)} s`;
  return [
    `policy ${policy.sim} on ${policy.trace} (${JSON.stringify(policy.env)}), K=${svc.k}, ${nominal.jobs} jobs over ${TRACE_MINUTES} min, ` +
      `${SERVERLESS_WORKERS} serverless workers; real time ${fmt(svc.realMs / 1000, 1)} s`,
    `  service              cost $${fmt(svc.costUsd, 4)} (pods ${fmt(svc.podUsd, 4)}, serverless ${fmt(svc.serverlessUsd, 4)}), ` +
      `p95 wait ${fmt(svc.p95, 1)} s (p50 ${fmt(quantile(svc.waits, 0.5), 1)}, max ${fmt(Math.max(...svc.waits), 1)}), ` +
      `pods launched ${svc.podLaunches}, serverless jobs ${svc.serverlessJobs}, last job done at ${fmt(svc.endS, 0)} s`,
    `  service policy       ${svc.scaling}`,
    row('simulator (trace)', nominal),
    row('simulator (as run)', realized),
    `  jitter (simulated s): submission lateness ${stat(svc.lateness)}; serverless execution ${stat(svc.execS)}; ` +
      `pod runs ${stat(svc.podRunS)} (model ${JOB_S} s)`,
  ].join('\n');
}

const within = (value: number, target: number, relative: number, floor = 0): boolean =>
  Math.abs(value - target) <= Math.max(relative * target, floor);

/**
 * The prediction for the trace is the simulator on it; on a loaded machine an event-loop stall can make the
 * service run a different trace (late submissions, jobs running long), so agreeing with the simulator on the
 * trace as the service ran it counts too (both are printed).
 */
const costAgrees = (svc: Measured, nominal: RunResult, realized: RunResult): boolean =>
  within(svc.costUsd, nominal.costUsd, 0.15) || within(svc.costUsd, realized.costUsd, 0.15);
const p95Agrees = (svc: Measured, nominal: RunResult, realized: RunResult): boolean =>
  within(svc.p95, nominal.waitP95, 0.15, P95_FLOOR_S) || within(svc.p95, realized.waitP95, 0.15, P95_FLOOR_S);

/** Whether the machine kept the compressed time: jobs ran within 20% of the model, submissions on time. */
function keptTime(svc: Measured): boolean {
  const runs = [...svc.execS, ...svc.podRunS];
  return (
    (runs.length === 0 || quantile(runs, 0.5) <= 1.2 * JOB_S) &&
    (svc.lateness.length === 0 || quantile(svc.lateness, 0.95) <= 5)
  );
}

// Timing, not persistence, is under test: the SQLite pass runs it; CI's PostgreSQL pass skips it (2.5 minutes).
const sqliteOnly = process.env.DATABASE_URL ? describe.skip : describe;

sqliteOnly('the service agrees with the simulator (compressed time)', () => {
  it.each(CASES)(
    'policy $sim ($trace): billed cost within 15%, p95 wait within 15% or the tick floor',
    async (policy) => {
      const workload = policy.batch
        ? batchTrace()
        : policy.bursts
          ? burstTrace()
          : poissonTrace(policy.mixed);
      const nominal = simulate(policy.sim, workload);
      expect(nominal.lost).toBe(0);
      const k = policy.k ?? K;
      let svc = await runService(policy, workload, k);
      // The same policy on the trace as the service ran it: arrivals when the service recorded them and each job
      // as long as it ran on the fake. On a loaded machine the event loop stalls now and then (hundreds of real
      // ms, printed as jitter); a stall inside a job lengthens that job, and in a busy serverless queue that
      // moves the p95 wait by more than the policy's own differences. Comparing against this run isolates
      // the decisions (spawn, route, reap) from the machine.
      let realized = simulate(policy.sim, svc.realized);
      console.log(report(policy, nominal, realized, svc));
      const agrees = () => costAgrees(svc, nominal, realized) && p95Agrees(svc, nominal, realized);
      if (!agrees()) {
        // Once more, slower, before a verdict. keptTime (printed) catches a machine that plainly could not keep
        // K, but not every way a busy one drifts: with a CPU hog beside the suite, runs on such a machine have
        // launched a fifth pod where the simulator launched four (cost 1.16x) with submissions on time and
        // median runs within 10% of the model. At K_BUSY_MACHINE a stall is a quarter of the simulated time;
        // a policy that really disagrees with the simulator disagrees there too.
        console.log(
          `not in agreement at K=${k} (machine kept time: ${keptTime(svc)}); again at K=${K_BUSY_MACHINE}`,
        );
        svc = await runService(policy, workload, K_BUSY_MACHINE);
        realized = simulate(policy.sim, svc.realized);
        console.log(report(policy, nominal, realized, svc));
      }
      expect(costAgrees(svc, nominal, realized)).toBe(true);
      expect(p95Agrees(svc, nominal, realized)).toBe(true);
    },
    // K = 40 takes about 1 minute per case; a busy machine's second run at K_BUSY_MACHINE about 3.5 more.
    600_000,
  );
});
