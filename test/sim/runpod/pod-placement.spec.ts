import { FakeClock, MINUTE } from '../../../src/common/clock';
import { FakeRunPod } from './fake-runpod';
import { CREATE_BODY, expectSchema, gql, rest, schemaErrors } from './spec-helpers';

/**
 * Network volumes, data centers and templates in the fake RunPod, as V2OAS (CreatePodRequest, Mounts, NetworkMount,
 * NetworkVolume) and reference/runpod.md §1.2 describe them; every request the fake records.
 */
describe('FakeRunPod pod placement: network volumes, data centers, templates', () => {
  let fake: FakeRunPod;

  beforeEach(async () => {
    fake = new FakeRunPod({
      clock: new FakeClock(),
      bootMs: 2 * MINUTE,
      networkVolumes: [
        { id: 'agv6w2qcg7', name: 'models', size: 100, dataCenterId: 'EU-RO-1', type: 'STANDARD' },
      ],
      podTemplates: [
        { id: 'tpl-comfy', image: 'tpl/image:1', disk: 30, env: { FROM_TEMPLATE: 't', SHARED: 'template' } },
      ],
    });
    await fake.start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  const FULL_BODY = {
    ...CREATE_BODY,
    env: { SHARED: 'body', HF_TOKEN: 'hf_x' },
    mounts: { network: [{ volumeId: 'agv6w2qcg7', path: '/workspace' }] },
    dataCenterIds: ['US-TX-3', 'EU-RO-1'],
    templateId: 'tpl-comfy',
  };

  it('REST v2: mounts the volume, places the pod in its data center, merges the template env, records the body', async () => {
    expect(schemaErrors('CreatePodRequest', FULL_BODY)).toEqual([]);
    const created = await rest(fake, 'POST', '/v2/pods', FULL_BODY);
    expect(created.status).toBe(201);
    expectSchema('Pod', created.body);
    expect(created.body).toMatchObject({
      image: CREATE_BODY.image, // explicit body fields override the template's
      disk: 50,
      mounts: { network: [{ volumeId: 'agv6w2qcg7', path: '/workspace' }] },
      dataCenterId: 'EU-RO-1',
      template: null, // "the created pod does not retain a link to the template"
      env: { FROM_TEMPLATE: 't', SHARED: 'body', HF_TOKEN: 'hf_x' },
    });
    const pod = fake.getPod(created.body.id)!;
    expect(pod).toMatchObject({
      dataCenterId: 'EU-RO-1',
      networkVolume: { id: 'agv6w2qcg7', path: '/workspace' },
      env: { FROM_TEMPLATE: 't', SHARED: 'body', HF_TOKEN: 'hf_x' },
      disk: 50,
    });
    expect(pod.requested).toEqual({
      api: 'rest',
      body: FULL_BODY,
      env: { SHARED: 'body', HF_TOKEN: 'hf_x' },
      disk: 50,
      networkVolume: { id: 'agv6w2qcg7', path: '/workspace' },
      dataCenterIds: ['US-TX-3', 'EU-RO-1'],
      templateId: 'tpl-comfy',
    });
  });

  it('REST v2: a template may give the image; its disk applies when the body has none', async () => {
    const { image: _image, disk: _disk, ...rest_ } = CREATE_BODY;
    const created = await rest(fake, 'POST', '/v2/pods', { ...rest_, templateId: 'tpl-comfy' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ image: 'tpl/image:1', disk: 30 });
  });

  it('REST v2: refuses what RunPod refuses, with the documented status classes', async () => {
    const post = (body: unknown) => rest(fake, 'POST', '/v2/pods', body);
    // 422: contract violations (networkVolumeId is REST v1's name, not v2's).
    for (const body of [
      { ...CREATE_BODY, networkVolumeId: 'agv6w2qcg7' },
      { ...CREATE_BODY, mounts: { network: [{ volumeId: 'agv6w2qcg7' }] } },
      { ...CREATE_BODY, mounts: { network: [{ volumeId: 'agv6w2qcg7', path: '/w', size: 10 }] } },
      { ...CREATE_BODY, mounts: { network: [{ volumeId: 'a', path: '/a' }, { volumeId: 'b', path: '/b' }] } },
      { ...CREATE_BODY, mounts: { networks: [] } },
      { ...CREATE_BODY, dataCenterIds: 'EU-RO-1' },
      { ...CREATE_BODY, env: { N: 1 } },
      { ...CREATE_BODY, templateId: '' },
    ]) {
      expect(schemaErrors('CreatePodRequest', body).length).toBeGreaterThan(0);
      const res = await post(body);
      expect({ body, status: res.status }).toEqual({ body, status: 422 });
      expectSchema('ErrorResponse', res.body);
    }
    // 400: the body matches the contract but was rejected.
    const both = await post({
      ...CREATE_BODY,
      mounts: { persistent: { size: 20, path: '/p' }, network: [{ volumeId: 'agv6w2qcg7', path: '/w' }] },
    });
    expect(both.status).toBe(400);
    const unknownVolume = await post({ ...CREATE_BODY, mounts: { network: [{ volumeId: 'nope', path: '/w' }] } });
    expect(unknownVolume.status).toBe(400);
    const elsewhere = await post({ ...FULL_BODY, dataCenterIds: ['US-TX-3'] });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.detail).toContain('EU-RO-1');
    // 404: "unknown or inaccessible" template.
    expect((await post({ ...CREATE_BODY, templateId: 'nope' })).status).toBe(404);
    expect(fake.listAllPods()).toEqual([]);
  });

  it('REST v2: lists and gets network volumes (schema-valid), 404 for unknown ids', async () => {
    const list = await rest(fake, 'GET', '/v2/network-volumes');
    expectSchema('ListNetworkVolumesResponse', list.body);
    expect(list.body.networkVolumes).toEqual([
      { id: 'agv6w2qcg7', name: 'models', size: 100, dataCenter: 'EU-RO-1', type: 'STANDARD' },
    ]);
    const one = await rest(fake, 'GET', '/v2/network-volumes/agv6w2qcg7');
    expectSchema('NetworkVolume', one.body);
    expect((await rest(fake, 'GET', '/v2/network-volumes/nope')).status).toBe(404);
    expect((await rest(fake, 'GET', '/v2/network-volumes/agv6w2qcg7', undefined, null)).status).toBe(401);
  });

  it('GraphQL: networkVolumeId, volumeMountPath, dataCenterId, templateId and env are taken and recorded', async () => {
    const input = {
      cloudType: 'SECURE',
      gpuCount: 1,
      gpuTypeId: 'NVIDIA GeForce RTX 4090',
      name: 'cw-gql',
      imageName: 'img:1',
      ports: '8188/http',
      containerDiskInGb: 60,
      volumeInGb: 0,
      env: [{ key: 'HF_TOKEN', value: 'hf_y' }],
      networkVolumeId: 'agv6w2qcg7',
      volumeMountPath: '/workspace',
      dataCenterId: 'EU-RO-1',
      templateId: 'tpl-comfy',
    };
    const res = await gql(
      fake,
      `mutation D($input: PodFindAndDeployOnDemandInput!) { podFindAndDeployOnDemand(input: $input) {
        id env networkVolumeId templateId containerDiskInGb machine { dataCenterId } } }`,
      { input },
    );
    expect(res.body.errors).toBeUndefined();
    expect(res.body.data.podFindAndDeployOnDemand).toMatchObject({
      env: ['FROM_TEMPLATE=t', 'SHARED=template', 'HF_TOKEN=hf_y'],
      networkVolumeId: 'agv6w2qcg7',
      templateId: 'tpl-comfy',
      containerDiskInGb: 60,
      machine: { dataCenterId: 'EU-RO-1' },
    });
    const pod = fake.getPod(res.body.data.podFindAndDeployOnDemand.id)!;
    expect(pod.requested).toEqual({
      api: 'graphql',
      body: input,
      env: { HF_TOKEN: 'hf_y' },
      disk: 60,
      networkVolume: { id: 'agv6w2qcg7', path: '/workspace' },
      dataCenterIds: ['EU-RO-1'],
      templateId: 'tpl-comfy',
    });

    const volumes = await gql(fake, 'query { myself { networkVolumes { id name size dataCenterId } } }');
    expect(volumes.body.data.myself.networkVolumes).toEqual([
      { id: 'agv6w2qcg7', name: 'models', size: 100, dataCenterId: 'EU-RO-1' },
    ]);
  });

  it('GraphQL: type errors and placement refusals are GraphQL errors (HTTP 200)', async () => {
    const deploy = (input: Record<string, unknown>) =>
      gql(fake, 'mutation D($input: PodFindAndDeployOnDemandInput!) { podFindAndDeployOnDemand(input: $input) { id } }', {
        input: { gpuTypeId: 'NVIDIA GeForce RTX 4090', name: 'x', imageName: 'i', ...input },
      });
    for (const input of [
      { dataCenterId: ['EU-RO-1'] },
      { networkVolumeId: 5 },
      { env: { HF_TOKEN: 'x' } },
      { networkVolumeId: 'nope' },
      { networkVolumeId: 'agv6w2qcg7', dataCenterId: 'US-TX-3' },
      { templateId: 'nope' },
    ]) {
      const res = await deploy(input);
      expect({ input, status: res.status, errors: res.body.errors?.length > 0 }).toEqual({
        input,
        status: 200,
        errors: true,
      });
    }
    expect(fake.listAllPods()).toEqual([]);
  });
});
