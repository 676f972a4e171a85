import type { Browser, BrowserContext, Page } from 'playwright-core';
import { CloudHarness } from '../support/cloud-harness';
import { pngWorkflow } from '../support/workflows';
import { describeInBrowser, launchChromium, screenshot, watchPage } from './support/chromium';

const ADMIN_KEY = 'routing-admin-key-0123456789';
const STEP_MS = 60_000;
/** The browser's zone: +05:30 all year (no DST), so a wrong offset in the deadline shows as 5.5 h off. */
const TIME_ZONE = 'Asia/Kolkata';
const ZONE_OFFSET_MS = 330 * 60_000;

/**
 * Issue 11 §3 in the dashboard: the submit form's "Complete by" and "Max cost", its Quote, the 422 when no
 * backend can meet the deadline, a job's deadline on its page, and the routing preference under Controls.
 * Pods are cheaper than serverless here and a new pod is slower (as in test/routing-deadlines.e2e-spec.ts); no
 * local worker. The service's clock is the harness's (noon UTC today), not the browser's: deadlines are typed
 * from the service's time, as the browser's local time.
 */
describeInBrowser('dashboard: deadlines, cost caps and the routing preference', () => {
  let harness: CloudHarness;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let watched: { errors: string[]; foreign: string[] };

  const auth = { authorization: `Bearer ${ADMIN_KEY}` };
  const api = async <T = any>(method: string, path: string, body?: unknown): Promise<T> => {
    const answer = await harness.request<T>(method, path, body, auth);
    if (answer.status >= 400)
      throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  /** What a datetime-local input in TIME_ZONE shows for `ms` (whole seconds, rounded down). */
  const localInput = (ms: number) => new Date(ms + ZONE_OFFSET_MS).toISOString().slice(0, 19);
  /** The quote's serverless and new-pod candidates for the workflow, as the API answers now. */
  const candidates = async (workflow: Record<string, unknown>) => {
    const quote = await api('POST', '/api/jobs/quote', { workflow });
    return {
      serverless: quote.candidates.find((c: any) => c.backend === 'serverless'),
      pod: quote.candidates.find((c: any) => c.kind === 'new-pod'),
    };
  };
  const fillForm = async (workflow: Record<string, unknown>, deadlineMs: number | null) => {
    await page.getByLabel(/^Workflow JSON/).fill(JSON.stringify(workflow));
    await page.getByLabel('Complete by').fill(deadlineMs === null ? '' : localInput(deadlineMs));
  };

  beforeAll(async () => {
    harness = await CloudHarness.start({
      serverless: true,
      env: {
        API_KEY: ADMIN_KEY,
        RUNPOD_SERVERLESS_PRICE_PER_SECOND: '0.02',
        CLOUD_IDLE_TIMEOUT: '60000',
        CLOUD_PREFER_SERVERLESS: 'false',
        RATE_LIMIT_CREATE_PER_MINUTE: '1000',
      },
    });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1366, height: 900 }, timezoneId: TIME_ZONE });
    page = await context.newPage();
    watched = watchPage(page, harness.url);
    await page.goto(harness.url);
    await page.getByLabel('API key').fill(ADMIN_KEY);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Jobs', exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Jobs' }).waitFor();
  }, STEP_MS);

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  }, STEP_MS);

  afterEach(() => {
    expect(watched.errors).toEqual([]);
    expect(watched.foreign).toEqual([]);
  });

  it(
    'quotes a job with a deadline only serverless can meet: every candidate, and serverless picked with why',
    async () => {
      const workflow = pngWorkflow('quoted');
      const { serverless, pod } = await candidates(workflow);
      const deadline = (Date.parse(serverless.completeAt) + Date.parse(pod.completeAt)) / 2;
      await fillForm(workflow, deadline);
      await page.getByLabel('Max cost (USD)').fill('5');
      await page.getByRole('button', { name: 'Quote' }).click();

      const quote = page.getByTestId('quote');
      await quote.waitFor();
      const rows = quote.locator('tbody tr');
      const texts = await rows.allTextContents();
      expect(texts.some((text) => text.startsWith('serverless'))).toBe(true);
      expect(texts.some((text) => text.startsWith('pod (new-pod)'))).toBe(true);
      // Each row: backend, class, start, completion, cost.
      expect(await rows.first().getByRole('cell').count()).toBe(5);
      const picked = quote.locator('tr[data-picked=true]');
      expect(await picked.count()).toBe(1);
      expect(await picked.textContent()).toMatch(/^serverless .*· pick/);
      // The body carried the deadline with the browser's offset: the service read the same instant.
      expect(await page.getByTestId('quote-pick').textContent()).toContain(
        `the cheapest candidate that can complete by ${new Date(Math.floor(deadline / 1000) * 1000).toISOString()}`,
      );
      await screenshot(page, 'routing-01-quote');
    },
    STEP_MS,
  );

  it(
    'says in words that no backend can finish by an impossible deadline, naming the fastest option',
    async () => {
      const workflow = pngWorkflow('too-soon');
      const { serverless } = await candidates(workflow);
      const now = harness.clock.now();
      // Before serverless (the fastest) could complete, and far enough ahead to be in the future at submit.
      const deadline = now + Math.min(20_000, (Date.parse(serverless.completeAt) - now) / 2);
      expect(deadline - now).toBeGreaterThanOrEqual(3_000);
      await fillForm(workflow, deadline);
      await page.getByLabel('Max cost (USD)').fill('');
      const before = (await api('GET', '/api/jobs')).count;
      await page.getByRole('button', { name: 'Submit job' }).click();

      const refused = page.getByTestId('infeasible');
      await refused.waitFor();
      expect(await refused.getAttribute('role')).toBe('alert');
      expect(await refused.textContent()).toMatch(
        /^No backend can finish by .+; the fastest is serverless \(serverless:.+\) at .+ for \$\d+\.\d{4}\.$/,
      );
      expect(page.url()).toMatch(/\/jobs$/);
      expect((await api('GET', '/api/jobs')).count).toBe(before);
      await screenshot(page, 'routing-02-infeasible');
    },
    STEP_MS,
  );

  it(
    "shows a job's deadline, cap and planned backend on its page, and that the deadline was met",
    async () => {
      const workflow = pngWorkflow('on-time');
      const { serverless, pod } = await candidates(workflow);
      const deadline =
        Math.floor((Date.parse(serverless.completeAt) + Date.parse(pod.completeAt)) / 2000) * 1000;
      await fillForm(workflow, deadline);
      await page.getByLabel('Max cost (USD)').fill('2.5');
      await page.getByRole('button', { name: 'Submit job' }).click();
      await page.waitForURL(/\/jobs\/job-/);
      const jobId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);

      const job = await api('GET', `/api/jobs/${jobId}`);
      expect(job).toMatchObject({
        deadline: new Date(deadline).toISOString(),
        maxCostUsd: 2.5,
        plannedBackend: 'serverless',
      });
      const fact = async (name: string) =>
        (await page.locator(`dl.facts dt:text-is("${name}") + dd`).textContent())?.trim();
      await page.locator('[data-testid=job-status][data-status=completed]').waitFor({ timeout: 30_000 });
      await page.getByTestId('deadline-met').waitFor();
      expect(await page.locator(`dl.facts time[datetime="${job.deadline}"]`).count()).toBe(1);
      expect(await fact('Max cost')).toBe('$2.5000');
      expect(await fact('Planned backend')).toBe('serverless');
      expect(await fact('Deadline met')).toBe('yes');
      await screenshot(page, 'routing-03-job-deadline');
    },
    STEP_MS,
  );

  it(
    'saves the routing preference from Controls; the status and the submit form show it',
    async () => {
      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Controls', exact: true })
        .click();
      await page.getByRole('heading', { level: 1, name: 'Controls' }).waitFor();
      const select = page.getByLabel('Routing preference');
      expect(await select.inputValue()).toBe('balanced');
      expect(await select.getAttribute('aria-describedby')).toBe('config-routingPreference-hint');
      await select.focus();
      await select.selectOption('speed');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      expect((await api('GET', '/api/cloud/status')).config.routingPreference).toBe('speed');

      await page
        .getByRole('navigation', { name: 'Main' })
        .getByRole('link', { name: 'Jobs', exact: true })
        .click();
      await page.getByText('the earliest completion (routing preference "speed")').waitFor();
    },
    STEP_MS,
  );
});
