import { UnavailableError } from '../common/domain-errors';
import { loadConfig } from '../config/app-config';
import type { PodsApi, RunPodNetworkVolume } from '../runpod/pods-api';
import { PodPlacementService } from './pod-placement.service';

const SECRET = 'hf_placementSecret123';

function service(env: Record<string, string>, volume: RunPodNetworkVolume | null | Error) {
  const calls: string[] = [];
  const api = {
    getNetworkVolume: (id: string) => {
      calls.push(id);
      return volume instanceof Error ? Promise.reject(volume) : Promise.resolve(volume);
    },
  } as unknown as PodsApi;
  return { placement: new PodPlacementService(loadConfig({ RUNPOD_API_KEY: 'k', ...env }), api), calls };
}

async function refusal(placement: PodPlacementService): Promise<Error> {
  try {
    await placement.createSettings();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected a refusal');
}

describe('PodPlacementService', () => {
  it('without a volume sends the configured settings and asks RunPod nothing', async () => {
    const { placement, calls } = service(
      {
        RUNPOD_DATA_CENTER_IDS: 'EU-RO-1,US-TX-3',
        RUNPOD_TEMPLATE_ID: 'tpl1',
        RUNPOD_POD_ENV: `{"HF_TOKEN":"${SECRET}"}`,
        RUNPOD_CONTAINER_DISK_GB: '70',
      },
      null,
    );
    await expect(placement.createSettings()).resolves.toEqual({
      containerDiskInGb: 70,
      env: { HF_TOKEN: SECRET },
      dataCenterIds: ['EU-RO-1', 'US-TX-3'],
      templateId: 'tpl1',
    });
    expect(calls).toEqual([]);
  });

  it('sends only the volume’s data center, asked once', async () => {
    const { placement, calls } = service(
      { RUNPOD_NETWORK_VOLUME_ID: 'vol1', RUNPOD_DATA_CENTER_IDS: 'US-TX-3,EU-RO-1' },
      { id: 'vol1', name: 'models', dataCenterId: 'EU-RO-1' },
    );
    const settings = await placement.createSettings();
    expect(settings).toMatchObject({
      networkVolume: { id: 'vol1', mountPath: '/workspace' },
      dataCenterIds: ['EU-RO-1'],
    });
    await placement.createSettings();
    expect(calls).toEqual(['vol1']);
  });

  it('with no data centers configured, pins pods to the volume’s (as runpod-python does)', async () => {
    const { placement } = service({ RUNPOD_NETWORK_VOLUME_ID: 'vol1' }, { id: 'vol1', name: '', dataCenterId: 'US-KS-2' });
    expect((await placement.createSettings()).dataCenterIds).toEqual(['US-KS-2']);
  });

  it('refuses when RUNPOD_DATA_CENTER_IDS does not list the volume’s data center, and asks again next time', async () => {
    const { placement, calls } = service(
      { RUNPOD_NETWORK_VOLUME_ID: 'vol1', RUNPOD_DATA_CENTER_IDS: 'US-TX-3', RUNPOD_POD_ENV: `{"T":"${SECRET}"}` },
      { id: 'vol1', name: '', dataCenterId: 'EU-RO-1' },
    );
    const error = await refusal(placement);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toBe(
      'Pods cannot be spawned: RUNPOD_NETWORK_VOLUME_ID vol1 is in data center EU-RO-1, which ' +
        'RUNPOD_DATA_CENTER_IDS (US-TX-3) does not list; a pod with a network volume runs in the volume’s data center',
    );
    expect(JSON.stringify({ message: error.message, details: (error as UnavailableError).details })).not.toContain(SECRET);
    await refusal(placement);
    expect(calls).toEqual(['vol1', 'vol1']);
  });

  it('refuses an unknown volume, and lets RunPod place the pod when it does not say where the volume is', async () => {
    expect((await refusal(service({ RUNPOD_NETWORK_VOLUME_ID: 'vol1' }, null).placement)).message).toContain(
      'RUNPOD_NETWORK_VOLUME_ID vol1 is not a network volume of this RunPod account',
    );
    const { placement } = service(
      { RUNPOD_NETWORK_VOLUME_ID: 'vol1', RUNPOD_DATA_CENTER_IDS: 'US-TX-3' },
      { id: 'vol1', name: '', dataCenterId: null },
    );
    expect((await placement.createSettings()).dataCenterIds).toEqual(['US-TX-3']);
  });

  it('passes a RunPod failure on (the next spawn asks again)', async () => {
    const { placement, calls } = service({ RUNPOD_NETWORK_VOLUME_ID: 'vol1' }, new Error('RunPod down'));
    await expect(placement.createSettings()).rejects.toThrow('RunPod down');
    await expect(placement.createSettings()).rejects.toThrow('RunPod down');
    expect(calls).toHaveLength(2);
  });
});
