import { HOUR, MINUTE } from '../src/common/clock';
import { CloudHarness } from './support/cloud-harness';
import { pngWorkflow } from './support/workflows';

const DAY = 24 * HOUR;
const iso = (ms: number) => new Date(ms).toISOString();
const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);

/**
 * GET /api/cloud/cost/history against the real service and the simulators, on this pass's database (SQLite,
 * or PostgreSQL with DATABASE_URL): a pod billed across an hour and a UTC midnight, a serverless job and a
 * local one, by hour and by day, as JSON and CSV, with the budget; and the range rules.
 */
describe('cost history', () => {
  let h: CloudHarness;
  let today: number;
  let podId: string;
  let costPerHour: number;

  beforeAll(async () => {
    h = await CloudHarness.start({
      localWorkers: 1,
      serverless: true,
      env: { CLOUD_DAILY_BUDGET_USD: '250' },
    });
    today = Date.UTC(
      new Date(h.clock.now()).getUTCFullYear(),
      new Date(h.clock.now()).getUTCMonth(),
      new Date(h.clock.now()).getUTCDate(),
    );

    // A local job and a serverless job complete around noon; a pod then runs past midnight.
    expect(
      (await h.waitForJob(await h.submit({ workflow: pngWorkflow('l'), backend: 'local' }))).status,
    ).toBe('completed');
    const serverless = await h.waitForJob(
      await h.submit({ workflow: pngWorkflow('s'), backend: 'serverless' }),
    );
    expect(serverless).toMatchObject({ status: 'completed', backend: 'serverless' });

    podId = await h.spawnReadyPod();
    const pod = (await h.get('/api/cloud/pods')).body.pods.find((p: any) => p.id === podId);
    costPerHour = pod.costPerHour;
    expect(costPerHour).toBeGreaterThan(0);
    h.clock.advance(12 * HOUR + 30 * MINUTE);
    // Accrues (or, the pod being idle, reaps and settles) up to the new now, past midnight.
    await h.tickUntil(
      async () => ((await h.get('/api/cloud/cost')).body.costByPod[podId] ?? 0) >= costPerHour * 12.4,
    );
  });

  afterAll(async () => {
    await h?.close();
  });

  it('by day, from the ledger: each backend and pod, jobs completed and cost per job, local at 0', async () => {
    const ledger = (await h.get('/api/cloud/cost')).body;
    const answer = await h.get(
      `/api/cloud/cost/history?granularity=day&from=${iso(today)}&to=${iso(today + 2 * DAY)}`,
    );
    expect(answer.status).toBe(200);
    const history = answer.body;
    expect(history).toMatchObject({
      from: iso(today),
      to: iso(today + 2 * DAY),
      granularity: 'day',
      currency: 'USD',
    });
    expect(history.buckets.map((bucket: any) => bucket.start)).toEqual([iso(today), iso(today + DAY)]);
    const [first, second] = history.buckets;
    expect(first.byPod[podId]).toBeGreaterThan(costPerHour * 11);
    expect(second.byPod[podId]).toBeGreaterThan(0);
    expect(first.byPod[podId] + second.byPod[podId]).toBeCloseTo(ledger.costByPod[podId], 5);
    expect(first.byBackend.serverless).toBeCloseTo(ledger.costByPod.serverless, 5);
    expect(first.byBackend.local).toBe(0);
    expect(first.jobsCompleted).toBe(2);
    expect(first.costPerJobUsd).toBeCloseTo(first.total / 2, 5);
    expect(second).toMatchObject({ jobsCompleted: 0, costPerJobUsd: null });
    expect(history.totals.local).toBe(0);
    expect(history.totals.total).toBeCloseTo(ledger.totalCost, 5);
    expect(history.totals.pods + history.totals.serverless).toBeCloseTo(history.totals.total, 5);
    expect(history.pods).toEqual([
      {
        podId,
        name: expect.stringMatching(/^comfyui-worker-/),
        gpuTypeId: expect.any(String),
        total: expect.closeTo(ledger.costByPod[podId], 5),
      },
    ]);
    expect(history.budget).toEqual({ dailyBudgetUsd: 250, spentTodayUsd: expect.any(Number) });
  });

  it("by hour, from the pod's rate and billed interval: hours add up to the day rows, a full hour costs the rate", async () => {
    const byDay = (
      await h.get(`/api/cloud/cost/history?granularity=day&from=${iso(today)}&to=${iso(today + 2 * DAY)}`)
    ).body;
    const answer = await h.get(
      `/api/cloud/cost/history?granularity=hour&from=${iso(today)}&to=${iso(today + 2 * DAY)}`,
    );
    expect(answer.status).toBe(200);
    const hours = answer.body.buckets as any[];
    expect(hours).toHaveLength(48);
    for (const [index, day] of (byDay.buckets as any[]).entries()) {
      const ofDay = hours.slice(index * 24, index * 24 + 24);
      expect(sum(ofDay.map((hour) => hour.byPod[podId] ?? 0))).toBeCloseTo(day.byPod[podId], 4);
      expect(sum(ofDay.map((hour) => hour.byBackend.serverless))).toBeCloseTo(day.byBackend.serverless, 5);
      expect(sum(ofDay.map((hour) => hour.jobsCompleted))).toBe(day.jobsCompleted);
    }
    // The hour before midnight and the one after are billed whole.
    expect(hours[23].byPod[podId]).toBeCloseTo(costPerHour, 5);
    expect(hours[23].start).toBe(iso(today + 23 * HOUR));
    expect(hours[0].total).toBe(0);
    // The serverless and local jobs ended in the noon hour.
    expect(hours[12].byBackend.serverless).toBeGreaterThan(0);
    expect(hours[12].jobsCompleted).toBe(2);
    expect(answer.body.totals.pods).toBeCloseTo(byDay.totals.pods, 4);
  });

  it('exports CSV, one row per bucket, with the JSON numbers', async () => {
    const query = `granularity=day&from=${iso(today - DAY)}&to=${iso(today + 2 * DAY)}`;
    const json = (await h.get(`/api/cloud/cost/history?${query}`)).body;
    const response = await fetch(`${h.url}/api/cloud/cost/history?${query}&format=csv`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="cost-day-.*\.csv"$/);
    const lines = (await response.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('start,total,local,serverless,pods,jobs_completed,cost_per_job');
    expect(lines).toHaveLength(json.buckets.length + 1);
    expect(lines[1]).toBe(`${iso(today - DAY)},0,0,0,0,0,`);
    const [start, total, local, serverless, pods, jobs, perJob] = lines[2].split(',');
    const bucket = json.buckets[1];
    expect([
      start,
      Number(total),
      Number(local),
      Number(serverless),
      Number(pods),
      Number(jobs),
      Number(perJob),
    ]).toEqual([
      bucket.start,
      bucket.total,
      0,
      bucket.byBackend.serverless,
      bucket.byBackend.pods,
      bucket.jobsCompleted,
      bucket.costPerJobUsd,
    ]);
  });

  it('defaults to the last 7 days by day and 48 hours by hour, ending with the current bucket', async () => {
    const now = h.clock.now();
    const byDay = (await h.get('/api/cloud/cost/history')).body;
    expect(byDay.granularity).toBe('day');
    expect(byDay.buckets).toHaveLength(8);
    expect(byDay.buckets.at(-1).start).toBe(iso(Math.floor(now / DAY) * DAY));
    const byHour = (await h.get('/api/cloud/cost/history?granularity=hour')).body;
    expect(byHour.buckets.length).toBeGreaterThanOrEqual(48);
    expect(byHour.buckets.length).toBeLessThanOrEqual(49);
    expect(byHour.buckets.at(-1).start).toBe(iso(Math.floor(h.clock.now() / HOUR) * HOUR));
  });

  it('refuses unbounded or malformed ranges with a 400 that says why', async () => {
    const refused: Array<[string, RegExp]> = [
      ['granularity=week', /granularity must be one of hour, day/],
      ['from=yesterday', /from must be an ISO 8601 time/],
      ['to=1764230000000', /to must be an ISO 8601 time/],
      [`from=${iso(today)}&to=${iso(today)}`, /from must be before to/],
      [`granularity=hour&from=${iso(today - 94 * DAY)}&to=${iso(today)}`, /at most 93 days/],
      [`granularity=day&from=${iso(today - 732 * DAY)}&to=${iso(today)}`, /at most 2 years/],
      ['format=xml', /format must be one of json, csv/],
    ];
    for (const [query, message] of refused) {
      const answer = await h.get(`/api/cloud/cost/history?${query}`);
      expect({ query, status: answer.status, message: answer.body.message }).toEqual({
        query,
        status: 400,
        message: expect.stringMatching(message),
      });
    }
    expect(
      (await h.get(`/api/cloud/cost/history?granularity=hour&from=${iso(today - 93 * DAY)}&to=${iso(today)}`))
        .status,
    ).toBe(200);
    expect(
      (await h.get(`/api/cloud/cost/history?from=${iso(today - 731 * DAY)}&to=${iso(today)}`)).status,
    ).toBe(200);
  });
});
