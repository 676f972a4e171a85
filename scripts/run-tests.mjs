#!/usr/bin/env node
/**
 * `npm test`: the whole suite in two steps.
 *
 *   1. Every suite but the agreement test, two at a time (`--maxWorkers=2`). Each test has its own temp DATA_DIR
 *      (or PostgreSQL schema) and port 0, and the suites mostly wait on app boots and conditions, so two share
 *      the 2-core machine the suite is written for (README, Development: tests wait for conditions, never for
 *      wall-clock durations).
 *   2. `test/policy-agreement.e2e-spec.ts` alone, in band: it runs the service in compressed time and compares its
 *      bill and waits with the simulator's, so it wants the machine to itself (on a machine that cannot keep 40x
 *      time it re-runs a case at 10x, which takes four times as long).
 *
 * Arguments go to Jest as they are, in one in-band run (`npm test -- test/jobs-local`, `npm test --
 * --selectProjects unit`): a chosen subset is run as asked.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const JEST = fileURLToPath(new URL('../node_modules/jest/bin/jest.js', import.meta.url));
const ALONE = 'test/policy-agreement';

function jest(args) {
  const run = spawnSync(
    process.execPath,
    ['--experimental-vm-modules', '--no-warnings=ExperimentalWarning', JEST, ...args],
    { stdio: 'inherit' },
  );
  if (run.error) throw run.error;
  return run.status ?? 1;
}

const extra = process.argv.slice(2);
if (extra.length > 0) process.exit(jest(['--runInBand', ...extra]));

const together = jest(['--maxWorkers=2', '--testPathIgnorePatterns', ALONE]);
const alone = jest(['--runInBand', ALONE]);
process.exit(together !== 0 ? together : alone);
