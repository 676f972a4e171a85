import { FakeClock, SECOND } from '../../common/clock';
import type { CreatePodSpec } from '../pods-api';
import { GpuCapacityError, RunPodRequestError, RunPodUnavailableError } from '../runpod.errors';
import { InMemoryPodsApi } from './in-memory-pods-api';

const spec = (name: string, gpuTypeId = 'NVIDIA GeForce RTX 3090'): CreatePodSpec => ({
  name,
  imageName: 'example/comfyui:latest',
  gpuTypeId,
  cloudType: 'SECURE',
  ports: ['8188/http'],
  containerDiskInGb: 50,
  env: {},
});

describe('InMemoryPodsApi', () => {
  let clock: FakeClock;
  let api: InMemoryPodsApi;

  beforeEach(() => {
    clock = new FakeClock();
    api = new InMemoryPodsApi({ clock, bootMs: 60 * SECOND, provisioningMs: 10 * SECOND });
  });

  it('moves a pod PROVISIONING -> STARTING -> RUNNING on the clock, with a runtime only when RUNNING', async () => {
    const created = await api.create(spec('w-a'));
    expect(created).toMatchObject({ status: 'PROVISIONING', hasRuntime: false, costPerHour: 0.34 });
    expect(created.id).toHaveLength(14);
    expect(created.createdAt?.getTime()).toBe(clock.now());

    clock.advance(10 * SECOND);
    expect(await api.get(created.id)).toMatchObject({ status: 'STARTING', hasRuntime: false });
    clock.advance(50 * SECOND - 1);
    expect(await api.get(created.id)).toMatchObject({ status: 'STARTING', hasRuntime: false });
    clock.advance(1);
    expect(await api.get(created.id)).toMatchObject({ status: 'RUNNING', hasRuntime: true });
    expect(api.runningPods().map((pod) => pod.id)).toEqual([created.id]);
  });

  it('bills per second from creation to termination, partial seconds rounded up', async () => {
    const { id } = await api.create(spec('w-a'));
    clock.advance(3600 * SECOND + 1);
    await api.terminate(id);
    clock.advance(600 * SECOND); // nothing after termination
    expect(api.billedSeconds(id)).toBe(3601);
    expect(api.billedUsd(id)).toBeCloseTo((0.34 * 3601) / 3600, 10);
    expect(api.billedUsd()).toBeCloseTo(api.billedUsd(id), 10);
  });

  it('terminates idempotently; a terminated pod is gone from get and lists', async () => {
    const { id } = await api.create(spec('w-a'));
    clock.advance(5 * SECOND);
    await api.terminate(id);
    clock.advance(5 * SECOND);
    await expect(api.terminate(id)).resolves.toBeUndefined();
    await expect(api.terminate('never-existed')).resolves.toBeUndefined();
    expect(api.pod(id)?.terminatedAt).toBe(clock.now() - 5 * SECOND);
    expect(await api.get(id)).toBeNull();
    expect(await api.listByNamePrefix('w-')).toEqual([]);
    expect(api.calls('terminate').map((call) => call.arg)).toEqual([id, id, 'never-existed']);
  });

  it('lists by name prefix', async () => {
    await api.create(spec('ours-1'));
    await api.create(spec('ours-2'));
    await api.create(spec('theirs-1'));
    expect((await api.listByNamePrefix('ours-')).map((pod) => pod.name)).toEqual(['ours-1', 'ours-2']);
  });

  it('injects one-shot create faults: no capacity, an outage, a lost answer, a pod that never boots', async () => {
    api.failNextCreateWithNoCapacity().failNextCreateUnavailable().loseNextCreateAnswer().nextPodNeverBoots();

    await expect(api.create(spec('w-1'))).rejects.toBeInstanceOf(GpuCapacityError);
    await expect(api.create(spec('w-2'))).rejects.toBeInstanceOf(RunPodUnavailableError);
    expect(api.allPods()).toEqual([]);
    // The lost answer: RunPod has the pod although the caller got an error.
    await expect(api.create(spec('w-3'))).rejects.toBeInstanceOf(RunPodUnavailableError);
    expect((await api.listByNamePrefix('w-3')).map((pod) => pod.name)).toEqual(['w-3']);

    const stuck = await api.create(spec('w-4'));
    clock.advance(3600 * SECOND);
    expect(await api.get(stuck.id)).toMatchObject({ status: 'STARTING', hasRuntime: false });
    expect(api.billedSeconds(stuck.id)).toBe(3600);
    // Faults are one-shot.
    await expect(api.create(spec('w-5'))).resolves.toMatchObject({ name: 'w-5' });
    expect(api.calls('create').map((call) => call.failed)).toEqual([true, true, true, false, false]);
  });

  it('refuses a GPU type without capacity until it is restored, and says so in its stock levels', async () => {
    api.removeCapacity('NVIDIA GeForce RTX 4090');
    await expect(api.create(spec('w-1', 'NVIDIA GeForce RTX 4090'))).rejects.toMatchObject({
      gpuTypeId: 'NVIDIA GeForce RTX 4090',
    });
    const types = await api.listGpuTypes({ withStockIn: 'SECURE' });
    expect(types.find((type) => type.id === 'NVIDIA GeForce RTX 4090')?.stockStatus).toBe('NONE');
    api.restoreCapacity('NVIDIA GeForce RTX 4090');
    await expect(api.create(spec('w-2', 'NVIDIA GeForce RTX 4090'))).resolves.toMatchObject({
      costPerHour: 0.69,
    });
  });

  it('refuses an unknown GPU type as RunPod does (a rejected request)', async () => {
    await expect(api.create(spec('w-1', 'NVIDIA Imaginary 9000'))).rejects.toBeInstanceOf(RunPodRequestError);
  });

  it('fails the next call of any method once', async () => {
    api.failNext('listByNamePrefix');
    await expect(api.listByNamePrefix('w-')).rejects.toBeInstanceOf(RunPodUnavailableError);
    await expect(api.listByNamePrefix('w-')).resolves.toEqual([]);
  });

  it('models what happens outside the service: foreign pods, console terminations, stopped containers', async () => {
    const foreign = api.addForeignPod({ name: 'w-orphan' }, clock.now() - 120 * SECOND);
    expect(api.calls()).toEqual([]);
    expect(api.billedSeconds(foreign.id)).toBe(120);
    expect((await api.get(foreign.id))?.status).toBe('RUNNING');

    const { id } = await api.create(spec('w-a'));
    clock.advance(70 * SECOND);
    api.stopOutside(id, 'EXITED');
    clock.advance(30 * SECOND);
    expect(await api.get(id)).toMatchObject({ status: 'EXITED', costPerHour: 0, hasRuntime: false });
    expect(api.billedSeconds(id)).toBe(70);

    api.terminateOutside(foreign.id);
    expect(await api.get(foreign.id)).toBeNull();
  });

  it('reports REST v2 creation times; GraphQL does not say', async () => {
    const graphql = new InMemoryPodsApi({ clock, kind: 'graphql' });
    expect((await graphql.create(spec('w-a'))).createdAt).toBeNull();
  });

  it('resets to empty', async () => {
    await api.create(spec('w-a'));
    api.failNextCreateWithNoCapacity();
    api.reset();
    expect(api.allPods()).toEqual([]);
    expect(api.calls()).toEqual([]);
    await expect(api.create(spec('w-b'))).resolves.toMatchObject({ name: 'w-b' });
  });
});
