import { jest } from '@jest/globals';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import type { ComfyUiClientFactory } from '../comfyui/comfyui-client.factory';
import { FakeClock, MINUTE } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import type { PodEntity, PodState } from '../persistence/entities/pod.entity';
import type { LeaderElection } from '../persistence/leader-election.service';
import type { PodsRepository } from '../persistence/pods.repository';
import { POD_CAPABILITIES_READ, PodCapabilitiesService } from './pod-capabilities.service';

const OBJECT_INFO = {
  CheckpointLoaderSimple: { input: { required: { ckpt_name: [['a.safetensors']] } } },
  KSampler: { input: { required: {} } },
};
const INTERVAL_MS = 5 * MINUTE;
const TICK_MS = 5_000;

/** A pod's ComfyUI as the service reads it: its checkpoints can change, reads can fail or be held. */
interface FakePodComfy {
  checkpoints: string[];
  failing: boolean;
  /** When set, /object_info answers only once `release()` is called. */
  hold: boolean;
  release: () => void;
}

function setup(options: { leader?: boolean } = {}) {
  const urls: string[] = [];
  const comfies = new Map<string, FakePodComfy>();
  const comfyAt = (url: string): FakePodComfy => {
    let comfy = comfies.get(url);
    if (!comfy) {
      comfy = {
        checkpoints: ['a.safetensors', 'b.safetensors'],
        failing: false,
        hold: false,
        release: () => {},
      };
      comfies.set(url, comfy);
    }
    return comfy;
  };
  const factory = {
    create: (url: string) => {
      urls.push(url);
      const comfy = comfyAt(url);
      return {
        objectInfo: async () => {
          if (comfy.hold) await new Promise<void>((resolve) => (comfy.release = resolve));
          if (comfy.failing) throw new Error('pod down');
          return OBJECT_INFO;
        },
        models: (folder?: string) => Promise.resolve(folder ? [...comfy.checkpoints] : ['checkpoints']),
      };
    },
  } as unknown as ComfyUiClientFactory;
  const rows: Array<Pick<PodEntity, 'runpodId' | 'url' | 'state'>> = [];
  let listings = 0;
  let heldListing: ((release: () => void) => void) | undefined;
  const pods = {
    findInStates: async (states: readonly PodState[]) => {
      listings++;
      const answer = rows.filter((row) => states.includes(row.state));
      if (heldListing) {
        const hold = heldListing;
        heldListing = undefined;
        await new Promise<void>((resolve) => hold(resolve));
      }
      return answer;
    },
  } as unknown as PodsRepository;
  let leading = options.leader ?? true;
  const leader = { isLeader: () => leading } as unknown as LeaderElection;
  const config = {
    cloud: { podCapabilitiesIntervalMs: INTERVAL_MS, tickIntervalMs: TICK_MS },
  } as unknown as AppConfig;
  const events = new EventEmitter2();
  const read: string[] = [];
  events.on(POD_CAPABILITIES_READ, (e: { podId: string }) => read.push(e.podId));
  const clock = new FakeClock(1_000);
  const scheduler = new SchedulerRegistry();
  const service = new PodCapabilitiesService(factory, clock, events, config, pods, leader, scheduler);
  return {
    service,
    urls,
    read,
    rows,
    clock,
    scheduler,
    comfyAt,
    listings: () => listings,
    setLeader: (value: boolean) => (leading = value),
    holdNextListing: (hold: (release: () => void) => void) => (heldListing = hold),
  };
}

describe('PodCapabilitiesService', () => {
  it('reads a pod when it becomes ready, through its URL, and forgets it when it ends', async () => {
    const { service, urls, read } = setup();
    service.onPodReady({ podId: 'p1', url: 'http://pod-1', bootMs: 1 });
    await service.whenRead('p1');
    expect(urls).toEqual(['http://pod-1']);
    expect(service.get('p1')).toMatchObject({
      nodeClasses: ['CheckpointLoaderSimple', 'KSampler'],
      models: { checkpoints: ['a.safetensors', 'b.safetensors'] },
      fetchedAt: 1_000,
    });
    expect(read).toEqual(['p1']);
    service.onPodTerminated({ podId: 'p1', cost: 0, reason: 'idle' });
    expect(service.get('p1')).toBeUndefined();
    await service.refresh('p1'); // no URL known any more: nothing to read
    expect(urls).toHaveLength(1);
  });

  it('keeps what it knew when a later read fails, and shares a read in progress', async () => {
    const { service, urls, comfyAt } = setup();
    await Promise.all([service.refresh('p1', 'http://pod-1'), service.refresh('p1', 'http://pod-1')]);
    expect(urls).toHaveLength(1);
    comfyAt('http://pod-1').failing = true;
    await service.refresh('p1');
    expect(service.get('p1')?.nodeClasses).toHaveLength(2);
    service.onPodFailed({ podId: 'p1', name: 'n', reason: 'x', cost: 0 });
    expect(service.get('p1')).toBeUndefined();
  });

  describe('the periodic pass', () => {
    it('reads a ready or busy pod it never saw become ready (a restart, a new leader), not the others', async () => {
      const { service, rows, urls } = setup();
      rows.push(
        { runpodId: 'p1', url: 'http://pod-1', state: 'ready' },
        { runpodId: 'p2', url: 'http://pod-2', state: 'busy' },
        { runpodId: 'p3', url: 'http://pod-3', state: 'terminating' },
        { runpodId: 'p4', url: null, state: 'starting' },
      );
      expect(await service.refreshDue()).toBe(2);
      expect(urls.sort()).toEqual(['http://pod-1', 'http://pod-2']);
      expect(service.get('p1')?.models.checkpoints).toHaveLength(2);
      expect(service.get('p2')).toBeDefined();
      expect(service.get('p3')).toBeUndefined();
    });

    it('reads a pod again once the interval has passed, and then sees a model added meanwhile', async () => {
      const { service, rows, urls, read, clock, comfyAt } = setup();
      rows.push({ runpodId: 'p1', url: 'http://pod-1', state: 'ready' });
      await service.refreshDue();
      comfyAt('http://pod-1').checkpoints.push('c.safetensors');
      clock.advance(INTERVAL_MS - 1);
      expect(await service.refreshDue()).toBe(0); // not due yet: no read
      expect(urls).toHaveLength(1);
      expect(service.get('p1')?.models.checkpoints).toHaveLength(2);
      clock.advance(1);
      expect(await service.refreshDue()).toBe(1);
      expect(service.get('p1')?.models.checkpoints).toEqual([
        'a.safetensors',
        'b.safetensors',
        'c.safetensors',
      ]);
      expect(service.get('p1')?.fetchedAt).toBe(1_000 + INTERVAL_MS);
      expect(read).toEqual(['p1', 'p1']);
    });

    it('keeps what was known when a re-read fails, and tries again an interval later', async () => {
      const { service, rows, urls, clock, comfyAt } = setup();
      rows.push({ runpodId: 'p1', url: 'http://pod-1', state: 'busy' });
      await service.refreshDue();
      const comfy = comfyAt('http://pod-1');
      comfy.failing = true;
      comfy.checkpoints = [];
      clock.advance(INTERVAL_MS);
      expect(await service.refreshDue()).toBe(1);
      expect(service.get('p1')?.models.checkpoints).toEqual(['a.safetensors', 'b.safetensors']);
      expect(service.isReading('p1')).toBe(false);
      clock.advance(TICK_MS);
      expect(await service.refreshDue()).toBe(0); // a failing pod is not read on every tick
      comfy.failing = false;
      clock.advance(INTERVAL_MS);
      await service.refreshDue();
      expect(service.get('p1')?.models.checkpoints).toEqual([]);
      expect(urls).toHaveLength(3);
    });

    it('retries a pod whose first read failed sooner than the interval (it is unknown: routing lets it take anything)', async () => {
      const { service, rows, clock, comfyAt } = setup();
      rows.push({ runpodId: 'p1', url: 'http://pod-1', state: 'ready' });
      comfyAt('http://pod-1').failing = true;
      await service.refreshDue();
      expect(service.get('p1')).toBeUndefined();
      comfyAt('http://pod-1').failing = false;
      clock.advance(TICK_MS);
      expect(await service.refreshDue()).toBe(0);
      clock.advance(30_000);
      expect(await service.refreshDue()).toBe(1);
      expect(service.get('p1')).toBeDefined();
    });

    it('forgets a pod no longer ready or busy', async () => {
      const { service, rows } = setup();
      rows.push({ runpodId: 'p1', url: 'http://pod-1', state: 'ready' });
      await service.refreshDue();
      expect(service.anyKnown()).toBe(true);
      rows[0].state = 'terminated';
      await service.refreshDue();
      expect(service.get('p1')).toBeUndefined();
      expect(service.anyKnown()).toBe(false);
    });

    it('does not forget a pod that became ready while the pass was listing the pods', async () => {
      const { service, holdNextListing } = setup();
      let releaseListing!: () => void;
      holdNextListing((release) => (releaseListing = release));
      const pass = service.refreshDue(); // lists no pod (the row was not ready yet)
      await new Promise((resolve) => setImmediate(resolve));
      service.onPodReady({ podId: 'p2', url: 'http://pod-2', bootMs: 1 });
      releaseListing();
      await pass;
      await service.whenRead('p2');
      expect(service.get('p2')).toBeDefined();
    });

    it('a re-read does not make the pod "being read": routing keeps using what was known until it ends', async () => {
      const { service, rows, clock, comfyAt } = setup();
      rows.push({ runpodId: 'p1', url: 'http://pod-1', state: 'ready' });
      const comfy = comfyAt('http://pod-1');
      comfy.hold = true;
      const first = service.refreshDue();
      await new Promise((resolve) => setImmediate(resolve));
      expect(service.isReading('p1')).toBe(true); // the first read: no job until it ends
      expect(service.anyReading()).toBe(true);
      comfy.release();
      await first;
      comfy.checkpoints = ['c.safetensors'];
      clock.advance(INTERVAL_MS);
      const again = service.refreshDue();
      await new Promise((resolve) => setImmediate(resolve));
      expect(comfy.hold).toBe(true);
      expect(service.isReading('p1')).toBe(false);
      expect(service.anyReading()).toBe(false);
      expect(service.get('p1')?.models.checkpoints).toEqual(['a.safetensors', 'b.safetensors']);
      comfy.release();
      await again;
      expect(service.get('p1')?.models.checkpoints).toEqual(['c.safetensors']);
    });

    it('runs only on the leader, and at once when this instance becomes the leader', async () => {
      const { service, rows, listings, setLeader } = setup({ leader: false });
      rows.push({ runpodId: 'p1', url: 'http://pod-1', state: 'ready' });
      expect(await service.refreshDue()).toBe(0);
      expect(listings()).toBe(0);
      setLeader(true);
      service.onLeadership();
      expect(await service.refreshDue()).toBe(1); // shares the pass the event started
      expect(listings()).toBe(1);
      expect(service.get('p1')).toBeDefined();
    });
  });

  describe('the loop', () => {
    beforeEach(() => jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] }));
    afterEach(() => jest.useRealTimers());

    it('reads at boot as leader, then every tick what is due; stopped and awaited at shutdown', async () => {
      const { service, rows, urls, clock, comfyAt, scheduler } = setup();
      rows.push({ runpodId: 'p1', url: 'http://pod-1', state: 'ready' });
      service.onApplicationBootstrap();
      expect(scheduler.getIntervals()).toEqual(['pod-capabilities']);
      await jest.advanceTimersByTimeAsync(0);
      expect(service.get('p1')?.models.checkpoints).toHaveLength(2);
      comfyAt('http://pod-1').checkpoints.push('c.safetensors');
      clock.advance(INTERVAL_MS);
      await jest.advanceTimersByTimeAsync(TICK_MS);
      expect(service.get('p1')?.models.checkpoints).toHaveLength(3);
      expect(urls).toHaveLength(2);
      // A read in progress at shutdown is awaited; nothing runs after.
      comfyAt('http://pod-1').hold = true;
      clock.advance(INTERVAL_MS);
      await jest.advanceTimersByTimeAsync(TICK_MS);
      let stopped = false;
      const stopping = service.onModuleDestroy().then(() => (stopped = true));
      await jest.advanceTimersByTimeAsync(0);
      expect(stopped).toBe(false);
      comfyAt('http://pod-1').release();
      await stopping;
      expect(scheduler.getIntervals()).toEqual([]);
      clock.advance(INTERVAL_MS);
      await jest.advanceTimersByTimeAsync(TICK_MS * 3);
      expect(urls).toHaveLength(3);
      expect(await service.refreshDue()).toBe(0);
    });
  });
});
