import { ROUTER_DEFAULTS, runSimulation, type RouterOptions } from './engine';
import { DEFAULT_MODEL, withoutFailures, type SimModel } from './model';
import type { Decision, SimPolicy, SimState } from './policy';
import { createRouter, ModelAwareRouter } from './router-policy';
import { buildRouterWorkload, ROUTER_LOCAL_MODELS } from './router-workload';
import { buildWorkload, type SimJob, type Workload } from './workloads';

/** Two local workers, no cloud to speak of, nothing fails. */
const model: SimModel = { ...withoutFailures(DEFAULT_MODEL), localWorkers: 2 };
const router: RouterOptions = { ...ROUTER_DEFAULTS, localModels: [['sdxl'], ['sdxl', 'flux']] };

/** Sends every queued job to local-0 when it is free (a router that ignores models). */
const toLocal0: SimPolicy = {
  name: 'local-0',
  decide(state: SimState): Decision {
    const free = !state.local[0].busy;
    return {
      spawn: 0,
      reap: [],
      route: free && state.queue[0] ? [{ jobId: state.queue[0].id, to: 'local', workerId: 'local-0' }] : [],
    };
  },
};

const job = (id: number, arrivalS: number, checkpoint: string, durationS = 10): SimJob => ({
  id,
  arrivalS,
  durationS,
  kind: 'image',
  checkpoint,
  signature: checkpoint,
});
const trace = (...jobs: SimJob[]): Workload => ({ name: 'router-unit', jobs, horizonS: 1000 });

describe('policy simulator: model-aware routing measurement', () => {
  it('adds a model load when the worker last ran another checkpoint, drawn the same for every policy', () => {
    const result = runSimulation(
      trace(job(0, 0, 'sdxl'), job(1, 100, 'sdxl'), job(2, 200, 'flux')),
      toLocal0,
      {
        model,
        seed: 3,
        router: {
          ...router,
          localModels: [
            ['sdxl', 'flux'],
            ['sdxl', 'flux'],
          ],
        },
      },
    );
    const stats = result.router!;
    // The first job loads (nothing loaded yet), the second finds sdxl warm, the third loads flux.
    expect(stats.modelLoads).toBe(2);
    expect(stats.completionS[1]).toBeCloseTo(10, 6);
    for (const i of [0, 2]) {
      expect(stats.completionS[i]).toBeGreaterThanOrEqual(10 + ROUTER_DEFAULTS.modelLoadMinS);
      expect(stats.completionS[i]).toBeLessThanOrEqual(10 + ROUTER_DEFAULTS.modelLoadMaxS);
    }
    const again = runSimulation(
      trace(job(0, 0, 'sdxl'), job(1, 100, 'sdxl'), job(2, 200, 'flux')),
      toLocal0,
      {
        model,
        seed: 3,
        router: {
          ...router,
          localModels: [
            ['sdxl', 'flux'],
            ['sdxl', 'flux'],
          ],
        },
      },
    );
    expect(again.router!.completionS).toEqual(stats.completionS);
  });

  it('reports the p95 of the runs alone as a floor under the p95 completion, and the p95 per kind', () => {
    const video = (id: number, arrivalS: number): SimJob => ({
      ...job(id, arrivalS, 'sdxl', 100),
      kind: 'video',
    });
    // One worker's worth of routing (toLocal0): the video queues behind the images, so completion > run.
    const jobs = [job(0, 0, 'sdxl', 10), job(1, 1, 'sdxl', 20), video(2, 2), job(3, 3, 'sdxl', 30)];
    const stats = runSimulation(trace(...jobs), toLocal0, {
      model,
      seed: 1,
      router: { ...router, localModels: [['sdxl'], ['sdxl']] },
    }).router!;
    // The runs are 10, 20, 100 and 30 s: their p95 (nearest rank) is the video's 100 s.
    expect(stats.runP95S).toBe(100);
    expect(stats.completionP95).toBeGreaterThanOrEqual(stats.runP95S);
    // First come first served on one worker after one model load L: the video ends at L + 130 (completion
    // L + 128), the last image at L + 160 (L + 157), which is the images' p95 (nearest rank of three).
    const loadS = stats.videoCompletionP95 - 128;
    expect(loadS).toBeGreaterThanOrEqual(ROUTER_DEFAULTS.modelLoadMinS);
    expect(loadS).toBeLessThanOrEqual(ROUTER_DEFAULTS.modelLoadMaxS);
    expect(stats.imageCompletionP95).toBeCloseTo(loadS + 157, 6);
  });

  it('fails at once, as a workflow error with its attempt counted, a job sent to a worker without its checkpoint', () => {
    let routes = 0;
    let busyFor = 0;
    const counting: SimPolicy = {
      name: 'counting',
      decide(state, now) {
        if (state.local[0].busy) busyFor = (now - state.local[0].busySince!) / 1000;
        const decision = toLocal0.decide(state, now);
        routes += decision.route.length;
        return decision;
      },
    };
    const result = runSimulation(trace(job(0, 0, 'flux')), counting, { model, seed: 1, router });
    expect(result.router).toMatchObject({ wrongModelSends: 1, failed: 1, completionS: [], modelLoads: 0 });
    expect(result.completed).toBe(0);
    // Not retried elsewhere (afterFailedAttempt: a workflow failure fails the job), and ~1 s on the GPU.
    expect(routes).toBe(1);
    expect(busyFor).toBeLessThanOrEqual(ROUTER_DEFAULTS.wrongModelFailS);
  });

  it('with resubmission, the caller sends the failed job again later; completion counts from the first arrival', () => {
    const result = runSimulation(trace(job(0, 0, 'flux')), toLocal0, {
      model,
      seed: 1,
      router: { ...router, resubmitFailed: true, maxResubmits: 2, resubmitAfterS: 30 },
    });
    // local-0 never has flux: two resubmissions, then it stays failed.
    expect(result.router).toMatchObject({ wrongModelSends: 3, resubmissions: 2, failed: 1 });
  });

  it('shows the router the serverless jobs it sent whose end it has not seen, in the order sent', () => {
    const seen: number[][] = [];
    const toServerless: SimPolicy = {
      name: 'serverless',
      decide(state) {
        seen.push((state.serverless.sent ?? []).map((sent) => sent.id));
        return {
          spawn: 0,
          reap: [],
          route: state.queue.map((job) => ({ jobId: job.id, to: 'serverless' as const })),
        };
      },
    };
    const result = runSimulation(
      trace(job(0, 0, 'sdxl', 100), job(1, 10, 'sdxl', 100), job(2, 20, 'flux', 100)),
      toServerless,
      { model: { ...model, localWorkers: 0 }, seed: 1, router },
    );
    expect(result.completed).toBe(3);
    expect(seen).toContainEqual([0, 1, 2]);
    expect(seen.at(-1)).toEqual([]);
    // Without router options (bench:policy) the list is not built.
    seen.length = 0;
    runSimulation(trace(job(0, 0, 'sdxl')), toServerless, { model: { ...model, localWorkers: 0 }, seed: 1 });
    expect(seen.every((ids) => ids.length === 0)).toBe(true);
  });

  it('leaves a run without router options as it was (no router stats, no model loads)', () => {
    const result = runSimulation(trace(job(0, 0, 'flux')), toLocal0, { model, seed: 1 });
    expect(result.router).toBeUndefined();
    expect(result.completed).toBe(1);
  });

  it('the model-aware router never sends a job to a worker lacking its checkpoint; the fixed order does', () => {
    const fleet: SimModel = { ...DEFAULT_MODEL, localWorkers: ROUTER_LOCAL_MODELS.length };
    const options = {
      model: fleet,
      seed: 2,
      router: { ...ROUTER_DEFAULTS, localModels: ROUTER_LOCAL_MODELS },
    };
    for (const shape of ['steady', 'bursty'] as const) {
      const workload = buildRouterWorkload(shape, { seed: 2, minutes: 90 }, fleet);
      const aware = runSimulation(workload, createRouter('model-aware', fleet), options);
      const fixed = runSimulation(workload, createRouter('fixed-order', fleet), options);
      expect(aware.router!.wrongModelSends).toBe(0);
      expect(aware.router!.failed).toBe(0);
      expect(aware.invalidActions).toBe(0);
      expect(fixed.router!.wrongModelSends).toBeGreaterThan(0);
    }
  });

  it('prefers the worker whose last job used the checkpoint', () => {
    const fleet: SimModel = { ...model, maxPods: 0 };
    const routes: string[] = [];
    const policy = new ModelAwareRouter('model-aware', fleet);
    const decide = policy.decide.bind(policy);
    policy.decide = (state, now) => {
      const decision = decide(state, now);
      for (const route of decision.route)
        if (route.to === 'local') routes.push(`${route.jobId}:${route.workerId}`);
      return decision;
    };
    // Job 0 (flux) can only go to local-1; job 1 (flux, later) finds both idle and takes the warm local-1.
    runSimulation(trace(job(0, 0, 'flux'), job(1, 200, 'flux'), job(2, 400, 'sdxl')), policy, {
      model: fleet,
      seed: 1,
      router,
    });
    expect(routes).toEqual(['0:local-1', '1:local-1', '2:local-0']);
  });

  it('re-plans a deadline job whose local plan slipped (the estimate missed a long video) and still meets it', () => {
    const fleet: SimModel = { ...withoutFailures(DEFAULT_MODEL), localWorkers: 1 };
    // A 300 s video holds the only local worker (the planner expects the mean job, ~45 s, and plans local); the
    // 10 s job due at 205 s must be re-planned onto the cloud (DeadlineReplanner's rule) to make it.
    const jobs: SimJob[] = [
      { ...job(0, 0, 'wan-video', 300), kind: 'video' },
      { ...job(1, 5, 'sdxl', 10), deadlineS: 205, deadlineFeasible: true },
    ];
    const run = (name: 'model-aware' | 'fixed-order') =>
      runSimulation(trace(...jobs), createRouter(name, fleet), {
        model: fleet,
        seed: 1,
        router: { ...ROUTER_DEFAULTS, localModels: [['sdxl', 'wan-video']] },
      }).router!;
    expect(run('model-aware')).toMatchObject({ feasibleDeadlines: 1, feasibleDeadlinesMet: 1 });
    expect(run('model-aware').completionS[1]).toBeLessThan(200);
  });

  it('starts no pod for jobs planned to a local worker: the dispatcher publishes them as no cloud demand', () => {
    const fleet: SimModel = { ...withoutFailures(DEFAULT_MODEL), localWorkers: 1 };
    // Twenty 10 s images at once, due in an hour: the planner puts each on the one local worker (free, and
    // serverless would still make the deadline if the worker slipped). They wait for it, not for the cloud.
    const jobs: SimJob[] = Array.from({ length: 20 }, (_, i) => ({
      ...job(i, 0, 'sdxl', 10),
      deadlineS: 3600,
      deadlineFeasible: true,
    }));
    const result = runSimulation(trace(...jobs), createRouter('model-aware', fleet), {
      model: fleet,
      seed: 1,
      router: { ...ROUTER_DEFAULTS, localModels: [['sdxl']] },
    });
    expect(result.completed).toBe(20);
    expect(result.router).toMatchObject({ feasibleDeadlines: 20, feasibleDeadlinesMet: 20 });
    expect(result.podLaunches).toBe(0);
    expect(result.costUsd).toBe(0);
  });

  it('runs a nightly batch due within the hour on the pods, sending to serverless only what they cannot finish', () => {
    // 500 images and 50 videos at 02:00, due at 03:00; five pods would finish them in about the hour. Each job is
    // planned (a new pod), re-planned as its start slips: behind the jobs ahead of it (CloudQueue), it keeps its
    // turn on a pod while serverless would still make its deadline with room to spare (REPLAN_ROOM_*).
    const batch = buildWorkload('batch', { days: 1, seed: 2, mix: 'mixed' });
    const result = runSimulation(batch, new ModelAwareRouter('planned', DEFAULT_MODEL), {
      model: DEFAULT_MODEL,
      seed: 2,
      router: { ...ROUTER_DEFAULTS, localModels: [] },
    });
    expect(result.completed).toBe(550);
    expect(result.deadlineMisses).toBe(0);
    // Serverless at the first slip took 91% of the work (a 3.6x price); now the pods take most of it (9% left
    // to serverless: the videos five pods cannot finish while serverless can still rescue them). It was 19% while
    // the cloud queue counted each job ahead at the typical job (a pod boot's worth before any job has run), a 6 s
    // image included.
    expect(result.serverlessShare).toBeLessThan(0.15);
  });
});
