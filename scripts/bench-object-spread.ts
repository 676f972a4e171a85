/**
 * Why hot paths here do not write `{ ...object, newKey }`: on Node 20 (V8 11.3) adding a key the source object
 * lacks to a spread copy leaves V8's fast path, and costs about a microsecond per key (measured: 1.1 µs for one
 * key, 3.7 µs for three, against about 20 ns for the same object written field by field). Overriding a key the
 * source already has stays fast, as do `{ newKey, ...object }` and `Object.assign(literal, more)`.
 * A quote builds a candidate per worker, and each submit builds a job view: `npm run bench:object-spread`
 * prints the per-object cost of each form on this machine.
 */
import { performance } from 'node:perf_hooks';

type Fields = { backend: string; kind: string; workerClass: string; workerId: string; startAt: number };

const fields = (i: number): Fields => ({
  backend: 'local',
  kind: 'local',
  workerClass: `w${i & 3}`,
  workerId: 'w',
  startAt: i,
});

const FORMS: Record<string, (f: Fields) => { startAt: number }> = {
  'spread, then add 1 key': (f) => ({ ...f, costUsd: 0 }),
  'spread, then add 3 keys': (f) => ({ ...f, completeAt: 1, runSeconds: 2, costUsd: 0 }),
  'spread, then override 1 key': (f) => ({ ...f, startAt: 1 }),
  'add 1 key, then spread': (f) => ({ costUsd: 0, ...f }),
  'Object.assign onto a literal': (f) => Object.assign({ startAt: f.startAt }, { costUsd: 0 }),
  'field by field': (f) => ({
    backend: f.backend,
    kind: f.kind,
    workerClass: f.workerClass,
    workerId: f.workerId,
    startAt: f.startAt,
    costUsd: 0,
  }),
};

const N = 500_000;
console.log(`Node ${process.version}: ns per object (best of 3 runs of ${N.toLocaleString()})`);
for (const [name, form] of Object.entries(FORMS)) {
  let best = Infinity;
  let sink = 0;
  for (let run = 0; run < 3; run++) {
    const started = performance.now();
    for (let i = 0; i < N; i++) sink += form(fields(i)).startAt;
    best = Math.min(best, ((performance.now() - started) * 1e6) / N);
  }
  console.log(`${name.padEnd(30)} ${best.toFixed(0).padStart(6)}${sink < 0 ? '' : ''}`);
}
