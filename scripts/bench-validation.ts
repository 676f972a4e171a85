/**
 * `npm run bench:validation`: how long the service takes to answer a POST /api/jobs body of 1-16 MB, per body
 * shape, and the longest the event loop was blocked meanwhile (how late /health could have answered). Request work must be linear in the body's size: a body that
 * is twice as large may take twice as long, never four times, and must never hold the event loop long enough
 * to delay other requests.
 *
 * Shapes (each built to be as slow as possible for one part of the request path):
 * - `many-keys`: one `metadata` object with as many keys as fit (class-transformer's key handling was quadratic
 *   in the keys of one object);
 * - `many-nodes`: a workflow of many small nodes (the legitimate way to have many keys);
 * - `deep`: arrays nested as deep as fit, inside a workflow node's inputs;
 * - `long-string`: one input image of base64 as long as fits (the legitimate way to send a large body).
 *
 * Env: BENCH_SIZES_MB (1,2,4,8,16), BENCH_SHAPES (all), BENCH_GIVE_UP_MS (60000: larger sizes of a shape are
 * skipped once one took longer). The service runs in this process on SQLite in a temporary directory; the
 * client is node's fetch, so the time includes the upload over loopback and the JSON parse.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { createApp, listen } from '../src/bootstrap';
import { loadConfig } from '../src/config/app-config';

const SIZES_MB = (process.env.BENCH_SIZES_MB ?? '1,2,4,8,16').split(',').map(Number);
const GIVE_UP_MS = Number(process.env.BENCH_GIVE_UP_MS ?? 60000);
const MB = 1024 * 1024;

const NODE = '"1":{"class_type":"EmptyImage","inputs":{"width":8,"height":8,"batch_size":1,"color":0}}';
const SAVE = '"2":{"class_type":"SaveImage","inputs":{"images":["1",0],"filename_prefix":"bench"}}';

/** Repeats `unit(i)` until the body would exceed `bytes`, between `head` and `tail`. */
function fill(
  bytes: number,
  head: string,
  tail: string,
  unit: (i: number) => string,
  separator = ',',
): string {
  const parts: string[] = [];
  let size = head.length + tail.length;
  for (let i = 0; ; i++) {
    const part = unit(i);
    if (size + part.length + separator.length > bytes) break;
    parts.push(part);
    size += part.length + separator.length;
  }
  return head + parts.join(separator) + tail;
}

const SHAPES: Record<string, (bytes: number) => string> = {
  'many-keys': (bytes) => fill(bytes, `{"workflow":{${NODE},${SAVE}},"metadata":{`, '}}', (i) => `"k${i}":0`),
  'many-nodes': (bytes) =>
    fill(
      bytes,
      `{"workflow":{${SAVE},`,
      '}}',
      (i) => `"n${i}":{"class_type":"EmptyImage","inputs":{"width":8}}`,
    ),
  deep: (bytes) => {
    const head = `{"workflow":{${SAVE},"1":{"class_type":"EmptyImage","inputs":{"deep":`;
    const tail = '}}}}';
    const depth = Math.floor((bytes - head.length - tail.length) / 2);
    return head + '['.repeat(depth) + ']'.repeat(depth) + tail;
  },
  'long-string': (bytes) => {
    const head = `{"workflow":{${NODE},${SAVE}},"images":[{"name":"input.png","image":"`;
    const tail = '"}]}';
    const length = Math.floor((bytes - head.length - tail.length) / 4) * 4;
    return head + 'A'.repeat(length) + tail;
  },
};

interface Row {
  shape: string;
  mb: number;
  status: number | string;
  ms: number;
  stallMs: number;
}

/**
 * The longest the event loop was blocked while `work` ran: how late any other request (/health included)
 * could have been answered. Measured inside the process, since a probe client in this process would be
 * blocked too.
 */
async function longestStall(work: Promise<unknown>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  await work;
  histogram.disable();
  return histogram.max / 1e6;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-validation-'));
  const config = loadConfig({ DATA_DIR: dataDir, PORT: '0', MAX_REQUEST_BODY_MB: '32' });
  const app = await createApp({ config, logger: false });
  const url = await listen(app, 0, '127.0.0.1');
  const shapes = (process.env.BENCH_SHAPES ?? Object.keys(SHAPES).join(',')).split(',');
  const rows: Row[] = [];
  try {
    for (const shape of shapes) {
      let gaveUp = false;
      for (const mb of SIZES_MB) {
        if (gaveUp) {
          rows.push({ shape, mb, status: 'skipped', ms: NaN, stallMs: NaN });
          continue;
        }
        // Encoded up front, so the client's own work is not counted as the service's.
        const body = Buffer.from(SHAPES[shape](mb * MB));
        const started = performance.now();
        let status: number | string = 0;
        const request = fetch(`${url}/api/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.timeout(GIVE_UP_MS * 20),
        })
          .then(async (response) => {
            status = response.status;
            await response.arrayBuffer();
          })
          .catch((error: Error) => (status = error.name));
        const stallMs = await longestStall(request);
        const ms = performance.now() - started;
        rows.push({ shape, mb, status, ms, stallMs });
        console.error(
          `${shape} ${mb} MB: ${status} in ${ms.toFixed(0)} ms (event loop stalled up to ${stallMs.toFixed(0)} ms)`,
        );
        if (ms > GIVE_UP_MS) gaveUp = true;
      }
    }
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  console.log('| shape | body MB | status | time ms | ms per MB | longest event-loop stall ms |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const row of rows) {
    const cell = (value: number) => (Number.isNaN(value) ? '-' : value.toFixed(0));
    console.log(
      `| ${row.shape} | ${row.mb} | ${row.status} | ${cell(row.ms)} | ${cell(row.ms / row.mb)} | ${cell(row.stallMs)} |`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
