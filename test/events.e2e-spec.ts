import { PodSweeper } from '../src/cloud/pod-sweeper.service';
import { FleetEventStreams } from '../src/http/fleet-event-streams';
import { FakeComfyUI } from './sim/comfyui/fake-comfyui';
import { CloudHarness } from './support/cloud-harness';
import { type ReceivedEvent, SseReader } from './support/sse-reader';
import { slowWorkflow } from './support/workflows';

/**
 * The fleet event stream, GET /api/events, over HTTP against the simulators: what a dashboard sees live, what
 * it gets back when it reconnects, and that streams end when the service stops.
 */

const BUFFER_SIZE = 40;

describe('fleet events: GET /api/events and /api/events/recent', () => {
  let h: CloudHarness;
  /** Open from the start: every event of the run, to compare replays against. */
  let all: SseReader;
  const readers: SseReader[] = [];

  const open = async (headers: Record<string, string> = {}) => {
    const reader = await SseReader.open(`${h.url}/api/events`, headers);
    readers.push(reader);
    return reader;
  };
  const fleetEvents = (reader: SseReader) => reader.events.filter((event) => event.id !== undefined);
  const lastId = (reader: SseReader) => Number(fleetEvents(reader).at(-1)?.id ?? 0);
  const ofJob = (reader: SseReader, jobId: string) =>
    reader.events.filter((event) => event.data.jobId === jobId).map((event) => event.event);
  const completed = (jobId: string) => (event: ReceivedEvent) =>
    event.event === 'jobCompleted' && event.data.jobId === jobId;

  async function runJob(steps = 3): Promise<string> {
    const id = await h.submit({ workflow: slowWorkflow(steps) });
    await all.waitFor(completed(id));
    return id;
  }

  beforeAll(async () => {
    h = await CloudHarness.start({
      localWorkers: 1,
      env: { EVENTS_BUFFER_SIZE: String(BUFFER_SIZE), EVENTS_HEARTBEAT_INTERVAL: '100' },
    });
    all = await open();
  });

  afterAll(async () => {
    for (const reader of readers) await reader.close();
    await h?.close();
  });

  it('says hello first, without an id, with this instance and the newest event id', async () => {
    const reader = await open();
    expect(reader.status).toBe(200);
    expect(reader.contentType).toMatch(/^text\/event-stream/);
    const hello = await reader.waitFor(() => true);
    expect(hello).toEqual({
      event: 'hello',
      id: undefined,
      data: { instanceId: expect.stringMatching(/^[0-9a-f-]{36}$/), lastEventId: expect.any(Number) },
    });
    expect(all.events[0].data.instanceId).toBe(hello.data.instanceId);
  });

  it('streams a job: queued, started, progress, completed, in that order, each id once and rising', async () => {
    const id = await runJob(4);
    const types = ofJob(all, id);
    expect(types[0]).toBe('jobQueued');
    expect(types[1]).toBe('jobStarted');
    expect(types.at(-1)).toBe('jobCompleted');
    expect(types.slice(2, -1).length).toBeGreaterThan(0);
    expect(new Set(types.slice(2, -1))).toEqual(new Set(['jobProgress']));

    const events = fleetEvents(all);
    for (const event of events) {
      expect(event.id).toBe(String(event.data.id));
      expect(event.data).toMatchObject({ type: event.event, at: expect.stringMatching(/Z$/) });
    }
    const ids = events.map((event) => Number(event.id));
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    const progress = all.events.filter((event) => event.event === 'jobProgress' && event.data.jobId === id);
    expect(progress.map((event) => event.data.progress)).toContainEqual(
      expect.objectContaining({ value: 4, max: 4, percent: 100 }),
    );
  });

  it('streams a spawned pod: podSpawned, then podReady', async () => {
    const podId = await h.spawnReadyPod();
    await all.waitFor((event) => event.event === 'podReady' && event.data.podId === podId);
    const ofPod = all.events.filter((event) => event.data.podId === podId).map((event) => event.event);
    expect(ofPod.slice(0, 2)).toEqual(['podSpawned', 'podReady']);
    const spawned = all.events.find((event) => event.event === 'podSpawned' && event.data.podId === podId)!;
    expect(spawned.data).toMatchObject({ origin: 'manual', gpuTypeId: expect.any(String) });
    await h.post(`/api/cloud/terminate/${podId}`);
    const terminated = await all.waitFor(
      (event) => event.event === 'podTerminated' && event.data.podId === podId,
    );
    expect(terminated.data).toMatchObject({ cost: expect.any(Number), reason: expect.any(String) });
  });

  it('streams an orphan the sweeper finds, and local workers added and removed', async () => {
    const created = await fetch(`${h.fake.restV2Url}/pods`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.fake.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'comfyui-worker-orphan0001',
        image: 'example/comfyui:latest',
        gpu: { id: 'NVIDIA GeForce RTX 3090', count: 1 },
        cloud: 'SECURE',
        ports: ['8188/http'],
        disk: 50,
      }),
    });
    const orphan = (await created.json()) as { id: string };
    await h.app!.get(PodSweeper).sweep();
    const found = await all.waitFor((event) => event.event === 'orphanFound');
    expect(found.data).toMatchObject({
      podId: orphan.id,
      name: 'comfyui-worker-orphan0001',
      action: 'terminate',
    });

    const comfy = new FakeComfyUI();
    await comfy.listen();
    try {
      const registered = await h.post('/api/local/workers', { url: comfy.url });
      expect(registered.status).toBe(201);
      const workerId = registered.body.id as string;
      await all.waitFor((event) => event.data.workerId === workerId && event.data.change === 'added');
      expect((await h.request('DELETE', `/api/local/workers/${workerId}`)).status).toBe(204);
      await all.waitFor((event) => event.data.workerId === workerId && event.data.change === 'removed');
    } finally {
      await comfy.close();
    }
  });

  it('replays exactly the missed events to a client that reconnects with Last-Event-ID', async () => {
    const first = await open();
    const before = await runJob();
    await first.waitFor(completed(before));
    const seen = lastId(first);
    await first.close();

    const missed = await runJob();
    const again = await open({ 'last-event-id': String(seen) });
    await again.waitFor(completed(missed));
    const [hello, ...rest] = again.events;
    expect(hello.event).toBe('hello');
    const through = hello.data.lastEventId as number;
    const replayed = rest.filter((event) => Number(event.id) <= through);
    const expected = fleetEvents(all).filter((event) => {
      const id = Number(event.id);
      return id > seen && id <= through;
    });
    expect(expected.length).toBeGreaterThan(0);
    expect(replayed).toEqual(expected);
    // Then live, without a gap or a repeat.
    const ids = fleetEvents(again).map((event) => Number(event.id));
    expect(ids[0]).toBe(seen + 1);
    ids.forEach((id, index) => expect(id).toBe(seen + 1 + index));
  });

  it('sends reset when the Last-Event-ID is older than the buffer, unknown, or not an id', async () => {
    const oldest = Number(fleetEvents(all)[0].id);
    while (lastId(all) - oldest <= BUFFER_SIZE) await runJob();

    for (const sent of [String(oldest), '1', 'not-an-id', String(lastId(all) + 1000)]) {
      const reader = await open({ 'last-event-id': sent });
      const reset = await reader.waitFor((event) => event.event === 'reset');
      expect(reader.events[0].event).toBe('hello');
      expect(reader.events[1]).toBe(reset);
      expect(reset.id).toBeUndefined();
      expect(reset.data).toEqual({
        instanceId: reader.events[0].data.instanceId,
        lastEventId: reader.events[0].data.lastEventId,
        reason: expect.any(String),
      });
      // Nothing replayed after a reset: the client re-reads the snapshots; live events follow.
      expect(fleetEvents(reader).every((event) => Number(event.id) > reset.data.lastEventId)).toBe(true);
      await reader.close();
    }
  });

  it('sends a ": ping" comment on a quiet stream (EVENTS_HEARTBEAT_INTERVAL)', async () => {
    const reader = await open();
    await reader.waitUntil(() => reader.comments.includes('ping'));
    await reader.close();
  });

  it('lists the recent fleet events newest first, without job progress, bounded', async () => {
    const answer = await h.get('/api/events/recent?limit=5');
    expect(answer.status).toBe(200);
    const events = answer.body.events as Array<{ id: number; type: string }>;
    expect(events).toHaveLength(5);
    const ids = events.map((event) => event.id);
    expect(ids).toEqual([...ids].sort((a, b) => b - a));

    const many = (await h.get('/api/events/recent?limit=1000')).body.events as Array<{
      id: number;
      type: string;
    }>;
    expect(many.length).toBeGreaterThan(10);
    expect(many.length).toBeLessThanOrEqual(200);
    expect(many.some((event) => event.type === 'jobProgress')).toBe(false);
    expect(many.map((event) => event.type)).toEqual(expect.arrayContaining(['jobCompleted', 'podReady']));
    const streamed = fleetEvents(all).find((event) => Number(event.id) === many[0].id);
    if (streamed) expect(many[0]).toEqual(streamed.data);
    expect((await h.get('/api/events/recent')).body.events.length).toBeLessThanOrEqual(50);
    expect((await h.get('/api/events/recent?limit=ten')).status).toBe(400);
  });

  it('ends every open stream when the service stops, and a restarted one resets clients of the old run', async () => {
    const open1 = await open();
    const open2 = await open();
    await open1.waitFor(() => true);
    await open2.waitFor(() => true);
    const oldInstance = all.events[0].data.instanceId as string;
    const seen = lastId(all);
    expect(h.app!.get(FleetEventStreams).openStreams).toBeGreaterThanOrEqual(3);

    await h.stopApp();
    for (const reader of [all, open1, open2]) await reader.waitForEnd();

    await h.startApp();
    const reader = await open({ 'last-event-id': String(seen) });
    const reset = await reader.waitFor((event) => event.event === 'reset');
    expect(reader.events[0].data.instanceId).not.toBe(oldInstance);
    expect(reset.data.lastEventId).toBeGreaterThan(seen);
  });
});

describe('fleet events: access', () => {
  let h: CloudHarness;

  beforeAll(async () => {
    h = await CloudHarness.start({ env: { API_KEY: 'events-admin-key', API_READ_KEY: 'events-read-key' } });
  });
  afterAll(async () => h?.close());

  it('streams to the read-only key and refuses a request without a key (401)', async () => {
    const reader = await SseReader.open(`${h.url}/api/events`, { authorization: 'Bearer events-read-key' });
    expect(reader.status).toBe(200);
    await reader.waitFor((event) => event.event === 'hello');
    await reader.close();

    const refused = await fetch(`${h.url}/api/events`);
    expect(refused.status).toBe(401);
    await refused.arrayBuffer();
    expect((await h.get('/api/events/recent', { 'x-api-key': 'events-read-key' })).status).toBe(200);
    expect((await h.get('/api/events/recent')).status).toBe(401);
  });
});
