/**
 * `npm run bench:batch [-- NIGHTS]`: the nightly batch (500 images and 50 videos at 02:00, due at 03:00) with its
 * deadlines planned as the service plans them (ModelAwareRouter: `plan` at submit, `replan` as starts slip, pod
 * starts behind the cloud queue ahead; what bench:policy's `breakeven` runs for a workload with deadlines), next to
 * the break-even holds alone (BreakEvenPolicy: deadline jobs held for pods with `holdForPods`, nothing planned).
 * Default model, failures on, seeds 1-3.
 */
import { BreakEvenPolicy } from '../src/policy-sim/breakeven-policy';
import { ROUTER_DEFAULTS, runSimulation } from '../src/policy-sim/engine';
import { DEFAULT_MODEL } from '../src/policy-sim/model';
import { ModelAwareRouter } from '../src/policy-sim/router-policy';
import { buildWorkload } from '../src/policy-sim/workloads';

const nights = Number(process.argv[2] ?? 2);
const usd = (value: number) => `$${value.toFixed(2)}`;
console.log(`| seed | adapter | cost | pods / serverless $ | serverless share | p95 wait s | late | lost |`);
console.log(`|---|---|---:|---:|---:|---:|---:|---:|`);
for (const seed of [1, 2, 3]) {
  const workload = buildWorkload('batch', { days: nights, seed, mix: 'mixed' });
  const policies = [
    new BreakEvenPolicy('break-even holds alone', DEFAULT_MODEL),
    new ModelAwareRouter('planned (the service)', DEFAULT_MODEL),
  ];
  for (const policy of policies) {
    const r = runSimulation(workload, policy, {
      model: DEFAULT_MODEL,
      seed,
      router: { ...ROUTER_DEFAULTS, localModels: [] },
    });
    const b = r.breakdown;
    const pods = b.podBoot + b.podBusy + b.podIdle;
    const serverless = b.serverlessCold + b.serverlessBusy + b.serverlessIdle + b.serverlessActive;
    console.log(
      `| ${seed} | ${policy.name} | ${usd(r.costUsd)} | ${usd(pods)} / ${usd(serverless)} | ` +
        `${(100 * r.serverlessShare).toFixed(1)}% | ${r.waitP95.toFixed(0)} | ${r.deadlineMisses} | ${r.lost} |`,
    );
  }
}
