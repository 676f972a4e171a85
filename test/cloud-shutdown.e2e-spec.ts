import { FakeRunPod } from './sim/runpod/fake-runpod';
import { FakeComfyUI } from './sim/comfyui/fake-comfyui';
import { ServiceProcess } from './support/service-process';
import { slowWorkflow } from './support/workflows';
import { TestDatabase } from './support/test-database';

async function jsonBody(url: string, body: unknown): Promise<any> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return response.json();
}

async function json(url: string, method = 'GET'): Promise<any> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: method === 'POST' ? '{}' : undefined,
  });
  return response.json();
}

/** Each test boots the service (ts-node) once or twice: on a busy machine that alone can take a minute. */
const TEST_TIMEOUT_MS = 120_000;

/** The service as its own process: SIGTERM terminates our pods (CLOUD_TERMINATE_ON_SHUTDOWN) and exits 0. */
describe('SIGTERM', () => {
  let fake: FakeRunPod;
  let db: TestDatabase;
  let worker: FakeComfyUI;
  let service: ServiceProcess | undefined;

  beforeEach(async () => {
    fake = new FakeRunPod({ bootMs: 200 });
    await fake.start();
    worker = new FakeComfyUI({ samplerStepMs: 50 });
    await worker.listen();
    db = new TestDatabase();
  });

  afterEach(async () => {
    service?.kill();
    await worker.close();
    await fake.stop();
    await db.drop();
  });

  function env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      RUNPOD_API_KEY: fake.apiKey,
      RUNPOD_REST_URL: fake.restV2Url,
      RUNPOD_GRAPHQL_URL: fake.graphqlUrl,
      RUNPOD_SERVERLESS_URL: fake.serverlessBaseUrl,
      RUNPOD_POD_URL_TEMPLATE: fake.podUrlTemplate,
      RUNPOD_DOCKER_IMAGE: 'example/comfyui:latest',
      CLOUD_TICK_INTERVAL: '100',
      JOBS_DISPATCH_INTERVAL: '100',
      LOCAL_COMFYUI_URLS: worker.url,
      ...db.env(),
      ...extra,
    };
  }

  it(
    'terminates our pods and exits 0',
    async () => {
      service = new ServiceProcess(env());
      const url = await service.start();
      const spawn = await json(`${url}/api/cloud/spawn`, 'POST');
      expect(spawn.pod.status).toBe('ready');
      expect(fake.runningPods()).toHaveLength(1);

      expect(await service.signal('SIGTERM')).toBe(0);
      expect(fake.runningPods()).toEqual([]);
      expect(service.output).toMatch(/SIGTERM: terminating our pods before exit/);
      expect(service.output).toMatch(new RegExp(`Pod ${spawn.pod.id} terminated\\. Cost: \\$`));
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'with CLOUD_TERMINATE_ON_SHUTDOWN=false leaves pods running, and the next start manages them again',
    async () => {
      service = new ServiceProcess(env({ CLOUD_TERMINATE_ON_SHUTDOWN: 'false' }));
      const url = await service.start();
      const spawn = await json(`${url}/api/cloud/spawn`, 'POST');
      expect(await service.signal('SIGTERM')).toBe(0);
      expect(fake.runningPods().map((pod) => pod.id)).toEqual([spawn.pod.id]);

      service = new ServiceProcess(env());
      const again = await service.start();
      const status = await json(`${again}/api/cloud/status`);
      expect(status.pods).toEqual([expect.objectContaining({ id: spawn.pod.id, status: 'ready' })]);
      expect(await service.signal('SIGTERM')).toBe(0);
      expect(fake.runningPods()).toEqual([]);
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'takes no new job while draining (503), lets the running job finish, then exits 0',
    async () => {
      service = new ServiceProcess(env({ SHUTDOWN_GRACE_PERIOD: '20000' }));
      const url = await service.start();
      const job = await jsonBody(`${url}/api/jobs`, { workflow: slowWorkflow(30) });
      while ((await json(`${url}/api/jobs/${job.id}`)).status !== 'running')
        await new Promise((r) => setTimeout(r, 50));

      const exited = service.signal('SIGTERM');
      // The child handles the signal when the OS schedules it, which a fixed 200 ms sleep does not guarantee on a
      // busy machine: submit until it refuses. A job accepted before that is legitimately taken.
      const submitJob = () =>
        fetch(`${url}/api/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ workflow: slowWorkflow(1) }),
        });
      const deadline = Date.now() + 15_000;
      let refused = await submitJob();
      while (refused.status === 202 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        refused = await submitJob();
      }
      expect(refused.status).toBe(503);
      expect(((await refused.json()) as any).message).toMatch(/shutting down/);
      expect(await exited).toBe(0);

      service = new ServiceProcess(env());
      const again = await service.start();
      expect(await json(`${again}/api/jobs/${job.id}`)).toMatchObject({ status: 'completed', attempts: 1 });
    },
    TEST_TIMEOUT_MS,
  );

  it(
    'hands a job that outlives the grace period to the next start, which re-attaches it (not run twice)',
    async () => {
      service = new ServiceProcess(env({ SHUTDOWN_GRACE_PERIOD: '100' }));
      const url = await service.start();
      const job = await jsonBody(`${url}/api/jobs`, { workflow: slowWorkflow(60) });
      while (((await json(`${url}/api/jobs/${job.id}`)).progress?.value ?? 0) === 0)
        await new Promise((r) => setTimeout(r, 50));
      expect(await service.signal('SIGTERM')).toBe(0);

      service = new ServiceProcess(env());
      const again = await service.start();
      let final: any;
      do {
        await new Promise((r) => setTimeout(r, 100));
        final = await json(`${again}/api/jobs/${job.id}`);
      } while (final.status === 'running' || final.status === 'queued');
      expect(final).toMatchObject({ status: 'completed', attempts: 1 });
      expect(worker.prompts.filter((prompt: any) => prompt.status === 200)).toHaveLength(1);
    },
    TEST_TIMEOUT_MS,
  );
});
