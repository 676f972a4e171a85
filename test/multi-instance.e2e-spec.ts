import { FakeComfyUI } from './sim/comfyui/fake-comfyui';
import { FakeRunPod } from './sim/runpod/fake-runpod';
import { ServiceProcess } from './support/service-process';
import { TestDatabase } from './support/test-database';
import { slowWorkflow } from './support/workflows';
import { jobIdOfPrompt } from './support/prompts';

// Several instances need PostgreSQL (SQLite refuses a second instance; see sqlite-single-instance).
const postgresOnly = process.env.DATABASE_URL ? describe : describe.skip;

async function call(url: string, method = 'GET', body?: unknown): Promise<any> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return text ? JSON.parse(text) : undefined;
}

async function until(done: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

postgresOnly('two instances on one PostgreSQL', () => {
  let fake: FakeRunPod;
  let db: TestDatabase;
  const workers: FakeComfyUI[] = [];
  const services: ServiceProcess[] = [];

  beforeAll(async () => {
    fake = new FakeRunPod({ bootMs: 300 });
    await fake.start();
    for (let i = 0; i < 2; i++) {
      const worker = new FakeComfyUI({ samplerStepMs: 30 });
      await worker.listen();
      workers.push(worker);
    }
    db = new TestDatabase();
  });

  afterAll(async () => {
    for (const service of services) service.kill();
    for (const worker of workers) await worker.close();
    await fake.stop();
    await db.drop();
  });

  it('share the API, elect one leader, and survive the leader being killed mid-run', async () => {
    const env = {
      ...db.env(),
      RUNPOD_API_KEY: fake.apiKey,
      RUNPOD_REST_URL: fake.restV2Url,
      RUNPOD_GRAPHQL_URL: fake.graphqlUrl,
      RUNPOD_SERVERLESS_URL: fake.serverlessBaseUrl,
      RUNPOD_POD_URL_TEMPLATE: fake.podUrlTemplate,
      RUNPOD_DOCKER_IMAGE: 'example/comfyui:latest',
      LOCAL_COMFYUI_URLS: workers.map((worker) => worker.url).join(','),
      CLOUD_TICK_INTERVAL: '200',
      JOBS_DISPATCH_INTERVAL: '200',
      LOCAL_HEALTH_INTERVAL: '200',
      LEADER_ELECTION_INTERVAL: '500',
      // The subject is failover, counted in pods: the seed's threshold rule spawns none for this queue. (The
      // break-even policy would, rationally, with the fake's 0.3 s boots: cloud-breakeven.e2e-spec.ts covers it.)
      CLOUD_POLICY: 'seed',
    };
    const a = new ServiceProcess(env);
    services.push(a);
    const urlA = await a.start(60000);
    const b = new ServiceProcess(env);
    services.push(b);
    const urlB = await b.start(60000);

    const leaders = [(await call(`${urlA}/health`)).leader, (await call(`${urlB}/health`)).leader];
    expect(leaders.filter(Boolean)).toHaveLength(1);
    const [leader, follower, followerUrl] = leaders[0] ? [a, b, urlB] : [b, a, urlA];

    // Jobs submitted to both instances; a pod requested through the follower.
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const job = await call(`${i % 2 ? urlA : urlB}/api/jobs`, 'POST', { workflow: slowWorkflow(25, i) });
      ids.push(job.id);
    }
    const spawn = await call(`${followerUrl}/api/cloud/spawn?wait=false`, 'POST', {});
    expect(spawn.pod.status).toBe('starting');

    await until(async () => (await call(`${followerUrl}/api/jobs?status=running`)).count > 0, 20000);
    leader.kill(); // SIGKILL, mid-run
    const killedAt = Date.now();
    await until(async () => (await call(`${followerUrl}/health`)).leader === true, 20000);
    const failoverMs = Date.now() - killedAt;
    console.log(`failover took ${failoverMs} ms`);
    expect(failoverMs).toBeLessThan(15000);

    // Every job ends, completed; none ran more often than its attempts say.
    await until(async () => (await call(`${followerUrl}/api/jobs?status=completed`)).count === 6, 60000);
    for (const id of ids) {
      const job = await call(`${followerUrl}/api/jobs/${id}`);
      const comfyUis = [...workers, ...fake.listAllPods().map((pod) => fake.podComfy(pod.id) as FakeComfyUI)];
      const prompts = comfyUis
        .flatMap((comfy) => comfy.prompts)
        .filter((p) => p.status === 200 && jobIdOfPrompt(p) === id);
      expect(prompts.length).toBeGreaterThanOrEqual(1);
      expect(prompts.length).toBeLessThanOrEqual(job.attempts);
    }

    // The pod is managed by the new leader: ready, then shut down; nothing leaked, no double spawn.
    await until(
      async () => (await call(`${followerUrl}/api/cloud/status`)).pods.some((p: any) => p.status === 'ready'),
      20000,
    );
    expect(fake.listAllPods()).toHaveLength(1);
    await call(`${followerUrl}/api/cloud/shutdown-all`, 'POST', {});
    expect(fake.runningPods()).toEqual([]);
    expect(await follower.signal('SIGTERM')).toBe(0);
  }, 180000);
});
