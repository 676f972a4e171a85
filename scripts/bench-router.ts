/**
 * `npm run bench:router`: issue 11 §6. The fixed-order router (the first free local worker, whatever its models)
 * against the model-aware router (the shipped localWorkerOrder + the deadline planner), both on the shipped
 * break-even cloud policy, in the fleet simulator on the mixed image/video, mixed-model workload
 * (src/policy-sim/router-workload.ts: 4 local GPUs, 2 with {sdxl, flux} and 2 with {sdxl, wan-video}; 60% SDXL
 * images, 25% Flux images, 15% Wan video; 30% of jobs with a feasible deadline). Both routers see the same traces
 * and draws (durations, cold starts, boots, model loads).
 *
 *   --shape a,b     steady | steady-light | bursty (default all three)
 *   --seeds N       seeds 1..N (default 5)
 *   --first-seed K  seeds K..K+N-1 instead (a second sample of seeds, to check a change is not tuned to 1..N)
 *   --minutes N     simulated minutes per run (default 480)
 *   --max-pods N    CLOUD_MAX_PODS (default 5)
 *   --no-failures   no boot failures, worker crashes or job errors (a deadline missed then is the router's)
 *   --resubmit M    on (default: both tables) | off (as the service behaves only) | only (resubmission only)
 *   --misses        list the model-aware router's missed feasible deadlines: each job's cause, attempts and plans
 */
import {
  ROUTER_DEFAULTS,
  runSimulation,
  SIM_EPOCH_MS,
  type MissedDeadline,
  type RunResult,
} from '../src/policy-sim/engine';
import { DEFAULT_MODEL, type SimModel } from '../src/policy-sim/model';
import { countMissCauses, missCause, type MissCause } from '../src/policy-sim/miss-cause';
import { quantile } from '../src/policy-sim/rng';
import {
  createRouter,
  ModelAwareRouter,
  ROUTER_NAMES,
  type PlanRecord,
  type RouterName,
} from '../src/policy-sim/router-policy';
import {
  buildRouterWorkload,
  ROUTER_LOCAL_MODELS,
  ROUTER_SHAPES,
  type RouterShape,
} from '../src/policy-sim/router-workload';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const shapes = (arg('shape')?.split(',') ?? [...ROUTER_SHAPES]) as RouterShape[];
const seeds = Number(arg('seeds') ?? 5);
const firstSeed = Number(arg('first-seed') ?? 1);
const minutes = Number(arg('minutes') ?? 480);
const model: SimModel = {
  ...DEFAULT_MODEL,
  localWorkers: ROUTER_LOCAL_MODELS.length,
  maxPods: Number(arg('max-pods') ?? DEFAULT_MODEL.maxPods),
  ...(process.argv.includes('--no-failures')
    ? { podBootFailureProb: 0, serverlessCrashProb: 0, podCrashProb: 0, jobErrorProb: 0 }
    : {}),
};

interface Row {
  cost: number;
  p50: number;
  p95: number;
  /** p95 over every submitted job, one that never completed counting as never done (Infinity). */
  p95All: number;
  waitP95: number;
  failed: number;
  resubmitted: number;
  wrong: number;
  deadlineShare: number;
  loads: number;
  localLoads: number;
  jobs: number;
  deadlines: number;
  /** The p95 of the jobs' runs alone: no router's p95 completion over every job is below it. */
  runP95Floor: number;
  imageP95: number;
  videoP95: number;
}

function row(result: RunResult): Row {
  const r = result.router!;
  const never = new Array<number>(result.jobs - r.completionS.length).fill(Infinity);
  return {
    cost: result.costUsd,
    p50: r.completionP50,
    p95: r.completionP95,
    p95All: quantile([...r.completionS, ...never], 0.95),
    waitP95: result.waitP95,
    failed: r.failed,
    resubmitted: r.resubmissions,
    wrong: r.wrongModelSends,
    deadlineShare: r.feasibleDeadlines > 0 ? r.feasibleDeadlinesMet / r.feasibleDeadlines : 1,
    loads: r.modelLoads,
    localLoads: r.localModelLoads,
    jobs: result.jobs,
    deadlines: r.feasibleDeadlines,
    runP95Floor: r.runP95S,
    imageP95: r.imageCompletionP95,
    videoP95: r.videoCompletionP95,
  };
}

const listMisses = process.argv.includes('--misses');

/** One missed feasible deadline: the job, its attempts and its plans (simulated seconds since the start). */
function describeMiss(
  label: string,
  miss: MissedDeadline,
  cause: MissCause,
  plans: readonly PlanRecord[],
): string {
  const s = (ms: number) => ((ms - SIM_EPOCH_MS) / 1000).toFixed(1);
  const lines = [
    `${label} job ${miss.jobId} ${miss.checkpoint ?? miss.kind} [${cause}]: arrival ${miss.arrivalS.toFixed(1)}, run ` +
      `${miss.durationS.toFixed(1)}, deadline ${miss.deadlineS.toFixed(1)} (slack ` +
      `${(miss.deadlineS - miss.arrivalS - miss.durationS).toFixed(1)}), completed ` +
      `${miss.completedS === null ? 'never' : `${miss.completedS.toFixed(1)} (late ${(miss.completedS - miss.deadlineS).toFixed(1)})`}`,
  ];
  for (const a of miss.attempts)
    lines.push(
      `  attempt ${a.backend} ${a.workerId}: ${a.submittedS !== undefined ? `sent ${a.submittedS.toFixed(1)}, ` : ''}` +
        `start ${a.startS.toFixed(1)}, load ${a.loadS.toFixed(1)}, end ${a.endS?.toFixed(1) ?? '-'}, ` +
        `seen ${a.seenS?.toFixed(1) ?? '-'}: ${a.outcome}`,
    );
  for (const p of plans)
    lines.push(
      `  ${p.how} at ${s(p.at)}${p.podOnly ? ' (podOnly)' : ''}: ${p.result} -> ${p.backend ?? 'fixed order'}` +
        (p.candidate
          ? ` (${p.candidate.kind} start ${s(p.candidate.startAt)} end ${s(p.candidate.completeAt)}, run ${p.candidate.runSeconds.toFixed(1)})`
          : '') +
        (p.offered.length > 0
          ? `; offered ${p.offered.map((c) => `${c.kind} ${s(c.startAt)}-${s(c.completeAt)}`).join(', ')}`
          : ''),
    );
  return lines.join('\n');
}

const mean = (rows: Row[], key: keyof Row) => rows.reduce((sum, r) => sum + r[key], 0) / rows.length;
const fmt = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'never');

function bench(resubmitFailed: boolean): void {
  const lines: string[] = [];
  const checks: string[] = [];
  const misses: string[] = [];
  const causes: MissCause[] = [];
  lines.push(
    '| workload | router | cost $ | p50 / p95 completion s | images / videos p95 s | p95 all jobs s | p95 wait s | failed | resubmitted | wrong-model sends | feasible deadlines met | model loads (local) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  for (const shape of shapes) {
    const bySeed = new Map<RouterName, Row[]>(ROUTER_NAMES.map((name) => [name, []]));
    for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
      const workload = buildRouterWorkload(shape, { seed, minutes }, model);
      for (const name of ROUTER_NAMES) {
        const router = createRouter(name, model);
        const planLog = new Map<number, PlanRecord[]>();
        if (listMisses && router instanceof ModelAwareRouter) router.planLog = planLog;
        const result = runSimulation(workload, router, {
          model,
          seed,
          router: {
            ...ROUTER_DEFAULTS,
            localModels: ROUTER_LOCAL_MODELS,
            resubmitFailed,
            history: listMisses,
          },
        });
        bySeed.get(name)!.push(row(result));
        if (router instanceof ModelAwareRouter)
          for (const miss of result.router?.missed ?? []) {
            const cause = missCause(miss, model);
            causes.push(cause);
            misses.push(describeMiss(`${shape} seed ${seed}`, miss, cause, planLog.get(miss.jobId) ?? []));
          }
      }
    }
    const jobs = mean(bySeed.get('fixed-order')!, 'jobs');
    for (const name of ROUTER_NAMES) {
      const rows = bySeed.get(name)!;
      lines.push(
        `| ${shape} (${jobs.toFixed(0)} jobs) | ${name} | ${mean(rows, 'cost').toFixed(2)} | ` +
          `${fmt(mean(rows, 'p50'))} / ${fmt(mean(rows, 'p95'))} | ` +
          `${fmt(mean(rows, 'imageP95'))} / ${fmt(mean(rows, 'videoP95'))} | ${fmt(mean(rows, 'p95All'))} | ${fmt(mean(rows, 'waitP95'))} | ` +
          `${fmt(mean(rows, 'failed'))} | ${fmt(mean(rows, 'resubmitted'))} | ${fmt(mean(rows, 'wrong'))} | ` +
          `${(100 * mean(rows, 'deadlineShare')).toFixed(1)}% of ${mean(rows, 'deadlines').toFixed(0)} | ` +
          `${mean(rows, 'loads').toFixed(0)} (${mean(rows, 'localLoads').toFixed(0)}) |`,
      );
    }
    const fixed = bySeed.get('fixed-order')!;
    const aware = bySeed.get('model-aware')!;
    const p95Gain = 1 - mean(aware, 'p95') / mean(fixed, 'p95');
    const perSeedP95 = aware.filter((r, i) => r.p95 <= 0.75 * fixed[i].p95).length;
    const perSeedCost = aware.filter((r, i) => r.cost <= fixed[i].cost + 1e-9).length;
    checks.push(
      `${shape}: every feasible deadline met: ${aware.every((r) => r.deadlineShare === 1) ? 'yes' : 'no'} ` +
        `(min ${(100 * Math.min(...aware.map((r) => r.deadlineShare))).toFixed(1)}% over seeds); ` +
        `wrong-model sends: ${aware.reduce((sum, r) => sum + r.wrong, 0)}; ` +
        `cost no worse: ${mean(aware, 'cost') <= mean(fixed, 'cost') + 1e-9 ? 'yes' : 'no'} (${perSeedCost}/${seeds} seeds); ` +
        `p95 completion (completed jobs) ${(100 * p95Gain).toFixed(1)}% better, target >= 25%: ` +
        `${p95Gain >= 0.25 ? 'yes' : 'no'} (${perSeedP95}/${seeds} seeds)`,
    );
    // A bound, not a router's result: each job completes at least its run after it arrives, so no router's p95
    // over every job is below the p95 of the runs alone. Where 75% of the fixed order's p95 is below that, the
    // 25% target cannot be met on this workload by any router.
    const floor = mean(aware, 'runP95Floor');
    const needed = 0.75 * mean(fixed, 'p95');
    checks.push(
      `${shape}: p95 completion floor (the p95 of the runs alone, no wait and no model load): ${fmt(floor)} s; ` +
        `25% better than the fixed order needs <= ${fmt(needed)} s: ` +
        `${needed < floor ? 'below the floor, so no router can' : 'above the floor'}; the model-aware router is ` +
        `${fmt(mean(aware, 'p95') - floor)} s above it`,
    );
  }
  console.log(
    resubmitFailed
      ? '\n## Callers submit a failed job again (completion from the first submission)\n'
      : '\n## As the service behaves: a job sent to a worker lacking its checkpoint fails (workflow error, no retry)\n',
  );
  console.log(lines.join('\n'));
  console.log('\nTargets (model-aware vs fixed-order):');
  for (const check of checks) console.log(`- ${check}`);
  if (listMisses)
    console.log(
      `\nFeasible deadlines the model-aware router missed (${misses.length}; by cause (src/policy-sim/miss-cause.ts): ` +
        `${countMissCauses(causes)}):\n\n${misses.join('\n')}`,
    );
}

console.log(
  `${seeds} seeds (${firstSeed}-${firstSeed + seeds - 1}) x ${minutes} simulated minutes, 4 local GPUs, max ${model.maxPods} pods, ` +
    `serverless ${model.serverlessMaxWorkers} workers; means over seeds`,
);
const mode = arg('resubmit');
if (mode !== 'only') bench(false);
if (mode !== 'off') bench(true);
