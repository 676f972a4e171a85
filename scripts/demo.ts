/**
 * `npm run demo`: the whole system on one machine, no RunPod account needed. Starts the fake RunPod (REST v2,
 * GraphQL, serverless, pod proxy), a fake local ComfyUI, and the service pointed at them, then prints where
 * to look. Ctrl-C terminates the demo's (simulated) pods and exits.
 */
import 'reflect-metadata';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createApp, listen } from '../src/bootstrap';
import { loadConfig } from '../src/config/app-config';
import { dashboardDistDir } from '../src/http/dashboard.module';
import { FakeComfyUI } from '../test/sim/comfyui/fake-comfyui';
import { FakeRunPod } from '../test/sim/runpod/fake-runpod';

const DEMO_DATA_DIR = './data/demo';

/** The dashboard is served from web/dist; say so when it has not been built (the page at / says it too). */
function dashboardNote(): string {
  if (!existsSync(join(dashboardDistDir(), 'index.html'))) return '   (not built yet: run `npm run build:web`)';
  return process.env.API_KEY ? '   (sign in with API_KEY)' : '   (no API_KEY set: no sign-in needed on 127.0.0.1)';
}

async function main(): Promise<void> {
  // The simulated RunPod starts empty every time, so the demo's database starts empty too.
  rmSync(DEMO_DATA_DIR, { recursive: true, force: true });
  const port = Number(process.env.PORT ?? 8000);
  const fake = new FakeRunPod({ bootMs: Number(process.env.SIM_BOOT_MS ?? 8000) });
  await fake.start(Number(process.env.SIM_PORT ?? 8189));
  // Sampler steps slow enough that the dashboard's progress bars visibly move (SIM_SAMPLER_STEP_MS).
  const localComfy = new FakeComfyUI({ samplerStepMs: Number(process.env.SIM_SAMPLER_STEP_MS ?? 100) });
  const localUrl = await localComfy.listen(Number(process.env.SIM_COMFYUI_PORT ?? 8190));

  const env: Record<string, string | undefined> = {
    RUNPOD_API_KEY: fake.apiKey,
    RUNPOD_SERVERLESS_ENDPOINT_ID: fake.serverlessEndpointIds[0],
    RUNPOD_REST_URL: fake.restV2Url,
    RUNPOD_GRAPHQL_URL: fake.graphqlUrl,
    RUNPOD_SERVERLESS_URL: fake.serverlessBaseUrl,
    RUNPOD_POD_URL_TEMPLATE: fake.podUrlTemplate,
    RUNPOD_DOCKER_IMAGE: 'demo/comfyui:latest',
    LOCAL_COMFYUI_URLS: localUrl,
    DATA_DIR: DEMO_DATA_DIR,
    CLOUD_TICK_INTERVAL: '1000',
    ...process.env,
    PORT: String(port),
  };
  const app = await createApp({ config: loadConfig(env) });
  const url = await listen(app, port, '127.0.0.1');

  const workflow = JSON.stringify({
    workflow: {
      '1': { class_type: 'EmptyImage', inputs: { width: 512, height: 512, batch_size: 1, color: 16744448 } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'demo' } },
    },
  });
  const lines = [
    '',
    `  Dashboard:         ${url}/${dashboardNote()}`,
    '',
    'ComfyUI Cloud Workers demo is running against a simulated RunPod (nothing here costs money).',
    `  Swagger UI:        ${url}/api/docs`,
    `  Simulated RunPod:  ${fake.url}   (pods boot in ${(Number(process.env.SIM_BOOT_MS ?? 8000) / 1000).toFixed(0)} s)`,
    `  Local ComfyUI:     ${localUrl}`,
    '',
    'Try:',
    `  curl -X POST ${url}/api/jobs -H 'Content-Type: application/json' -d '${workflow}'`,
    `  curl ${url}/api/jobs                 # then GET /api/jobs/<id> and /api/jobs/<id>/outputs/demo_00001_.png`,
    `  curl ${url}/api/stats`,
    `  curl ${url}/api/cloud/status`,
    `  curl -X POST ${url}/api/cloud/spawn -H 'Content-Type: application/json' -d '{"gpuType": "NVIDIA RTX 4090"}'`,
    `  curl ${url}/api/cloud/pods`,
    `  curl ${url}/api/cloud/cost`,
    `  curl -X PUT ${url}/api/cloud/config -H 'Content-Type: application/json' -d '{"maxPods": 2}'`,
    `  curl -X POST ${url}/api/cloud/shutdown-all`,
    '',
    // The default policy (breakeven) sets each idle pod's timeout itself; CLOUD_IDLE_TIMEOUT is the seed rule's.
    'Idle pods are reaped by the break-even policy after their own idle timeout (about 3 minutes here;',
    'pods[].idleTimeout in /api/cloud/status). Ctrl-C stops everything.',
    '',
  ];
  console.log(lines.join('\n'));

  // Ctrl-C: the service terminates its (simulated) pods as it would real ones, then the process exits.
  app.enableShutdownHooks(['SIGINT', 'SIGTERM'], { useProcessExit: true });
}

main().catch((error: unknown) => {
  console.error('Demo failed:', error instanceof Error ? error.message : error);
  process.exit(1);
});
