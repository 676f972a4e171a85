import { CloudHarness } from './support/cloud-harness';
import { schemaErrors } from './sim/runpod/spec-helpers';

/**
 * Issue 11 §4 "Pods get their models": RUNPOD_NETWORK_VOLUME_ID, RUNPOD_DATA_CENTER_IDS, RUNPOD_TEMPLATE_ID,
 * RUNPOD_POD_ENV and RUNPOD_CONTAINER_DISK_GB reach RunPod through both pod APIs, as the fake received them; the
 * env values (secrets) appear in no API answer and no log line.
 */
const SECRET = 'hf_e2eSecretToken4242';
const OPTION = '--secret-option-7319';
const VOLUME = { id: 'vol-models', name: 'models', size: 200, dataCenterId: 'EU-RO-1', type: 'STANDARD' as const };
const TEMPLATE = { id: 'tpl-comfy', env: { FROM_TEMPLATE: '1' } };

function settingsEnv(podApi: 'rest' | 'graphql', dataCenters?: string): Record<string, string> {
  return {
    RUNPOD_NETWORK_VOLUME_ID: VOLUME.id,
    // GraphQL takes one data center; REST v2 a list, of which the service keeps the volume's.
    RUNPOD_DATA_CENTER_IDS: dataCenters ?? (podApi === 'rest' ? 'US-TX-3,EU-RO-1' : 'EU-RO-1'),
    RUNPOD_TEMPLATE_ID: TEMPLATE.id,
    RUNPOD_POD_ENV: JSON.stringify({ HF_TOKEN: SECRET, COMFY_ARGS: OPTION }),
    RUNPOD_CONTAINER_DISK_GB: '75',
  };
}

/** Every answer a caller can read about the fleet, as text. */
async function everythingVisible(h: CloudHarness): Promise<string> {
  const answers = [
    await h.get('/api/cloud/status'),
    await h.get('/api/cloud/pods'),
    await h.get('/api/cloud/cost'),
    await h.put('/api/cloud/config', { maxPods: 5 }),
    await h.get('/api/docs-json'),
  ];
  const metrics = await (await fetch(`${h.url}/metrics`)).text();
  return [...answers.map((a) => JSON.stringify(a)), metrics, h.logger.lines.join('\n')].join('\n');
}

describe.each(['rest', 'graphql'] as const)('pods get their models over RUNPOD_POD_API=%s', (podApi) => {
  let h: CloudHarness;

  afterEach(async () => {
    await h?.close();
  });

  it('spawns a pod with the volume, data center, template, env and disk, and shows no env value anywhere', async () => {
    h = await CloudHarness.start({
      podApi,
      sim: { networkVolumes: [VOLUME], podTemplates: [TEMPLATE] },
      env: settingsEnv(podApi),
    });
    const id = await h.spawnReadyPod({});
    const truth = h.fake.getPod(id)!;

    expect(truth.dataCenterId).toBe('EU-RO-1');
    expect(truth.networkVolume).toEqual({ id: VOLUME.id, path: '/workspace' });
    expect(truth.disk).toBe(75);
    // RunPod merges the template's env under the request's.
    expect(truth.env).toEqual({ FROM_TEMPLATE: '1', HF_TOKEN: SECRET, COMFY_ARGS: OPTION });
    expect(truth.requested).toMatchObject({
      api: podApi,
      env: { HF_TOKEN: SECRET, COMFY_ARGS: OPTION },
      disk: 75,
      networkVolume: { id: VOLUME.id, path: '/workspace' },
      dataCenterIds: ['EU-RO-1'],
      templateId: TEMPLATE.id,
    });
    const body = truth.requested.body as Record<string, unknown>;
    if (podApi === 'rest') {
      // The exact V2OAS CreatePodRequest, field names included.
      expect(schemaErrors('CreatePodRequest', body)).toEqual([]);
      expect(body).toMatchObject({
        disk: 75,
        env: { HF_TOKEN: SECRET, COMFY_ARGS: OPTION },
        mounts: { network: [{ volumeId: VOLUME.id, path: '/workspace' }] },
        dataCenterIds: ['EU-RO-1'],
        templateId: TEMPLATE.id,
      });
    } else {
      expect(body).toMatchObject({
        containerDiskInGb: 75,
        env: [
          { key: 'HF_TOKEN', value: SECRET },
          { key: 'COMFY_ARGS', value: OPTION },
        ],
        networkVolumeId: VOLUME.id,
        volumeMountPath: '/workspace',
        dataCenterId: 'EU-RO-1',
        templateId: TEMPLATE.id,
      });
    }
    expect(h.logger.has(/Network volume vol-models: pods go to data center EU-RO-1/)).toBe(true);

    // Once ready, what the pod can run is read through its URL and shown in the listing.
    let listed: any;
    await h.until(async () => {
      listed = (await h.get('/api/cloud/pods')).body.pods.find((p: any) => p.id === id);
      return listed?.capabilities !== null;
    });
    expect(listed.capabilities.nodeClasses).toBeGreaterThan(0);
    expect(listed.capabilities.fetchedAt).toBeGreaterThan(0);

    const visible = await everythingVisible(h);
    expect(visible).toContain(id);
    expect(visible).not.toContain(SECRET);
    expect(visible).not.toContain(OPTION);
  });

  it('refuses to spawn, with a message naming both settings, when the data centers exclude the volume’s', async () => {
    h = await CloudHarness.start({
      podApi,
      sim: { networkVolumes: [VOLUME], podTemplates: [TEMPLATE] },
      env: settingsEnv(podApi, 'US-TX-3'),
    });
    const spawn = await h.post('/api/cloud/spawn?wait=false', {});
    expect(spawn.status).toBe(503);
    expect(spawn.body.message).toContain(
      'RUNPOD_NETWORK_VOLUME_ID vol-models is in data center EU-RO-1, which RUNPOD_DATA_CENTER_IDS (US-TX-3) does not list',
    );
    await h.until(() => h.logger.has(/ERROR \[CloudPods\] Pods cannot be spawned yet: .*EU-RO-1/));
    expect(h.fake.listAllPods()).toEqual([]);
    expect((await h.get('/api/cloud/pods')).body.count).toBe(0);

    const visible = await everythingVisible(h);
    expect(visible).not.toContain(SECRET);
    expect(visible).not.toContain(OPTION);
  });
});
