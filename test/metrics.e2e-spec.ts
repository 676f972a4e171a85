import { HOUR } from '../src/common/clock';
import { CloudHarness } from './support/cloud-harness';
import { pngWorkflow, slowWorkflow } from './support/workflows';

const ADMIN_KEY = 'metrics-admin-key';
const READ_KEY = 'metrics-read-key';

/** The samples of a Prometheus text exposition: `name{labels}` -> value. */
function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match) samples.set(match[1], Number(match[2]));
  }
  return samples;
}

describe('GET /metrics (Prometheus)', () => {
  let h: CloudHarness;

  beforeAll(async () => {
    h = await CloudHarness.start({
      localWorkers: 1,
      env: { API_KEY: ADMIN_KEY, API_READ_KEY: READ_KEY, CLOUD_DAILY_BUDGET_USD: '25' },
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  async function scrape(
    key = READ_KEY,
  ): Promise<{ status: number; type: string | null; samples: Map<string, number>; text: string }> {
    const response = await fetch(`${h.url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    const text = await response.text();
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      samples: parseSamples(text),
      text,
    };
  }

  const admin = { authorization: `Bearer ${ADMIN_KEY}` };

  it('answers the read-only key (Prometheus sends it as a bearer token) and refuses no key', async () => {
    const answer = await scrape(READ_KEY);
    expect(answer.status).toBe(200);
    expect(answer.type).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(answer.samples.get('cloud_workers_leader')).toBe(1);
    expect(answer.samples.get('cloud_workers_budget_limit_usd')).toBe(25);
    expect(answer.samples.get('cloud_workers_budget_remaining_usd')).toBe(25);
    expect((await fetch(`${h.url}/metrics`)).status).toBe(401);
    expect((await scrape(ADMIN_KEY)).status).toBe(200);
  });

  it('counts a finished local job, its wait and run time, and its ComfyUI calls', async () => {
    const submitted = await h.request('POST', '/api/jobs', { workflow: pngWorkflow('m') }, admin);
    expect(submitted.status).toBe(202);
    await h.until(
      async () => (await h.get(`/api/jobs/${submitted.body.id}`, admin)).body.status === 'completed',
    );
    // The wait-time observation reads the job's submission time off the dispatcher's path: wait for it.
    await h.until(
      async () =>
        ((await scrape()).samples.get('cloud_workers_job_wait_seconds_count{backend="local"}') ?? 0) >= 1,
    );
    const { samples } = await scrape();
    expect(samples.get('cloud_workers_jobs_finished_total{status="completed",backend="local"}')).toBe(1);
    expect(samples.get('cloud_workers_job_run_seconds_count{backend="local"}')).toBe(1);
    expect(samples.get('cloud_workers_queue_depth')).toBe(0);
    expect(samples.get('cloud_workers_jobs{status="running",backend="none"}')).toBe(0);
    expect(
      samples.get('cloud_workers_comfyui_requests_total{method="POST",endpoint="/prompt",result="ok"}'),
    ).toBe(1);
    expect(
      samples.get('cloud_workers_comfyui_request_duration_seconds_count{method="POST",endpoint="/prompt"}'),
    ).toBe(1);
  });

  it('shows running and queued jobs by status and backend', async () => {
    // One local worker runs one job at a time: a long job holds it, the next one waits in the queue.
    const long = await h.request(
      'POST',
      '/api/jobs',
      { workflow: slowWorkflow(400), backend: 'local' },
      admin,
    );
    await h.until(async () => (await h.get(`/api/jobs/${long.body.id}`, admin)).body.status === 'running');
    const waiting = await h.request(
      'POST',
      '/api/jobs',
      { workflow: pngWorkflow('q'), backend: 'local' },
      admin,
    );
    expect(waiting.status).toBe(202);
    const { samples } = await scrape();
    expect(samples.get('cloud_workers_queue_depth')).toBe(1);
    expect(samples.get('cloud_workers_jobs{status="queued",backend="none"}')).toBe(1);
    expect(samples.get('cloud_workers_jobs{status="running",backend="local"}')).toBe(1);
    await h.request('DELETE', `/api/jobs/${waiting.body.id}`, undefined, admin);
    await h.request('DELETE', `/api/jobs/${long.body.id}`, undefined, admin);
    await h.until(async () => (await h.get(`/api/jobs/${long.body.id}`, admin)).body.status === 'cancelled');
    const after = (await scrape()).samples;
    expect(after.get('cloud_workers_queue_depth')).toBe(0);
    expect(after.get('cloud_workers_jobs{status="running",backend="local"}')).toBeUndefined();
    expect(
      after.get('cloud_workers_jobs_finished_total{status="cancelled",backend="none"}'),
    ).toBeGreaterThanOrEqual(1);
  });

  it('counts a pod spawn, its state, its RunPod calls and its spend', async () => {
    const waiting = h.request('POST', '/api/cloud/spawn', {}, admin);
    let answered = false;
    void waiting.finally(() => (answered = true));
    await h.tickUntil(() => answered);
    const spawn = await waiting;
    expect(spawn.status).toBe(201);
    let { samples } = await scrape();
    expect(samples.get('cloud_workers_pods{state="ready"}')).toBe(1);
    expect(samples.get('cloud_workers_pods{state="busy"}')).toBe(0);
    expect(samples.get('cloud_workers_pod_events_total{event="spawned"}')).toBe(1);
    expect(samples.get('cloud_workers_pod_events_total{event="ready"}')).toBe(1);
    expect(samples.get('cloud_workers_pod_boot_seconds_count')).toBe(1);
    expect(
      samples.get('cloud_workers_runpod_requests_total{method="POST",result="ok"}'),
    ).toBeGreaterThanOrEqual(1);
    expect(
      samples.get('cloud_workers_runpod_request_duration_seconds_count{method="POST"}'),
    ).toBeGreaterThanOrEqual(1);

    // An hour of billing, written to the ledger by a tick, then terminated.
    h.clock.advance(HOUR);
    await h.tick();
    const terminated = await h.request('POST', `/api/cloud/terminate/${spawn.body.pod.id}`, {}, admin);
    expect(terminated.status).toBe(200);
    const cost = h.fake.getPod(spawn.body.pod.id)!.billedUsd();
    ({ samples } = await scrape());
    expect(samples.get('cloud_workers_pods{state="ready"}')).toBe(0);
    expect(samples.get('cloud_workers_pod_events_total{event="terminated"}')).toBe(1);
    expect(samples.get('cloud_workers_spend_usd_total{backend="pod"}')).toBeCloseTo(cost, 4);
    expect(samples.get('cloud_workers_spend_usd_total{backend="serverless"}')).toBe(0);
    expect(samples.get('cloud_workers_budget_spent_today_usd')).toBeCloseTo(cost, 4);
    expect(samples.get('cloud_workers_budget_remaining_usd')).toBeCloseTo(25 - cost, 4);
  });
});
