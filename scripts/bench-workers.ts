/**
 * Instant simulated ComfyUI workers for `bench:dispatch`, in their own process so they do not share the
 * service's event loop. Prints one JSON line `{"urls": [...]}` once listening; exits on SIGTERM.
 */
import { FakeComfyUI } from '../test/sim/comfyui/fake-comfyui';

async function main(): Promise<void> {
  const count = Number(process.argv[2] ?? 4);
  const workers = await Promise.all(
    Array.from({ length: count }, async () => {
      const comfy = new FakeComfyUI({ executionMsPerNode: 0 });
      await comfy.listen();
      return comfy;
    }),
  );
  console.log(JSON.stringify({ urls: workers.map((worker) => worker.url) }));
  process.once('SIGTERM', () => {
    void Promise.all(workers.map((worker) => worker.close())).then(() => process.exit(0));
  });
}

void main();
