import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { COST_HISTORY_CSV_HEADER } from '../../src/cloud/cost-history.csv';
import { dashboardDistDir } from '../../src/http/dashboard.module';
import { JobsRepository } from '../../src/persistence/jobs.repository';
import { FakeComfyUI } from '../sim/comfyui/fake-comfyui';
import { encodePng, solidFrame } from '../sim/comfyui/media';
import { CloudHarness } from '../support/cloud-harness';
import { pngWorkflow, slowWorkflow, videoWorkflow } from '../support/workflows';
import { describeInBrowser, launchChromium, screenshot, watchPage } from './support/chromium';

// Functions given to page.evaluate run in the page. The service's tsconfig has no DOM library, so the few page
// globals they use are declared here, in this module's scope only.
declare const document: any;
declare const window: any;
declare const sessionStorage: any;
declare const localStorage: any;
declare function getComputedStyle(element: unknown): { outlineStyle: string };

const ADMIN_KEY = 'dashboard-admin-key-0123456789';
const READ_KEY = 'dashboard-read-key-0123456789';
const WIDE = { width: 1366, height: 900 };
const PHONE = { width: 390, height: 844 };
/** Per test: a busy 2-core machine boots pods and runs jobs slowly; each wait inside is on a condition. */
const STEP_MS = 90_000;

/**
 * The dashboard in a real browser against the real service (CloudHarness: fake RunPod, one fake local
 * ComfyUI). The specs run in order and share one service: the queue, a pod, jobs and their cost build up as
 * they go. Every wait is on a condition in the page or the API, never a fixed sleep.
 */
describeInBrowser('dashboard in a browser', () => {
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
  const apiPods = async (): Promise<any[]> => (await api<{ pods: any[] }>('GET', '/api/cloud/pods')).pods;
  /** The harness's own helpers send no key; these do. */
  const waitForJob = async (id: string) => {
    const ended = ['completed', 'failed', 'cancelled'];
    await harness.until(async () => ended.includes((await api('GET', `/api/jobs/${id}`)).status), 30_000);
    return api('GET', `/api/jobs/${id}`);
  };
  const spawnReadyPod = async (): Promise<string> => {
    const { pod } = await api<{ pod: { id: string } }>('POST', '/api/cloud/spawn?wait=false');
    await harness.tickUntil(
      async () => (await apiPods()).some((p) => p.id === pod.id && p.state === 'ready'),
      30_000,
    );
    return pod.id;
  };

  /** Client-side navigation through the main menu (no reload). */
  const openTab = async (label: string) => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: label, exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: label }).waitFor();
  };

  beforeAll(async () => {
    harness = await CloudHarness.start({
      localWorkers: 1,
      // Slow enough sampler steps that the progress bar is seen between 0 and 100.
      localComfy: { samplerStepMs: 120 },
      env: {
        API_KEY: ADMIN_KEY,
        API_READ_KEY: READ_KEY,
        CLOUD_DAILY_BUDGET_USD: '5',
        // The dashboard's own requests (one page, a few snapshots a second) stay far below this.
        RATE_LIMIT_CREATE_PER_MINUTE: '1000',
      },
    });
    browser = await launchChromium();
    context = await browser.newContext({ viewport: WIDE });
    page = await context.newPage();
    watched = watchPage(page, harness.url);
  }, STEP_MS);

  afterAll(async () => {
    await browser?.close();
    await harness?.close();
  }, STEP_MS);

  afterEach(() => {
    // No script error, no CSP refusal, nothing fetched from another origin, whatever the test did.
    expect(watched.errors).toEqual([]);
    expect(watched.foreign).toEqual([]);
  });

  it(
    'signs in with the keyboard; the key is kept in sessionStorage and never put in a URL',
    async () => {
      await page.goto(harness.url);
      const keyInput = page.getByLabel('API key');
      await keyInput.waitFor();
      await screenshot(page, '01-sign-in');
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-key');
      await page.keyboard.type('not-the-key');
      await page.keyboard.press('Enter');
      await page.getByRole('alert').filter({ hasText: 'does not accept this key' }).waitFor();

      await keyInput.fill('');
      await keyInput.focus();
      await page.keyboard.type(ADMIN_KEY);
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const element = document.activeElement;
        return { text: element.textContent, outline: getComputedStyle(element).outlineStyle };
      });
      expect(focused.text).toBe('Sign in');
      expect(focused.outline).not.toBe('none');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
      expect(await page.getByTestId('role').textContent()).toBe('admin');
      expect(page.url()).not.toContain(ADMIN_KEY);
      expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(ADMIN_KEY);
      expect(await page.evaluate(() => Object.values(localStorage))).not.toContain(ADMIN_KEY);
    },
    STEP_MS,
  );

  let queuedJobId = '';

  it(
    'shows the local worker and the queue with its waiting reason',
    async () => {
      await page.locator('[data-worker-id]').filter({ hasText: 'healthy' }).first().waitFor();
      // Its GPU as the fake ComfyUI's /system_stats reports it (an RTX 4090, 25.4 GB).
      await page
        .locator('[data-worker-id]')
        .filter({ hasText: 'NVIDIA GeForce RTX 4090, 22.4 / 23.6 GiB free' })
        .waitFor();
      // Its models as the fake ComfyUI's GET /models/checkpoints lists them (read by the service, not the page).
      const checkpoints = (await (
        await fetch(`${harness.locals[0].url}/models/checkpoints`)
      ).json()) as string[];
      expect(checkpoints.length).toBeGreaterThan(0);
      await page.locator('[data-worker-id]').filter({ hasText: checkpoints[0] }).waitFor();
      // A job for pods only, with no pod and no control-loop tick: it waits in the queue.
      queuedJobId = (await api('POST', '/api/jobs', { workflow: pngWorkflow('queued'), backend: 'pod' })).id;
      const queueCard = page.locator('#queue');
      await queueCard.getByRole('link', { name: queuedJobId.slice(0, 13) }).waitFor();
      await page.waitForFunction(
        () => Number(document.querySelector('[data-testid=queue-depth]')?.textContent) >= 1,
      );
      expect(await queueCard.textContent()).toMatch(/pod/);
      await screenshot(page, '02-overview');
    },
    STEP_MS,
  );

  it(
    'cancels a queued job from its page',
    async () => {
      await page
        .locator('#queue')
        .getByRole('link', { name: queuedJobId.slice(0, 13) })
        .click();
      await page.locator('[data-testid=job-status][data-status=queued]').waitFor();
      await page.getByRole('button', { name: `Cancel job ${queuedJobId}` }).click();
      await page.locator('[data-testid=job-status][data-status=cancelled]').waitFor();
      expect((await api('GET', `/api/jobs/${queuedJobId}`)).status).toBe('cancelled');
    },
    STEP_MS,
  );

  it(
    'submits a workflow, shows its progress bar moving, then its output image',
    async () => {
      await openTab('Jobs');
      await page.getByLabel(/^Workflow JSON/).fill(JSON.stringify(slowWorkflow(30)));
      await page.getByLabel('Run on backend').selectOption('local');
      await screenshot(page, '03-jobs-submit');
      await page.getByRole('button', { name: 'Submit job' }).click();
      await page.waitForURL(/\/jobs\/job-/);
      const jobId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);

      // Read the bar until the job ends: it must show a value strictly between 0 and 100 on the way.
      const seen = new Set<number>();
      const deadline = Date.now() + 60_000;
      for (;;) {
        const state = await page.evaluate(() => ({
          status: document.querySelector('[data-testid=job-status]')?.getAttribute('data-status'),
          value: document.querySelector('[data-testid=job-status] progress')?.value,
        }));
        if (typeof state.value === 'number') seen.add(Math.round(state.value));
        if (state.status === 'completed') break;
        if (state.status === 'failed' || Date.now() > deadline)
          throw new Error(`job ${jobId}: ${JSON.stringify(state)}`);
        await page.waitForTimeout(40);
      }
      const between = [...seen].filter((value) => value > 0 && value < 100);
      expect(between.length).toBeGreaterThanOrEqual(1);
      expect(seen.has(100)).toBe(true);

      const image = page.locator('#outputs img').first();
      await image.waitFor();
      await page.waitForFunction(() => {
        const img = document.querySelector('#outputs img');
        return img !== null && img.complete && img.naturalWidth > 0;
      });
      // The image comes from a signed link or a blob: URL, never from a URL carrying the key.
      expect(await image.getAttribute('src')).not.toContain(ADMIN_KEY);
      // The router's estimate at submit beside what happened: local, free, and both columns filled in.
      const table = page.getByTestId('estimate-vs-actual');
      await table.getByRole('row', { name: /^Run time/ }).waitFor();
      const cells = async (row: string) =>
        (
          await table
            .getByRole('row', { name: new RegExp(`^${row}`) })
            .getByRole('cell')
            .allTextContents()
        ).map((text) => text.trim());
      expect((await cells('Backend'))[0]).toMatch(/^local \(/);
      expect((await cells('Backend'))[1]).toBe('local');
      expect(await cells('Cost')).toEqual(['$0.0000', '$0.0000']);
      expect((await cells('Run time')).every((text) => text !== '–' && text !== '')).toBe(true);
      await screenshot(page, '04-job-detail');
    },
    STEP_MS,
  );

  it(
    're-runs a finished job from its page',
    async () => {
      const original = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      await page.getByRole('button', { name: `Re-run job ${original}` }).click();
      await page.waitForURL(
        (url) => url.pathname.startsWith('/jobs/job-') && !url.pathname.endsWith(original),
      );
      const rerun = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      await page.locator('[data-testid=job-status][data-status=completed]').waitFor();
      await page.getByRole('link', { name: original }).waitFor();
      expect(rerun).not.toBe(original);
      expect((await api('GET', `/api/jobs/${rerun}`)).status).toBe('completed');
    },
    STEP_MS,
  );

  it(
    'submits a workflow with an input image from the form; the job carries it and runs on it',
    async () => {
      await openTab('Jobs');
      const name = 'browser-upload.png';
      // 24x12: the output (LoadImage → SaveImage) has these dimensions only if the upload reached the worker.
      const png = encodePng(solidFrame(24, 12, 0x3366cc));
      await page.getByLabel(/^Workflow JSON/).fill(
        JSON.stringify({
          '1': { class_type: 'LoadImage', inputs: { image: name } },
          '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'from-upload' } },
        }),
      );
      await page.locator('#field-input-images').setInputFiles({ name, mimeType: 'image/png', buffer: png });
      await page.getByRole('button', { name: `Remove input image ${name}` }).waitFor();
      await page.getByLabel('Run on backend').selectOption('local');
      await page.getByRole('button', { name: 'Submit job' }).click();
      await page.waitForURL(/\/jobs\/job-/);
      const jobId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop()!);
      await page.locator('[data-testid=job-status][data-status=completed]').waitFor();

      const row = await harness.app!.get(JobsRepository).findById(jobId);
      expect(JSON.parse(row!.inputImages)).toEqual([{ name, size: png.length }]);
      await page.waitForFunction(() => {
        const img = document.querySelector('#outputs img');
        return img !== null && img.complete && img.naturalWidth > 0;
      });
      const size = await page
        .locator('#outputs img')
        .first()
        .evaluate((img: any) => [img.naturalWidth, img.naturalHeight]);
      expect(size).toEqual([24, 12]);
      await screenshot(page, '05-job-input-image');
    },
    STEP_MS,
  );

  it(
    'shows a video output in the gallery as a <video> the browser loads',
    async () => {
      const { id } = await api('POST', '/api/jobs', {
        workflow: videoWorkflow('browser-clip'),
        backend: 'local',
      });
      expect((await waitForJob(id)).status).toBe('completed');
      // What the browser itself requested and got (the test does not fetch on its behalf).
      const responses: Array<{ url: string; status: number; type: string }> = [];
      const onResponse = (response: {
        url: () => string;
        status: () => number;
        headers: () => Record<string, string>;
      }) => {
        responses.push({
          url: response.url(),
          status: response.status(),
          type: response.headers()['content-type'] ?? '',
        });
      };
      page.on('response', onResponse);
      try {
        await page.goto(`${harness.url}/jobs/${encodeURIComponent(id)}`);
        const video = page.locator('#outputs video').first();
        await video.waitFor();
        expect(await video.getAttribute('aria-label')).toMatch(/^Output browser-clip.*\.mp4$/);
        const src = await video.evaluate((element: any) => element.src as string);
        expect(src).toMatch(/^(http|blob:)/);
        expect(src).not.toContain(ADMIN_KEY);
        // The browser loaded it and settled: metadata read (readyState > 0), or a decode error. The fake
        // ComfyUI's SaveVideo writes an MP4 with valid ftyp/free/mdat boxes but no moov (fakeMp4 in
        // test/sim/comfyui/media.ts), which no player decodes: with the simulator, loadedmetadata never fires.
        const settled = await page.waitForFunction(() => {
          const element = document.querySelector('#outputs video');
          if (!element || (element.readyState === 0 && element.error === null)) return null;
          return { readyState: element.readyState, error: element.error?.code ?? null };
        });
        const state = (await settled.jsonValue()) as { readyState: number; error: number | null };
        expect(state.readyState > 0 || state.error === 4 /* MEDIA_ERR_SRC_NOT_SUPPORTED */).toBe(true);
        if (src.startsWith('http')) {
          const fetched = responses.find((response) => response.url === src);
          expect(fetched).toBeDefined();
          expect([200, 206]).toContain(fetched!.status);
          expect(fetched!.type).toMatch(/^video\/mp4/);
          // The same link gives the job's MP4 (its ftyp box), without the key.
          const bytes = Buffer.from(await (await fetch(src)).arrayBuffer());
          expect(bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
        }
        await screenshot(page, '06-job-video');
      } finally {
        page.off('response', onResponse);
      }
    },
    STEP_MS,
  );

  let podName = '';

  it(
    'spawns a pod from Controls and shows it going from starting to ready without a reload',
    async () => {
      await openTab('Controls');
      await page.evaluate(() => (window.__sameDocument = true));
      const gpu = page.getByLabel('GPU for the new pod');
      await gpu.waitFor();
      await screenshot(page, '07-controls');
      await page.getByRole('button', { name: 'Spawn pod' }).click();
      const status = page.getByRole('status').filter({ hasText: 'requested' });
      await status.waitFor();
      podName = /Pod (\S+) requested/.exec((await status.textContent()) ?? '')![1];

      await openTab('Overview');
      const row = page.locator(`[data-pod-name="${podName}"]`);
      await row.waitFor();
      expect(['requested', 'starting']).toContain(await row.getAttribute('data-state'));
      await screenshot(page, '08-overview-pod-booting');
      // The control loop is ticked by the test (the harness's interval is only a backstop); the page must follow.
      await harness.tickUntil(
        async () => (await apiPods()).some((pod) => pod.name === podName && pod.state === 'ready'),
        30_000,
      );
      await page.locator(`[data-pod-name="${podName}"][data-state="ready"]`).waitFor({ timeout: 30_000 });
      expect(await page.evaluate(() => window.__sameDocument)).toBe(true);
      expect(await row.textContent()).toMatch(/reaped in/);
      await screenshot(page, '09-overview-pod-ready');
    },
    STEP_MS,
  );

  it(
    'shuts down every pod after a confirmation',
    async () => {
      await openTab('Controls');
      await page.getByRole('button', { name: 'Shut down all pods…' }).click();
      const dialog = page.getByRole('dialog', { name: 'Shut down all pods?' });
      await dialog.waitFor();
      // The safe choice has the focus; Escape would cancel.
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
      await screenshot(page, '10-shutdown-confirm');
      await dialog.getByRole('button', { name: 'Shut down all' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: /Terminated 1 pod/ })
        .waitFor();
      expect((await apiPods()).filter((pod) => pod.name === podName)).toEqual([]);
      await openTab('Overview');
      await page.locator(`[data-pod-name="${podName}"]`).waitFor({ state: 'detached' });
    },
    STEP_MS,
  );

  it(
    'terminates one pod from Controls after a confirmation, leaving the others',
    async () => {
      const [first, second] = [await spawnReadyPod(), await spawnReadyPod()];
      const target = (await apiPods()).find((pod) => pod.id === first)!;
      await openTab('Controls');
      await page.getByRole('button', { name: `Terminate pod ${target.name}` }).click();
      const dialog = page.getByRole('dialog', { name: 'Terminate this pod?' });
      await dialog.waitFor();
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Cancel');
      await screenshot(page, '11-terminate-pod-confirm');
      await dialog.getByRole('button', { name: 'Terminate', exact: true }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `Pod ${first} terminated; it cost $` })
        .waitFor();
      expect((await apiPods()).map((pod) => pod.id)).toEqual([second]);
      expect(harness.fake.getPod(first)!.terminatedAt).not.toBeNull();
      await openTab('Overview');
      await page.locator(`[data-pod-id="${first}"]`).waitFor({ state: 'detached' });
      await page.locator(`[data-pod-id="${second}"]`).waitFor();
      await api('POST', `/api/cloud/terminate/${second}`);
      await page.locator(`[data-pod-id="${second}"]`).waitFor({ state: 'detached' });
    },
    STEP_MS,
  );

  it(
    'shows a refused setting next to its field, saves a valid one, and disables and enables a local worker',
    async () => {
      await openTab('Controls');
      const maxPods = page.getByLabel('Max pods');
      await maxPods.fill('-1');
      await page.getByRole('button', { name: 'Save settings' }).click();
      const fieldError = page.locator('#config-maxPods-error');
      await fieldError.waitFor();
      expect(await fieldError.textContent()).toMatch(/maxPods must not be less than 0/);
      expect(await maxPods.getAttribute('aria-invalid')).toBe('true');
      expect((await maxPods.getAttribute('aria-describedby'))?.split(' ')).toContain('config-maxPods-error');
      await screenshot(page, '12-controls-field-error');

      await maxPods.fill('3');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByRole('status').filter({ hasText: 'Saved' }).waitFor();
      expect((await api('GET', '/api/cloud/status')).config.maxPods).toBe(3);

      const worker = (await api('GET', '/api/local/workers')).workers[0];
      await page.getByRole('button', { name: `Disable worker ${worker.name}` }).click();
      await page.getByRole('button', { name: `Enable worker ${worker.name}` }).waitFor();
      expect((await api('GET', '/api/local/workers')).workers[0].state).toBe('disabled');
      await page.getByRole('button', { name: `Enable worker ${worker.name}` }).click();
      await page.getByRole('button', { name: `Disable worker ${worker.name}` }).waitFor();
      expect((await api('GET', '/api/local/workers')).workers[0].state).toBe('active');
    },
    STEP_MS,
  );

  it(
    'adds a local worker (its models on the overview), drains it away, adds it again and removes it',
    async () => {
      // Five checkpoints: the overview names three and counts the rest.
      const checkpoints = ['a-one', 'b-two', 'c-three', 'd-four', 'e-five'].map(
        (name) => `${name}.safetensors`,
      );
      const extra = new FakeComfyUI({ models: { checkpoints } });
      await extra.listen();
      const ours = async () =>
        (await api<{ workers: any[] }>('GET', '/api/local/workers')).workers.filter(
          (worker) => worker.url.replace(/\/$/, '') === extra.url.replace(/\/$/, ''),
        );
      const add = async () => {
        await openTab('Controls');
        await page.getByLabel('ComfyUI URL').fill(extra.url);
        await page.getByLabel('Name (optional)').fill('ui-extra');
        await page.getByLabel('Slots').fill('2');
        await page.getByRole('button', { name: 'Add worker' }).click();
        await page.getByRole('button', { name: 'Drain worker ui-extra' }).waitFor();
      };
      try {
        await add();
        expect(await ours()).toEqual([
          expect.objectContaining({ name: 'ui-extra', source: 'api', maxConcurrent: 2 }),
        ]);
        await openTab('Overview');
        await page
          .locator('[data-worker-id]')
          .filter({ hasText: 'ui-extra' })
          .filter({ hasText: 'a-one.safetensors, b-two.safetensors, c-three.safetensors +2 more' })
          .waitFor();
        await screenshot(page, '13-overview-added-worker');

        // Idle, so draining lets it leave at once (a registered worker is removed).
        await openTab('Controls');
        await page.getByRole('button', { name: 'Drain worker ui-extra' }).click();
        await page.getByRole('button', { name: 'Drain worker ui-extra' }).waitFor({ state: 'detached' });
        await harness.until(async () => (await ours()).length === 0);

        await add();
        await page.getByRole('button', { name: 'Remove worker ui-extra' }).click();
        await page.getByRole('button', { name: 'Remove worker ui-extra' }).waitFor({ state: 'detached' });
        expect(await ours()).toEqual([]);
        await openTab('Overview');
        await page.locator('[data-worker-id]').filter({ hasText: 'ui-extra' }).waitFor({ state: 'detached' });
      } finally {
        for (const worker of await ours()) await api('DELETE', `/api/local/workers/${worker.id}`);
        await extra.close();
      }
    },
    STEP_MS,
  );

  it(
    'filters the job list by status and backend',
    async () => {
      await openTab('Jobs');
      await page.getByLabel('Status', { exact: true }).selectOption('cancelled');
      await page.locator(`tr[data-job-id="${queuedJobId}"]`).waitFor();
      await page.waitForFunction(() =>
        [...document.querySelectorAll('tr[data-job-id]')].every(
          (row: any) => row.dataset.status === 'cancelled',
        ),
      );
      await page.getByLabel('Status', { exact: true }).selectOption('completed');
      await page.getByLabel('Backend', { exact: true }).selectOption('local');
      await page.waitForFunction(
        () =>
          document.querySelectorAll('tr[data-job-id]').length > 0 &&
          [...document.querySelectorAll('tr[data-job-id]')].every(
            (row: any) => row.dataset.status === 'completed',
          ),
      );
      expect(page.url()).toMatch(/status=completed/);
      expect(page.url()).toMatch(/backend=local/);
    },
    STEP_MS,
  );

  it(
    'pages through the job list with the server cursor',
    async () => {
      // 26 more cancelled jobs (queued for pods, cancelled at once): with the earlier one, 27 = a page of 25 + 2.
      for (let n = 0; n < 26; n++) {
        const { id } = await api('POST', '/api/jobs', { workflow: pngWorkflow(`page-${n}`), backend: 'pod' });
        await api('DELETE', `/api/jobs/${id}`);
      }
      await page.getByRole('button', { name: 'Older →' }).waitFor();
      await page.getByLabel('Backend', { exact: true }).selectOption('');
      await page.getByLabel('Status', { exact: true }).selectOption('cancelled');
      const rows = page.locator('tr[data-job-id]');
      await page.waitForFunction(() => document.querySelectorAll('tr[data-job-id]').length === 25);
      const first = await rows.evaluateAll((list: any[]) => list.map((row) => row.dataset.jobId));
      await page.getByRole('button', { name: 'Older →' }).click();
      await page.waitForFunction(() => document.querySelectorAll('tr[data-job-id]').length === 2);
      const second = await rows.evaluateAll((list: any[]) => list.map((row) => row.dataset.jobId));
      expect(second.filter((id: string) => first.includes(id))).toEqual([]);
      expect(second).toContain(queuedJobId);
      expect(await page.getByRole('button', { name: 'Older →' }).isDisabled()).toBe(true);
      await page.getByRole('button', { name: '← Newer' }).click();
      await page.waitForFunction(() => document.querySelectorAll('tr[data-job-id]').length === 25);
    },
    STEP_MS,
  );

  it(
    'draws the cost chart (with the pod cost) and the budget gauge',
    async () => {
      await openTab('Cost');
      await page.locator('[data-testid=cost-chart] canvas').waitFor();
      const size = await page.locator('[data-testid=cost-chart] canvas').evaluate((canvas: any) => ({
        width: canvas.width,
        height: canvas.height,
      }));
      expect(size.width).toBeGreaterThan(100);
      expect(size.height).toBeGreaterThan(100);
      const gauge = page.getByTestId('budget-gauge').first();
      await gauge.waitFor();
      expect(await gauge.textContent()).toMatch(/of \$5\.00 today/);
      expect(await gauge.getByRole('meter').getAttribute('max')).toBe('5');
      // The terminated pod's cost is in the ledger, so the range has at least one bucket with spend.
      await page
        .locator('#cost-history summary')
        .filter({ hasText: /Table \(\d+ buckets? with activity\)/ })
        .waitFor();
      await screenshot(page, '14-cost');
    },
    STEP_MS,
  );

  it(
    'downloads the cost history as a CSV file from the Cost page',
    async () => {
      await openTab('Cost');
      const button = page.getByRole('button', { name: 'Export CSV' });
      await button.waitFor();
      const [download] = await Promise.all([page.waitForEvent('download'), button.click()]);
      expect(download.suggestedFilename()).toMatch(/^cost-(hour|day)-\d{4}-\d{2}-\d{2}\.csv$/);
      const csv = readFileSync(await download.path(), 'utf8');
      const lines = csv.split(/\r?\n/).filter((line) => line !== '');
      expect(lines[0]).toBe(COST_HISTORY_CSV_HEADER);
      // One row per bucket: an ISO start and six numbers (cost_per_job empty without a completed job); the pods
      // terminated earlier put spend in at least one bucket.
      const rows = lines.slice(1).map((line) => line.split(','));
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        expect(row).toHaveLength(7);
        expect(Number.isNaN(Date.parse(row[0]))).toBe(false);
        expect(row.slice(1, 6).every((cell) => Number.isFinite(Number(cell)) && cell !== '')).toBe(true);
      }
      expect(rows.some((row) => Number(row[4]) > 0)).toBe(true);
    },
    STEP_MS,
  );

  it(
    'reconnects the event stream with Last-Event-ID after the connection drops',
    async () => {
      await openTab('Overview');
      await page.locator('.stream').filter({ hasText: 'live' }).waitFor();
      const reconnects: Array<string | undefined> = [];
      const onRequest = (request: { url: () => string; headers: () => Record<string, string> }) => {
        if (new URL(request.url()).pathname === '/api/events')
          reconnects.push(request.headers()['last-event-id']);
      };
      page.on('request', onRequest);
      try {
        // The service drops every open connection (a proxy timing out, a network blip): the stream among them.
        (harness.app!.getHttpServer() as Server).closeAllConnections();
        await harness.until(() => reconnects.length >= 1, 30_000);
        await page.locator('.stream').filter({ hasText: 'live' }).waitFor();
        // What happens next reaches the page without a reload.
        const id = (await api('POST', '/api/jobs', { workflow: pngWorkflow('after-drop'), backend: 'local' }))
          .id;
        await openTab('Jobs');
        await page.locator(`tr[data-job-id="${id}"][data-status="completed"]`).waitFor();
      } finally {
        page.off('request', onRequest);
      }
      // It asked to resume after the last event it had seen.
      expect(reconnects[0]).toMatch(/^\d+$/);
    },
    STEP_MS,
  );

  it(
    'gives every control an accessible name and a visible keyboard focus',
    async () => {
      for (const label of ['Overview', 'Jobs', 'Cost', 'Controls']) {
        await openTab(label);
        const unnamed = await page.evaluate(() =>
          [...document.querySelectorAll('input, select, textarea, button, a[href]')]
            .filter((element) => {
              const el = element;
              if (el.type === 'hidden' || el.closest('dialog:not([open])')) return false;
              const named =
                (el.labels && el.labels.length > 0) ||
                el.getAttribute('aria-label') ||
                el.getAttribute('aria-labelledby') ||
                (el.textContent ?? '').trim();
              return !named;
            })
            .map((element) => element.outerHTML.slice(0, 120)),
        );
        expect([label, unnamed]).toEqual([label, []]);
      }
      // Tab through the Controls page: every stop shows a focus outline.
      await page.locator('main').focus();
      let stops = 0;
      for (let i = 0; i < 25; i++) {
        await page.keyboard.press('Tab');
        const focus = await page.evaluate(() => {
          const element = document.activeElement;
          if (!element || element === document.body) return null;
          return { tag: element.tagName, outline: getComputedStyle(element).outlineStyle };
        });
        if (!focus) break;
        expect([focus.tag, focus.outline]).not.toEqual([focus.tag, 'none']);
        stops += 1;
      }
      expect(stops).toBeGreaterThanOrEqual(10);
    },
    STEP_MS,
  );

  it(
    'fits a phone-width screen',
    async () => {
      const phone = await browser.newContext({ viewport: PHONE, isMobile: true });
      await phone.addInitScript((key) => sessionStorage.setItem('cloud-workers.apiKey', key), ADMIN_KEY);
      const small = await phone.newPage();
      const smallWatch = watchPage(small, harness.url);
      try {
        for (const [path, name] of [
          ['/', '15-phone-overview'],
          ['/jobs', '16-phone-jobs'],
        ] as const) {
          await small.goto(`${harness.url}${path}`);
          await small.getByRole('heading', { level: 1 }).waitFor();
          await small.locator('[data-testid=queue-depth], #job-list').first().waitFor();
          // Wide tables scroll inside their card; the page itself never scrolls sideways.
          const overflow = await small.evaluate(
            () => document.documentElement.scrollWidth - window.innerWidth,
          );
          expect([path, overflow <= 1]).toEqual([path, true]);
          await screenshot(small, name);
        }
        expect(smallWatch.errors).toEqual([]);
      } finally {
        await phone.close();
      }
    },
    STEP_MS,
  );

  it(
    'gives the read-only key a view without controls',
    async () => {
      const readOnly = await browser.newContext({ viewport: WIDE });
      const view = await readOnly.newPage();
      try {
        await view.goto(harness.url);
        await view.getByLabel('API key').fill(READ_KEY);
        await view.getByRole('button', { name: 'Sign in' }).click();
        await view.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
        expect(await view.getByTestId('role').textContent()).toBe('read-only');
        await view.getByRole('link', { name: 'Controls', exact: true }).click();
        await view.getByText('You signed in with the read-only key').waitFor();
        expect(await view.getByRole('button', { name: 'Spawn pod' }).count()).toBe(0);
        expect(await view.getByRole('button', { name: /Shut down/ }).count()).toBe(0);
        await view.getByRole('link', { name: 'Jobs', exact: true }).click();
        await view.locator('#job-list').waitFor();
        expect(await view.getByRole('button', { name: 'Submit job' }).count()).toBe(0);
        expect(await view.getByRole('button', { name: /^Cancel job|^Re-run job/ }).count()).toBe(0);
        await screenshot(view, '17-read-only-jobs');
      } finally {
        await readOnly.close();
      }
    },
    STEP_MS,
  );

  it(
    'keeps the bundle small and measures how soon the first page is usable',
    async () => {
      const assets = join(dashboardDistDir(), 'assets');
      let jsGzip = 0;
      let cssGzip = 0;
      for (const file of readdirSync(assets)) {
        const size = gzipSync(readFileSync(join(assets, file)), { level: 9 }).length;
        if (file.endsWith('.js')) jsGzip += size;
        if (file.endsWith('.css')) cssGzip += size;
      }
      expect(jsGzip).toBeLessThan(300 * 1024);

      // A fresh tab with the key already in this tab's session: navigation to the overview showing live numbers.
      const timings: number[] = [];
      for (let i = 0; i < 5; i++) {
        const fresh = await browser.newContext({ viewport: WIDE });
        await fresh.addInitScript((key) => sessionStorage.setItem('cloud-workers.apiKey', key), ADMIN_KEY);
        const tab = await fresh.newPage();
        await tab.goto(`${harness.url}/`, { waitUntil: 'commit' });
        await tab.waitForFunction(() =>
          /^\d+$/.test(document.querySelector('[data-testid=queue-depth]')?.textContent ?? ''),
        );
        timings.push(await tab.evaluate(() => performance.now()));
        await fresh.close();
      }
      timings.sort((a, b) => a - b);
      // Without a key: the sign-in form ready for typing.
      const signIn: number[] = [];
      for (let i = 0; i < 3; i++) {
        const fresh = await browser.newContext({ viewport: WIDE });
        const tab = await fresh.newPage();
        await tab.goto(`${harness.url}/`, { waitUntil: 'commit' });
        await tab.getByLabel('API key').waitFor();
        signIn.push(await tab.evaluate(() => performance.now()));
        await fresh.close();
      }
      signIn.sort((a, b) => a - b);
      const result = {
        signInUsableMs: { median: Math.round(signIn[1]), best: Math.round(signIn[0]) },
        jsGzipKB: +(jsGzip / 1024).toFixed(1),
        cssGzipKB: +(cssGzip / 1024).toFixed(1),
        firstUsableMs: {
          median: Math.round(timings[2]),
          best: Math.round(timings[0]),
          worst: Math.round(timings[4]),
        },
      };
      mkdirSync(join(process.cwd(), 'test-results'), { recursive: true });
      writeFileSync(
        join(process.cwd(), 'test-results', 'dashboard-perf.json'),
        JSON.stringify(result, null, 2),
      );
      console.log(`dashboard: ${JSON.stringify(result)}`);
    },
    STEP_MS,
  );
});
