/**
 * Open dashboards for `bench:dispatch` (BENCH_EVENT_STREAMS): holds <count> GET /api/events streams, each on
 * its own connection, in its own process so reading them costs the service's process nothing but the writes.
 * Prints `{"ready": true}` once every stream has its `hello`; on a line on stdin (or stdin closing) prints
 * `{"streams", "events", "bytes", "ended"}` (events: fleet events received, summed over the streams) and exits.
 *
 * Usage: bench-event-streams.ts <service url> <count>
 */
import { type ClientRequest, request } from 'node:http';

const [url, count] = process.argv.slice(2);
const target = new URL('/api/events', url);
let events = 0;
let bytes = 0;
let ended = 0;
let ready = 0;
const requests: ClientRequest[] = [];

function open(): void {
  const outgoing = request({ host: target.hostname, port: target.port, path: target.pathname, agent: false });
  outgoing.on('response', (response) => {
    let greeted = false;
    let tail = '';
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      bytes += chunk.length;
      // One `id:` line per fleet event (hello and heartbeats have none). The last characters of the previous
      // chunk are kept, so a line split across chunks is counted once.
      const text = tail + chunk;
      for (let at = text.indexOf('\nid: '); at >= 0; at = text.indexOf('\nid: ', at + 1)) events++;
      tail = text.slice(-4);
      if (!greeted) {
        greeted = true;
        if (++ready === Number(count)) console.log(JSON.stringify({ ready: true }));
      }
    });
    response.on('end', () => ended++);
  });
  outgoing.on('error', () => undefined);
  outgoing.end();
  requests.push(outgoing);
}

for (let i = 0; i < Number(count); i++) open();

const finish = () => {
  console.log(JSON.stringify({ streams: Number(count), events, bytes, ended }));
  for (const outgoing of requests) outgoing.destroy();
  process.exit(0);
};
process.stdin.once('data', finish);
process.stdin.once('end', finish);
