/**
 * Simulated ComfyUI workers for `bench:dispatch`, in their own process so they do not share the service's
 * event loop. `bench-workers.ts <instant> <busy>`: `instant` workers run a prompt at once (0 ms per node);
 * `busy` workers take an hour per node, so every job sent to them stays running for the whole benchmark.
 * Also a fake RunPod (pods only: its serverless endpoint is left out of the env).
 * Prints one JSON line `{"instant": [...urls], "busy": [...urls], "runpodEnv": {...}}` once listening; exits
 * on SIGTERM.
 */
import { FakeComfyUI } from '../test/sim/comfyui/fake-comfyui';
import { FakeRunPod } from '../test/sim/runpod/fake-runpod';

async function start(count: number, executionMsPerNode: number): Promise<FakeComfyUI[]> {
  return Promise.all(
    Array.from({ length: count }, async () => {
      const comfy = new FakeComfyUI({ executionMsPerNode });
      await comfy.listen();
      return comfy;
    }),
  );
}

async function main(): Promise<void> {
  const instant = await start(Number(process.argv[2] ?? 4), 0);
  const busy = await start(Number(process.argv[3] ?? 0), 3_600_000);
  const runpod = new FakeRunPod();
  await runpod.start();
  const { RUNPOD_SERVERLESS_ENDPOINT_ID: _serverless, ...runpodEnv } = runpod.serviceEnv();
  console.log(
    JSON.stringify({
      instant: instant.map((worker) => worker.url),
      busy: busy.map((worker) => worker.url),
      runpodEnv,
    }),
  );
  process.once('SIGTERM', () => {
    void Promise.all([...instant, ...busy].map((worker) => worker.close()))
      .then(() => runpod.stop())
      .then(() => process.exit(0));
  });
}

void main();
