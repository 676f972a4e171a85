import { FakeRunPod } from './sim/runpod/fake-runpod';
import { ServiceProcess } from './support/service-process';
import { TestDatabase } from './support/test-database';

async function json(url: string, method = 'GET'): Promise<any> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: method === 'POST' ? '{}' : undefined,
  });
  return response.json();
}

/** The service as its own process: SIGTERM terminates our pods (CLOUD_TERMINATE_ON_SHUTDOWN) and exits 0. */
describe('SIGTERM', () => {
  let fake: FakeRunPod;
  let db: TestDatabase;
  let service: ServiceProcess | undefined;

  beforeEach(async () => {
    fake = new FakeRunPod({ bootMs: 200 });
    await fake.start();
    db = new TestDatabase();
  });

  afterEach(async () => {
    service?.kill();
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
      ...db.env(),
      ...extra,
    };
  }

  it('terminates our pods and exits 0', async () => {
    service = new ServiceProcess(env());
    const url = await service.start();
    const spawn = await json(`${url}/api/cloud/spawn`, 'POST');
    expect(spawn.pod.status).toBe('ready');
    expect(fake.runningPods()).toHaveLength(1);

    expect(await service.signal('SIGTERM')).toBe(0);
    expect(fake.runningPods()).toEqual([]);
    expect(service.output).toMatch(/SIGTERM: terminating our pods before exit/);
    expect(service.output).toMatch(new RegExp(`Pod ${spawn.pod.id} terminated\\. Cost: \\$`));
  });

  it('with CLOUD_TERMINATE_ON_SHUTDOWN=false leaves pods running, and the next start manages them again', async () => {
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
  });
});
