import { jest } from '@jest/globals';
import type { EventEmitter2 } from '@nestjs/event-emitter';
import type { SchedulerRegistry } from '@nestjs/schedule';
import type { Clock } from '../common/clock';
import type { ComfyUiClientFactory } from '../comfyui/comfyui-client.factory';
import type { ComfyUiHealthProbe } from '../comfyui/comfyui-health';
import type { AppConfig } from '../config/app-config';
import type { LocalWorkerEntity } from '../persistence/entities/local-worker.entity';
import type { EnrolmentTokensRepository } from '../persistence/enrolment-tokens.repository';
import type { LeaderElection } from '../persistence/leader-election.service';
import type { LocalWorkersRepository } from '../persistence/local-workers.repository';
import { secretHash } from './enrolment/enrolment-secrets';
import { ConflictError } from '../common/domain-errors';
import { LocalWorkersService, machineWorkerId } from './local-workers.service';

/** Registration decisions without a database: an in-memory table behind the repository's methods. */
function setup(rows: LocalWorkerEntity[] = [], recordWorker = async () => undefined) {
  const table = new Map(rows.map((row) => [row.id, { ...row }]));
  const repository = {
    findByMachineId: async (machineId: string) =>
      [...table.values()].find((r) => r.machineId === machineId) ?? null,
    findByUrl: async (url: string) => [...table.values()].find((r) => r.url === url) ?? null,
    insert: async (row: LocalWorkerEntity) => void table.set(row.id, { ...row }),
    replace: async (row: LocalWorkerEntity, expected: string | null) => {
      if (table.get(row.id)?.workerKeyHash !== expected) return false;
      table.set(row.id, { ...row });
      return true;
    },
  } as unknown as LocalWorkersRepository;
  const tokens = {
    consume: jest.fn(async () => true),
    release: jest.fn(async () => undefined),
    recordWorker: jest.fn(recordWorker),
  };
  const config = { local: { allowedNetworks: [], urls: [], concurrency: 1 } } as unknown as AppConfig;
  const service = new LocalWorkersService(
    config,
    repository,
    { systemStats: async () => null } as unknown as ComfyUiHealthProbe,
    { now: () => 1_000 } as unknown as Clock,
    {} as SchedulerRegistry,
    { emit: () => true } as unknown as EventEmitter2,
    { useAddressPolicy: () => undefined } as unknown as ComfyUiClientFactory,
    { isLeader: () => true } as unknown as LeaderElection,
    tokens as unknown as EnrolmentTokensRepository,
  );
  return { service, table, tokens };
}

const victim = (): LocalWorkerEntity => ({
  id: machineWorkerId('victim'),
  name: 'victim',
  url: 'http://127.0.0.1:8188',
  maxConcurrent: 1,
  createdAt: 1,
  machineId: 'victim',
  workerKeyHash: secretHash('cww_victim'),
  reported: null,
});

describe('LocalWorkersService.register', () => {
  it('refuses a token-only registration of a known machine id without its key, before consuming the token', async () => {
    const { service, table, tokens } = setup([victim()]);
    for (const previousWorkerKey of [undefined, 'cww_wrong'])
      await expect(
        service.register({
          url: 'http://127.0.0.1:9999',
          machineId: 'victim',
          enrolmentTokenHash: 'h',
          previousWorkerKey,
        }),
      ).rejects.toBeInstanceOf(ConflictError);
    expect(tokens.consume).not.toHaveBeenCalled();
    expect(table.get(victim().id)).toEqual(victim());
  });

  it('replaces it with the right previous key (new key), and for the admin key without one', async () => {
    const { service, table } = setup([victim()]);
    const mine = await service.register({
      url: 'http://127.0.0.1:9999',
      machineId: 'victim',
      enrolmentTokenHash: 'h',
      previousWorkerKey: 'cww_victim',
    });
    expect(mine.worker.id).toBe(victim().id);
    expect(table.get(victim().id)!.workerKeyHash).toBe(secretHash(mine.workerKey));
    const admin = await service.register({ url: 'http://127.0.0.1:9998', machineId: 'victim' });
    expect(table.get(victim().id)).toMatchObject({
      url: 'http://127.0.0.1:9998',
      workerKeyHash: secretHash(admin.workerKey),
    });
  });

  it('never takes over another machine id through the URL, even for the admin key', async () => {
    const { service, table } = setup();
    const first = await service.register({ url: victim().url, machineId: 'victim' });
    await expect(service.register({ url: victim().url, machineId: 'intruder' })).rejects.toBeInstanceOf(
      ConflictError,
    );
    expect([...table.keys()]).toEqual([first.worker.id]);
    expect(table.get(first.worker.id)!.workerKeyHash).toBe(secretHash(first.workerKey));
  });

  it('answers 201 with the key when linking the token to the worker fails afterwards', async () => {
    const { service, table } = setup([], async () => {
      throw new Error('database went away');
    });
    const answer = await service.register({
      url: 'http://127.0.0.1:9999',
      machineId: 'm',
      enrolmentTokenHash: 'h',
    });
    expect(answer.workerKey).toMatch(/^cww_/);
    expect(table.has(answer.worker.id)).toBe(true);
  });
});
