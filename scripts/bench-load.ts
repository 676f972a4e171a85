/**
 * The closed-loop load generator of `bench:dispatch`, in its own process so that its own cost (building and
 * parsing HTTP) is not charged to the service it measures. node:http with keep-alive, CONCURRENCY clients in
 * a loop for DURATION_S. Prints one JSON line: `{"rate", "count", "errors", "busy"}` (busy: its own CPU time
 * over the wall time).
 *
 * Usage: bench-load.ts <url> <durationS> <concurrency> <json body>
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';

const [url, durationS, concurrency, body] = process.argv.slice(2);
const target = new URL(url);
const agent = new Agent({ keepAlive: true });
const payload = Buffer.from(body);

function post(): Promise<boolean> {
  return new Promise((resolve) => {
    const outgoing = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (response) => {
        response.resume();
        response.on('end', () => resolve((response.statusCode ?? 0) < 300));
        response.on('error', () => resolve(false));
      },
    );
    outgoing.on('error', () => resolve(false));
    outgoing.end(payload);
  });
}

async function main(): Promise<void> {
  const started = performance.now();
  const deadline = started + Number(durationS) * 1000;
  let count = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: Number(concurrency) }, async () => {
      while (performance.now() < deadline) {
        if (await post()) count++;
        else errors++;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage();
  // busy near 1: this process, not the service, limited the rate.
  const busy = (cpu.user + cpu.system) / 1e6 / seconds;
  console.log(JSON.stringify({ rate: count / seconds, count, errors, busy }));
  agent.destroy();
}

void main();
