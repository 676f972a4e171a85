import { EventEmitter2 } from '@nestjs/event-emitter';
import type { ComfyUiClientFactory } from '../comfyui/comfyui-client.factory';
import { FakeClock } from '../common/clock';
import { POD_CAPABILITIES_READ, PodCapabilitiesService } from './pod-capabilities.service';

const OBJECT_INFO = {
  CheckpointLoaderSimple: { input: { required: { ckpt_name: [['a.safetensors']] } } },
  KSampler: { input: { required: {} } },
};

function setup(fail: () => boolean = () => false) {
  const urls: string[] = [];
  const factory = {
    create: (url: string) => {
      urls.push(url);
      return {
        objectInfo: () => (fail() ? Promise.reject(new Error('pod down')) : Promise.resolve(OBJECT_INFO)),
        models: (folder?: string) => Promise.resolve(folder ? ['a.safetensors', 'b.safetensors'] : ['checkpoints']),
      };
    },
  } as unknown as ComfyUiClientFactory;
  const events = new EventEmitter2();
  const read: string[] = [];
  events.on(POD_CAPABILITIES_READ, (e: { podId: string }) => read.push(e.podId));
  const service = new PodCapabilitiesService(factory, new FakeClock(1_000), events);
  return { service, urls, read };
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
    let failing = false;
    const { service, urls } = setup(() => failing);
    await Promise.all([service.refresh('p1', 'http://pod-1'), service.refresh('p1', 'http://pod-1')]);
    expect(urls).toHaveLength(1);
    failing = true;
    await service.refresh('p1');
    expect(service.get('p1')?.nodeClasses).toHaveLength(2);
    service.onPodFailed({ podId: 'p1', name: 'n', reason: 'x', cost: 0 });
    expect(service.get('p1')).toBeUndefined();
  });
});
