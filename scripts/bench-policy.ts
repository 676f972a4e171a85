/**
 * `npm run bench:policy`: the fleet simulator (src/policy-sim). Runs every policy on every workload in
 * simulated time, driving the shipped decision code (routing.policy, autoscale/reaper/boot/budget policies),
 * and compares each bill with the LP lower bound LB(W) and the clairvoyant schedule UB(W).
 *
 *   --workload a,b      workloads (default: all of steady-low, steady-high, diurnal, bursty-mmpp, bursty-gamma,
 *                       batch, adversarial; also issue-steady-low, issue-steady-high, issue-bursty, issue-batch)
 *   --policy a,b        policies (default: all baselines; see docs/bench-policy.md)
 *   --days N            simulated days (default 7)
 *   --minutes N         simulated minutes instead of days (the issue's 30-minute runs)
 *   --seed N            first seed (default 1); every policy sees the same trace and draws
 *   --seeds N           seeds per (policy, workload): seed..seed+N-1 (default 1; 30 for §6.7); mean ± 95% CI
 *   --warmup-days D     discard the first D simulated days from the metrics (default 1 when --days >= 2, else 0)
 *   --mix M             mixed | image | video | heavy-video | const:SECONDS (default mixed)
 *   --model M           default | fake-runpod (the in-repo simulated RunPod: 150 s boot, no cold start, no failures)
 *   --serverless-workers N  serverless endpoint workers (default 10)
 *   --trace FILE        replay a CSV/JSONL trace instead (format in docs/bench-policy.md)
 *   --from-db           replay the service's own jobs table (DATABASE_URL, else DATA_DIR/cloud-workers.sqlite)
 *   --database-url URL  with --from-db: a postgres:// URL instead of DATABASE_URL
 *   --since ISO, --until ISO  with --from-db: jobs created in [since, until)
 *   --local N           local GPUs (default 0)
 *   --max-pods N        CLOUD_MAX_PODS (default 5)
 *   --pod-wait-target S   breakeven: CLOUD_POD_WAIT_TARGET_SECONDS (default the service's, 30)
 *   --pod-wait-per-run F  breakeven: CLOUD_POD_WAIT_PER_RUN (default the service's, 0.5)
 *   --serverless-poll S,MAX  SERVERLESS_POLL_INTERVAL and SERVERLESS_POLL_MAX_INTERVAL in seconds (default the
 *                       service's, 1,2): when the service sees a serverless job end and frees its slot
 *   --wait S            wait budget W of the bounds (default 120)
 *   --lp-slot S         LP slot length (default 30)
 *   --no-failures       switch failure injection off
 *   --out DIR           results folder (default bench-results/)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DEFAULT_POD_WAIT_PER_RUN, DEFAULT_POD_WAIT_TARGET_S } from '../src/cloud/policy/breakeven.policy';
import { createPolicy, POLICY_NAMES, type PolicyName } from '../src/policy-sim/baselines';
import { lowerBound } from '../src/policy-sim/lower-bound';
import {
  DEFAULT_MODEL,
  fakeRunpodModel,
  MODEL_NAMES,
  withoutFailures,
  type ModelName,
  type SimModel,
} from '../src/policy-sim/model';
import { toCsv, toHtml, toMarkdown, type BenchRow } from '../src/policy-sim/report';
import { seedRange } from '../src/policy-sim/seeds';
import { loadTraceFromDb } from '../src/policy-sim/trace-from-db';
import { parseTrace } from '../src/policy-sim/trace-file';
import { upperBound } from '../src/policy-sim/upper-bound';
import { runMeasured, windowJobs } from '../src/policy-sim/warmup';
import {
  ALL_WORKLOAD_NAMES,
  buildWorkload,
  DAY_S,
  WORKLOAD_NAMES,
  workloadHorizonS,
  type JobMix,
  type Workload,
  type WorkloadName,
} from '../src/policy-sim/workloads';

function parseArgs(argv: string[]): Map<string, string> {
  const args = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i];
    if (!key.startsWith('--')) throw new Error(`unexpected argument ${key}`);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) args.set(key.slice(2), 'true');
    else {
      args.set(key.slice(2), next);
      i++;
    }
  }
  return args;
}

function pick<T extends string>(
  value: string | undefined,
  all: readonly T[],
  what: string,
  defaults: readonly T[] = all,
): T[] {
  if (!value) return [...defaults];
  const names = value.split(',').map((v) => v.trim());
  for (const name of names)
    if (!all.includes(name as T)) throw new Error(`unknown ${what} "${name}" (one of ${all.join(', ')})`);
  return names as T[];
}

function number(args: Map<string, string>, key: string, fallback: number): number {
  const raw = args.get(key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`--${key} must be a number (got "${raw}")`);
  return value;
}

function isoMs(value: string | undefined, key: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new Error(`--${key} must be an ISO-8601 time (got "${value}")`);
  return ms;
}

interface Bounds {
  lbUsd: number;
  ubUsd: number;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const days = number(args, 'days', 7);
  const minutes = args.has('minutes') ? number(args, 'minutes', 0) : undefined;
  const firstSeed = number(args, 'seed', 1);
  const seeds = seedRange(firstSeed, number(args, 'seeds', 1));
  const mix = (args.get('mix') ?? 'mixed') as JobMix;
  const waitS = number(args, 'wait', 120);
  const slotS = number(args, 'lp-slot', 30);
  const out = args.get('out') ?? 'bench-results';
  const modelName = pick<ModelName>(args.get('model'), MODEL_NAMES, 'model', ['default'])[0];
  const serverlessWorkers = number(args, 'serverless-workers', DEFAULT_MODEL.serverlessMaxWorkers);
  let model: SimModel = {
    ...(modelName === 'fake-runpod' ? fakeRunpodModel(serverlessWorkers) : DEFAULT_MODEL),
    serverlessMaxWorkers: serverlessWorkers,
    localWorkers: number(args, 'local', DEFAULT_MODEL.localWorkers),
    maxPods: number(args, 'max-pods', DEFAULT_MODEL.maxPods),
  };
  if (args.has('serverless-poll')) {
    const [pollS, pollMaxS = pollS] = (args.get('serverless-poll') ?? '').split(',').map(Number);
    if (!(pollS >= 0) || !(pollMaxS >= 0))
      throw new Error('--serverless-poll takes S or S,MAX in seconds (≥ 0; 0: a job end is seen at once)');
    model = { ...model, serverlessPollS: pollS, serverlessPollMaxS: pollMaxS };
  }
  if (args.has('no-failures')) model = withoutFailures(model);
  // The break-even policy as the service is configured (its defaults unless given).
  const breakEven = {
    podWaitTargetS: number(args, 'pod-wait-target', DEFAULT_POD_WAIT_TARGET_S),
    podWaitPerRun: number(args, 'pod-wait-per-run', DEFAULT_POD_WAIT_PER_RUN),
  };
  if (breakEven.podWaitTargetS < 0 || breakEven.podWaitPerRun < 0)
    throw new Error('--pod-wait-target and --pod-wait-per-run must be ≥ 0, as the service requires');
  const policies = pick<PolicyName>(args.get('policy'), POLICY_NAMES, 'policy');

  // A replayed trace is the same for every seed (the seeds vary the draws); a synthetic one is drawn per seed.
  const trace = args.get('trace');
  const fromDb = args.has('from-db');
  let fixed: Workload | null = null;
  if (trace) {
    fixed = parseTrace(
      readFileSync(trace, 'utf8'),
      basename(trace),
      trace.endsWith('.csv') ? 'csv' : 'jsonl',
    );
  } else if (fromDb) {
    const { workload, summary, where } = await loadTraceFromDb({
      databaseUrl: args.get('database-url'),
      sinceMs: isoMs(args.get('since'), 'since'),
      untilMs: isoMs(args.get('until'), 'until'),
    });
    console.log(
      `from-db ${where}: ${summary.replayed} job(s) replayed (${summary.completed} completed, ` +
        `${summary.endedAfterRun} failed/cancelled after running); skipped ${summary.skippedNeverRan} that never ` +
        `ran and ${summary.skippedUnfinished} still queued/running`,
    );
    if (workload.jobs.length === 0) throw new Error('from-db: no job that ran in the selected range');
    fixed = workload;
  }
  const names = fixed
    ? [fixed.name]
    : pick<WorkloadName>(args.get('workload'), ALL_WORKLOAD_NAMES, 'workload', WORKLOAD_NAMES);
  const workloadFor = (name: string, seed: number): Workload =>
    fixed ?? buildWorkload(name as WorkloadName, { days, minutes, seed, mix, tickS: model.tickS });

  const horizonS = fixed ? fixed.horizonS : workloadHorizonS({ days, minutes });
  const warmupDays = number(args, 'warmup-days', !fixed && minutes === undefined && days >= 2 ? 1 : 0);
  const warmupS = warmupDays * DAY_S;
  if (warmupS >= horizonS) throw new Error(`--warmup-days ${warmupDays} leaves nothing to measure`);

  const wallStart = performance.now();
  let lbMsTotal = 0;
  let simMsTotal = 0;
  const rows: BenchRow[] = [];
  const boundLines: string[] = [];
  const boundsCache = new Map<Workload, Bounds>();
  for (const name of names) {
    for (const seed of seeds) {
      const workload = workloadFor(name, seed);
      let bounds = boundsCache.get(workload);
      if (!bounds) {
        // The bounds price the measured window's jobs alone, from a cold fleet (docs: warm-up).
        const jobs = windowJobs(workload.jobs, warmupS);
        const lbStart = performance.now();
        const lb = await lowerBound(jobs, workload.horizonS - warmupS, model, { waitS, slotS });
        const lbMs = performance.now() - lbStart;
        lbMsTotal += lbMs;
        const ub = upperBound(jobs, model, waitS, seed);
        bounds = { lbUsd: lb.costUsd, ubUsd: ub.costUsd };
        boundsCache.set(workload, bounds);
        boundLines.push(
          `${workload.name} seed ${seed}: ${jobs.length} jobs measured; LB(${waitS}s) $${lb.costUsd.toFixed(4)} (${lb.segments} segment(s), ` +
            `${lb.variables} variables, HiGHS ${lb.solveMs.toFixed(0)} ms, total ${lbMs.toFixed(0)} ms` +
            `${lb.droppedJobs ? `, ${lb.droppedJobs} job(s) straddling cuts left out` : ''}` +
            `${lb.relaxedSegments ? `, ${lb.relaxedSegments} segment(s) infeasible within W: bounded without deadlines` : ''}); ` +
            `UB $${ub.costUsd.toFixed(4)} (${ub.podRuns} pod run(s)${ub.lateJobs ? `, ${ub.lateJobs} late` : ''}); UB/LB ${(ub.costUsd / lb.costUsd).toFixed(2)}`,
        );
        console.log(boundLines[boundLines.length - 1]);
      }
      const withDeadlines = workload.jobs.some((job) => job.deadlineS !== undefined);
      for (const policyName of policies) {
        const result = runMeasured(
          workload,
          () => createPolicy(policyName, { model, workload, seed, breakEven }),
          {
            model,
            seed,
            warmupS,
          },
        );
        simMsTotal += result.wallMs;
        rows.push({ result, lbUsd: bounds.lbUsd, ubUsd: bounds.ubUsd, waitBudgetS: waitS, seed });
        console.log(
          `  ${policyName.padEnd(18)} seed ${String(seed).padEnd(3)} $${result.costUsd.toFixed(3).padStart(8)}  ` +
            `${(result.costUsd / bounds.lbUsd).toFixed(2)}x LB  p95 ${result.waitP95.toFixed(1)} s (images ${result.imageWaitP95.toFixed(1)} s)  lost ${result.lost}  ` +
            // Jobs completed after their deadline, warm-up days included.
            (withDeadlines ? `late ${result.deadlineMisses}  ` : '') +
            `(${result.wallMs.toFixed(0)} ms)`,
        );
      }
    }
  }
  const wallMs = performance.now() - wallStart;

  mkdirSync(out, { recursive: true });
  const meta = {
    [minutes !== undefined ? 'minutes' : 'days']: fixed ? 'trace' : String(minutes ?? days),
    seeds:
      seeds.length > 1
        ? `${seeds[0]}..${seeds[seeds.length - 1]} (mean ± 95% CI, Student t)`
        : String(firstSeed),
    'warm-up discarded': `${warmupDays} day(s)`,
    model: modelName,
    mix,
    'wait budget W': `${waitS} s`,
    'LP slot': `${slotS} s`,
    'local GPUs': String(model.localWorkers),
    'max pods': String(model.maxPods),
    'serverless workers': String(model.serverlessMaxWorkers),
    'serverless polls': `${model.serverlessPollS} s doubling to ${model.serverlessPollMaxS} s`,
    'breakeven pod wait': `${breakEven.podWaitTargetS} s or ${breakEven.podWaitPerRun} × the run`,
    failures: args.has('no-failures') || modelName === 'fake-runpod' ? 'off' : 'on',
    'wall time': `${(wallMs / 1000).toFixed(1)} s (LB ${(lbMsTotal / 1000).toFixed(1)} s, simulation ${(simMsTotal / 1000).toFixed(1)} s)`,
  };
  const markdown = toMarkdown(rows);
  writeFileSync(join(out, 'policy-bench.csv'), toCsv(rows));
  writeFileSync(
    join(out, 'policy-bench.md'),
    `${Object.entries(meta)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; ')}\n\n${boundLines.join('\n\n')}\n\n${markdown}`,
  );
  writeFileSync(join(out, 'policy-bench.html'), toHtml(rows, meta));
  console.log(`\n${markdown}`);
  console.log(
    `Wall time ${(wallMs / 1000).toFixed(1)} s (LB ${(lbMsTotal / 1000).toFixed(1)} s, simulation ` +
      `${(simMsTotal / 1000).toFixed(1)} s). Wrote ${join(out, 'policy-bench.{csv,md,html}')}`,
  );
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
