/**
 * Starts the RunPod simulator (REST v2, GraphQL, serverless + worker-comfyui, pod proxy) on a fixed port and
 * prints how to point the service at it. `npm run sim` (ts-node). Env:
 *   SIM_PORT (default 8189), SIM_API_KEY (default sim-key), SIM_BOOT_MS (pod boot time, default 2000),
 *   SIM_SERVERLESS_WORKERS (workers per endpoint, default 1), SIM_HOST (default 127.0.0.1).
 * The demo imports FakeRunPod directly instead: `const fake = new FakeRunPod(); await fake.start(port)`.
 */
import { FakeRunPod } from './runpod/fake-runpod';

async function main(): Promise<void> {
  const port = Number(process.env.SIM_PORT ?? 8189);
  const fake = new FakeRunPod({
    apiKey: process.env.SIM_API_KEY ?? 'sim-key',
    bootMs: Number(process.env.SIM_BOOT_MS ?? 2000),
    serverlessWorkersPerEndpoint: Number(process.env.SIM_SERVERLESS_WORKERS ?? 1),
    host: process.env.SIM_HOST ?? '127.0.0.1',
  });
  const url = await fake.start(port);
  const lines = [
    `FakeRunPod listening on ${url}`,
    `  REST v2     ${fake.restV2Url}/pods`,
    `  GraphQL     ${fake.graphqlUrl}`,
    `  Serverless  ${fake.serverlessBaseUrl}/{endpointId}/run   endpoints: ${fake.serverlessEndpointIds.join(', ')}`,
    `  Pod proxy   ${fake.podUrlTemplate}`,
    '',
    'Point the service at it with:',
    ...Object.entries(fake.serviceEnv()).map(([k, v]) => `  export ${k}='${v}'`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  let stopping = false;
  const shutdown = (): void => {
    if (stopping) return;
    stopping = true;
    fake.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        process.stderr.write(`error while stopping: ${String(e)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

main().catch((e: unknown) => {
  process.stderr.write(`FakeRunPod failed to start: ${e instanceof Error ? e.stack : String(e)}\n`);
  process.exit(1);
});
