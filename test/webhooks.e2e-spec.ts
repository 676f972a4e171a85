import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PodSweeper } from '../src/cloud/pod-sweeper.service';
import { MINUTE } from '../src/common/clock';
import { WebhookDeliveries } from '../src/webhooks/webhook-deliveries.service';
import {
  verifyWebhookSignature,
  WEBHOOK_DELIVERY_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
} from '../src/webhooks/webhook-signature';
import { CloudHarness } from './support/cloud-harness';
import { MISSING_INPUT_WORKFLOW, pngWorkflow } from './support/workflows';

const SECRET = 'webhook-test-secret-0123456789';
/** Longer than any test: a retry happens only when the test moves the clock. */
const BASE_DELAY_MS = 10 * 60 * 1000;

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A local receiver: records every request and answers with what `respond` says (or holds it). */
class Receiver {
  readonly received: Received[] = [];
  respond: (request: Received) => number | 'hold' = () => 200;
  private readonly held: ServerResponse[] = [];
  private server?: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request = {
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        this.received.push(request);
        const answer = this.respond(request);
        if (answer === 'hold') this.held.push(res);
        else res.writeHead(answer).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  on(path: string): Received[] {
    return this.received.filter((request) => request.path === path);
  }

  async close(): Promise<void> {
    for (const res of this.held) res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

describe('Webhooks: signed, retried with back-off, never blocking the dispatcher', () => {
  let h: CloudHarness;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    h = await CloudHarness.start({
      localWorkers: 1,
      env: {
        WEBHOOK_URLS: `${receiver.url}/global`,
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_MAX_ATTEMPTS: '3',
        WEBHOOK_RETRY_BASE_DELAY: String(BASE_DELAY_MS),
        WEBHOOK_RETRY_MAX_DELAY: String(4 * BASE_DELAY_MS),
        WEBHOOK_TIMEOUT: '60000',
        LOCAL_WORKER_CONCURRENCY: '4',
      },
    });
  });

  afterAll(async () => {
    await h?.close();
    await receiver?.close();
  });

  beforeEach(() => {
    receiver.received.length = 0;
    receiver.respond = () => 200;
  });

  const deliveries = () => h.app!.get(WebhookDeliveries);

  /** Moves the clock past the longest back-off and lets the outbox send what is due. */
  function nextRetryRound(): void {
    h.clock.advance(4 * BASE_DELAY_MS);
    deliveries().pump();
  }

  it('sends jobCompleted, signed, to the global receiver and to the job own webhookUrl', async () => {
    const id = await h.submit({ workflow: pngWorkflow('w'), webhookUrl: `${receiver.url}/job?token=abc` });
    await h.waitForJob(id);
    await h.until(() => receiver.on('/global').length >= 1 && receiver.on('/job?token=abc').length >= 1);
    for (const request of [receiver.on('/global')[0], receiver.on('/job?token=abc')[0]]) {
      const payload = JSON.parse(request.body);
      expect(payload).toMatchObject({
        type: 'jobCompleted',
        data: { jobId: id, status: 'completed', backend: 'local' },
      });
      expect(request.headers['x-cloudworkers-event']).toBe('jobCompleted');
      expect(request.headers[WEBHOOK_DELIVERY_HEADER.toLowerCase()]).toMatch(/^dlv_/);
      const signature = request.headers[WEBHOOK_SIGNATURE_HEADER.toLowerCase()] as string;
      const t = Number(/t=(\d+)/.exec(signature)![1]);
      expect(verifyWebhookSignature(SECRET, signature, request.body, t)).toBe(true);
      expect(verifyWebhookSignature('another-secret-entirely', signature, request.body, t)).toBe(false);
      expect(verifyWebhookSignature(SECRET, signature, request.body.replace('completed', 'failed'), t)).toBe(
        false,
      );
    }
    // One event, the same id at both receivers.
    expect(JSON.parse(receiver.on('/global')[0].body).id).toBe(
      JSON.parse(receiver.on('/job?token=abc')[0].body).id,
    );
    expect(h.logger.has(/webhook-test-secret/)).toBe(false);
  });

  it('sends jobFailed for a job that fails', async () => {
    const id = await h.submit({ workflow: MISSING_INPUT_WORKFLOW });
    expect((await h.waitForJob(id)).status).toBe('failed');
    await h.until(() => receiver.on('/global').length >= 1);
    expect(JSON.parse(receiver.on('/global')[0].body)).toMatchObject({
      type: 'jobFailed',
      data: { jobId: id, status: 'failed', error: { kind: 'workflow' } },
    });
  });

  it('retries after 500s with back-off on the clock, and delivers once the receiver recovers', async () => {
    let failures = 2;
    receiver.respond = () => (failures-- > 0 ? 500 : 200);
    const id = await h.submit({ workflow: pngWorkflow('r') });
    await h.waitForJob(id);
    await h.until(() => receiver.on('/global').length === 1 && !deliveries().pending()[0]?.inFlight);
    // Waiting for its back-off: not sent again until the clock moves.
    const [waiting] = deliveries().pending();
    expect(waiting).toMatchObject({ attempts: 1, type: 'jobCompleted' });
    expect(waiting.dueAt).toBeGreaterThanOrEqual(h.clock.now() + BASE_DELAY_MS / 2 - 5000);
    nextRetryRound();
    await h.until(
      () =>
        receiver.on('/global').length === 2 &&
        deliveries().pending()[0]?.attempts === 2 &&
        !deliveries().pending()[0].inFlight,
    );
    nextRetryRound();
    await h.until(() => receiver.on('/global').length === 3 && deliveries().pending().length === 0);
    const ids = receiver.on('/global').map((request) => request.headers['x-cloudworkers-delivery']);
    expect(new Set(ids).size).toBe(1);
    const scraped = await (await fetch(`${h.url}/metrics`)).text();
    expect(scraped).toMatch(
      /cloud_workers_webhook_deliveries_total\{event="jobCompleted",result="retrying"\} [1-9]/,
    );
  });

  it('gives up after WEBHOOK_MAX_ATTEMPTS', async () => {
    receiver.respond = () => 503;
    const id = await h.submit({ workflow: pngWorkflow('g') });
    await h.waitForJob(id);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await h.until(() => receiver.on('/global').length === attempt);
      await h.until(() =>
        deliveries()
          .pending()
          .every((delivery) => !delivery.inFlight),
      );
      nextRetryRound();
    }
    await h.until(() => deliveries().pending().length === 0);
    expect(receiver.on('/global')).toHaveLength(3);
    await h.until(() =>
      h.logger.has(
        /Webhook jobCompleted to http:\/\/127\.0\.0\.1:\d+\/global given up: HTTP 503 after 3 attempt/,
      ),
    );
  });

  it('refuses a webhookUrl the address rules refuse, at submit (400)', async () => {
    for (const webhookUrl of [
      'http://169.254.169.254/latest/meta-data',
      'http://[fe80::1]/hook',
      'ftp://hooks.example.com/x',
      'http://hookuser:s3cr3tPa55@127.0.0.1/hook',
    ]) {
      const answer = await h.post('/api/jobs', { workflow: pngWorkflow('x'), webhookUrl });
      expect({ webhookUrl, status: answer.status }).toEqual({ webhookUrl, status: 400 });
      expect(answer.body.message).toMatch(/^webhookUrl /);
      expect(answer.body.message).not.toContain('s3cr3tPa55');
    }
  });

  it('never blocks the dispatcher: jobs complete while the receiver holds every delivery', async () => {
    receiver.respond = () => 'hold';
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await h.submit({ workflow: pngWorkflow(`s${i}`) }));
    for (const id of ids) expect((await h.waitForJob(id)).status).toBe('completed');
    // Deliveries are stuck at the receiver (at most WEBHOOK_CONCURRENCY in flight), the queue holds the rest.
    expect(deliveries().pending().length).toBeGreaterThanOrEqual(ids.length - 4);
  });
});

/** The fleet's events, each from a service of its own: the setups are those of cloud-budget, cloud-faults and events. */
describe('Webhooks for cloud events: budget reached, pod failed, orphan found', () => {
  let h: CloudHarness;
  let receiver: Receiver;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
  });

  afterAll(async () => {
    await receiver?.close();
  });

  afterEach(async () => {
    await h?.close();
    receiver.received.length = 0;
  });

  const start = async (env: Record<string, string> = {}) => {
    h = await CloudHarness.start({
      env: { WEBHOOK_URLS: `${receiver.url}/global`, WEBHOOK_SECRET: SECRET, ...env },
    });
  };

  /** The first delivery of `type`, once it has arrived: its signature checked against the secret, its payload. */
  async function signedDelivery(
    type: string,
  ): Promise<{ id: string; type: string; createdAt: string; data: any }> {
    const ofType = () =>
      receiver.on('/global').filter((request) => request.headers['x-cloudworkers-event'] === type);
    await h.until(() => ofType().length >= 1);
    const request = ofType()[0];
    expect(request.headers['content-type']).toMatch(/^application\/json/);
    expect(request.headers[WEBHOOK_DELIVERY_HEADER.toLowerCase()]).toMatch(/^dlv_/);
    const signature = request.headers[WEBHOOK_SIGNATURE_HEADER.toLowerCase()] as string;
    // Signed now (the service's clock), with this secret, over these exact bytes.
    const nowS = Math.floor(h.clock.now() / 1000);
    expect(verifyWebhookSignature(SECRET, signature, request.body, nowS)).toBe(true);
    expect(verifyWebhookSignature('another-secret-entirely', signature, request.body, nowS)).toBe(false);
    expect(verifyWebhookSignature(SECRET, signature, `${request.body} `, nowS)).toBe(false);
    const payload = JSON.parse(request.body);
    expect(payload).toMatchObject({
      id: expect.stringMatching(/^evt_/),
      type,
      createdAt: expect.any(String),
    });
    // When it happened, on the service's clock (which the tests move by hours).
    expect(Math.abs(Date.parse(payload.createdAt) - h.clock.now())).toBeLessThan(60_000);
    expect(request.body).not.toContain(h.fake.apiKey);
    return payload;
  }

  it('sends budgetExceeded when the day’s spend reaches CLOUD_DAILY_BUDGET_USD', async () => {
    await start({ CLOUD_DAILY_BUDGET_USD: '0.5' });
    const podId = await h.spawnReadyPod(); // $0.34/h
    h.clock.advance(60 * MINUTE);
    await h.tick();
    expect(
      receiver.on('/global').filter((r) => r.headers['x-cloudworkers-event'] === 'budgetExceeded'),
    ).toEqual([]);
    h.clock.advance(30 * MINUTE); // now past $0.50
    await h.tick();
    const payload = await signedDelivery('budgetExceeded');
    expect(payload.data).toEqual({ limitUsd: 0.5, spentTodayUsd: expect.any(Number) });
    expect(payload.data.spentTodayUsd).toBeGreaterThanOrEqual(0.5);
    expect(payload.data.spentTodayUsd).toBeCloseTo(h.fake.getPod(podId)!.billedUsd(), 2);
  });

  it('sends podFailed for a pod that never boots (CLOUD_BOOT_TIMEOUT), with its reason and cost', async () => {
    await start({ CLOUD_BOOT_TIMEOUT: String(10 * MINUTE) });
    h.fake.faults.podsNeverBoot({ mode: 'stuck' });
    const spawn = await h.post('/api/cloud/spawn?wait=false');
    expect(spawn.status).toBe(202);
    const podId = spawn.body.pod.id as string;
    const name = spawn.body.pod.name as string;
    h.clock.advance(11 * MINUTE);
    await h.tick();
    const payload = await signedDelivery('podFailed');
    expect(payload.data).toEqual({
      podId,
      name,
      reason: 'boot timeout: not ready within 600s',
      costUsd: expect.any(Number),
    });
    expect(payload.data.costUsd).toBeGreaterThan(0);
    expect(payload.data.costUsd).toBeCloseTo(h.fake.getPod(podId)!.billedUsd(), 4);
  });

  it('sends orphanFound for a pod at RunPod the service has no record of', async () => {
    await start();
    const created = await fetch(`${h.fake.restV2Url}/pods`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'comfyui-worker-orphan0002',
        image: 'example/comfyui:latest',
        gpu: { id: 'NVIDIA GeForce RTX 3090', count: 1 },
        cloud: 'SECURE',
        ports: ['8188/http'],
        disk: 50,
      }),
    });
    const orphan = (await created.json()) as { id: string };
    await h.app!.get(PodSweeper).sweep();
    const payload = await signedDelivery('orphanFound');
    expect(payload.data).toEqual({
      podId: orphan.id,
      name: 'comfyui-worker-orphan0002',
      action: 'terminate',
    });
    await h.until(() => h.fake.getPod(orphan.id)!.terminatedAt !== null);
  });
});
