/**
 * `npm run bench:policy`: the fleet simulator (src/policy-sim). Runs every policy on every workload in
 * simulated time, driving the shipped decision code (routing.policy, autoscale/reaper/boot/budget policies),
 * and compares each bill with the LP lower bound LB(W) and the clairvoyant schedule UB(W).
 *
 *   --workload a,b      workloads (default: all of steady-low, steady-high, diurnal, bursty-mmpp, bursty-gamma,
 *                       batch, adversarial)
 *   --policy a,b        policies (default: all baselines; see docs/bench-policy.md)
 *   --days N            simulated days (default 7)
 *   --seed N            seed (default 1); every policy sees the same trace and draws
 *   --mix M             mixed | image | video | heavy-video | const:SECONDS (default mixed)
 *   --trace FILE        replay a CSV/JSONL trace instead (format in docs/bench-policy.md)
 *   --local N           local GPUs (default 0)
 *   --max-pods N        CLOUD_MAX_PODS (default 5)
 *   --wait S            wait budget W of the bounds (default 120)
 *   --lp-slot S         LP slot length (default 30)
 *   --no-failures       switch failure injection off
 *   --out DIR           results folder (default bench-results/)
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createPolicy, POLICY_NAMES, type PolicyName } from '../src/policy-sim/baselines';
import { runSimulation } from '../src/policy-sim/engine';
import { lowerBound } from '../src/policy-sim/lower-bound';
import { DEFAULT_MODEL, withoutFailures, type SimModel } from '../src/policy-sim/model';
import { toCsv, toHtml, toMarkdown, type BenchRow } from '../src/policy-sim/report';
import { parseTrace } from '../src/policy-sim/trace-file';
import { upperBound } from '../src/policy-sim/upper-bound';
import {
  buildWorkload,
  WORKLOAD_NAMES,
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

function pick<T extends string>(value: string | undefined, all: readonly T[], what: string): T[] {
  if (!value) return [...all];
  const names = value.split(',').map((v) => v.trim());
  for (const name of names)
    if (!all.includes(name as T)) throw new Error(`unknown ${what} "${name}" (one of ${all.join(', ')})`);
  return names as T[];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const days = Number(args.get('days') ?? 7);
  const seed = Number(args.get('seed') ?? 1);
  const mix = (args.get('mix') ?? 'mixed') as JobMix;
  const waitS = Number(args.get('wait') ?? 120);
  const slotS = Number(args.get('lp-slot') ?? 30);
  const out = args.get('out') ?? 'bench-results';
  let model: SimModel = {
    ...DEFAULT_MODEL,
    localWorkers: Number(args.get('local') ?? DEFAULT_MODEL.localWorkers),
    maxPods: Number(args.get('max-pods') ?? DEFAULT_MODEL.maxPods),
  };
  if (args.has('no-failures')) model = withoutFailures(model);
  const policies = pick<PolicyName>(args.get('policy'), POLICY_NAMES, 'policy');

  const workloads: Workload[] = [];
  const trace = args.get('trace');
  if (trace) {
    workloads.push(
      parseTrace(readFileSync(trace, 'utf8'), basename(trace), trace.endsWith('.csv') ? 'csv' : 'jsonl'),
    );
  } else {
    for (const name of pick<WorkloadName>(args.get('workload'), WORKLOAD_NAMES, 'workload')) {
      workloads.push(buildWorkload(name, { days, seed, mix, tickS: model.tickS }));
    }
  }

  const wallStart = performance.now();
  const rows: BenchRow[] = [];
  const boundLines: string[] = [];
  for (const workload of workloads) {
    const lbStart = performance.now();
    const lb = await lowerBound(workload.jobs, workload.horizonS, model, { waitS, slotS });
    const lbMs = performance.now() - lbStart;
    const ub = upperBound(workload.jobs, model, waitS, seed);
    boundLines.push(
      `${workload.name}: ${workload.jobs.length} jobs; LB(${waitS}s) $${lb.costUsd.toFixed(4)} (${lb.segments} segment(s), ` +
        `${lb.variables} variables, HiGHS ${lb.solveMs.toFixed(0)} ms, total ${lbMs.toFixed(0)} ms` +
        `${lb.droppedJobs ? `, ${lb.droppedJobs} job(s) straddling cuts left out` : ''}` +
        `${lb.relaxedSegments ? `, ${lb.relaxedSegments} segment(s) infeasible within W: bounded without deadlines` : ''}); ` +
        `UB $${ub.costUsd.toFixed(4)} (${ub.podRuns} pod run(s)${ub.lateJobs ? `, ${ub.lateJobs} late` : ''}); UB/LB ${(ub.costUsd / lb.costUsd).toFixed(2)}`,
    );
    console.log(boundLines[boundLines.length - 1]);
    for (const name of policies) {
      const policy = createPolicy(name, { model, workload, seed });
      const result = runSimulation(workload, policy, { model, seed });
      rows.push({ result, lbUsd: lb.costUsd, ubUsd: ub.costUsd, waitBudgetS: waitS });
      console.log(
        `  ${name.padEnd(18)} $${result.costUsd.toFixed(3).padStart(8)}  ${(result.costUsd / lb.costUsd).toFixed(2)}x LB  ` +
          `p95 ${result.waitP95.toFixed(1)} s  lost ${result.lost}  (${result.wallMs.toFixed(0)} ms)`,
      );
    }
  }
  const wallMs = performance.now() - wallStart;

  mkdirSync(out, { recursive: true });
  const meta = {
    days: trace ? 'trace' : String(days),
    seed: String(seed),
    mix,
    'wait budget W': `${waitS} s`,
    'LP slot': `${slotS} s`,
    'local GPUs': String(model.localWorkers),
    'max pods': String(model.maxPods),
    failures: args.has('no-failures') ? 'off' : 'on',
    'wall time': `${(wallMs / 1000).toFixed(1)} s`,
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
  console.log(`Wall time ${(wallMs / 1000).toFixed(1)} s. Wrote ${join(out, 'policy-bench.{csv,md,html}')}`);
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exit(1);
});
