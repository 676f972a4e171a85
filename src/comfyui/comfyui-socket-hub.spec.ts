import { FakeComfyUI } from '../../test/sim/comfyui/fake-comfyui';
import { ComfyUiClient } from './comfyui-client';
import { ComfySocketHubs } from './comfyui-socket-hub';
import type { ComfyProgress } from './comfyui.types';
import {
  FAST,
  NO_TIMED_POLLS,
  pngWorkflow,
  RecordingComfyLogger,
  samplerWorkflow,
  until,
} from './testing/comfyui-test-kit';

/** Clients of one server sharing one websocket through ComfySocketHubs, against the fake ComfyUI. */
describe('ComfySocketHub (one websocket per server)', () => {
  let fake: FakeComfyUI;
  let url: string;
  let hubs: ComfySocketHubs;
  const client = (options: ConstructorParameters<typeof ComfyUiClient>[1] = {}) =>
    new ComfyUiClient(url, { ...FAST, logger: new RecordingComfyLogger(), socketHubs: hubs, ...options });

  beforeEach(async () => {
    fake = new FakeComfyUI({ executionMsPerNode: 2, samplerStepMs: 5 });
    url = await fake.listen();
    hubs = new ComfySocketHubs(200);
  });
  afterEach(async () => {
    hubs.closeAll();
    await fake.close();
  });

  it('runs several prompts over one socket; each follows its own events to completion', async () => {
    const progress = new Map<string, ComfyProgress[]>();
    // No timed polls: a poll in flight when a prompt finishes could complete it from history first on a busy
    // machine; here only each prompt's own final message can.
    const runs = await Promise.all(
      [8, 12, 16].map((steps) =>
        client(NO_TIMED_POLLS).run(samplerWorkflow(steps), {
          onProgress: (p) => progress.set(p.promptId, [...(progress.get(p.promptId) ?? []), p]),
        }),
      ),
    );

    expect(fake.websocketConnections).toBe(1);
    expect(new Set(runs.map((run) => run.clientId)).size).toBe(1);
    expect(fake.prompts.map((prompt) => (prompt.body as { client_id: string }).client_id)).toEqual(
      runs.map((run) => run.clientId),
    );
    for (const [index, run] of runs.entries()) {
      expect(run.completedVia).toBe('websocket');
      const own = progress.get(run.promptId) ?? [];
      // Its own sampler steps, all of them, and nobody else's.
      expect(own.filter((p) => p.kind === 'progress').map((p) => p.max)).toContain([8, 12, 16][index]);
      expect(own.every((p) => p.promptId === run.promptId)).toBe(true);
    }
  });

  it('when the shared socket drops mid-run, every run still completes, over one new socket', async () => {
    fake.dropSocketsAfter({ afterEvent: 'executing', node: '4' });
    const runs = await Promise.all([client().run(samplerWorkflow(40)), client().run(samplerWorkflow(10))]);

    expect(runs.map((run) => run.outputs.length)).toEqual([1, 1]);
    // The drop, then one reconnect shared by both waits.
    expect(fake.websocketConnections).toBe(2);
  });

  it('closes the idle socket after a while and opens a new one for the next run', async () => {
    await client().run(pngWorkflow('first'));
    expect(fake.connectedClients).toHaveLength(1);
    await until(() => fake.connectedClients.length === 0);

    const second = await client().run(pngWorkflow('second'));
    expect(second.completedVia).toBe('websocket');
    expect(fake.websocketConnections).toBe(2);
  });

  it('a run with its own clientId keeps its own socket', async () => {
    const shared = await client().run(pngWorkflow('shared'));
    const own = await client().run(pngWorkflow('own'), { clientId: 'job-7' });
    expect(own.clientId).toBe('job-7');
    expect(shared.clientId).not.toBe('job-7');
    expect(fake.websocketConnections).toBe(2);
  });
});
