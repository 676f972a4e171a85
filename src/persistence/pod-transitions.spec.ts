import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { PodEntity, type PodState } from './entities/pod.entity';
import { newPodRow } from './pod-row';
import { PodTransitions } from './pod-transitions';
import { PodsRepository } from './pods.repository';

const T0 = Date.UTC(2026, 10, 29, 9);
const ALL_STATES: PodState[] = [
  'requested',
  'starting',
  'ready',
  'busy',
  'terminating',
  'terminated',
  'failed',
];

describe('PodTransitions (SQLite, through the real repository)', () => {
  let dir: string;
  let dataSource: DataSource;
  let pods: PodsRepository;
  let transitions: PodTransitions;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pod-transitions-'));
    dataSource = await new DataSource(dataSourceOptions(loadConfig({ DATA_DIR: dir }))).initialize();
    pods = new PodsRepository(dataSource.getRepository(PodEntity));
    transitions = new PodTransitions(pods);
  });
  afterAll(async () => {
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await dataSource.getRepository(PodEntity).clear();
  });

  async function podIn(
    state: PodState,
    fields: Partial<PodEntity> = {},
    name = `cw-${state}`,
  ): Promise<string> {
    await transitions.create(
      newPodRow({
        name,
        state: 'requested',
        origin: 'manual',
        gpuTypeId: 'gpu',
        costPerHour: 1,
        requestedAt: T0,
      }),
    );
    await pods.update(name, { state, ...fields });
    return name;
  }

  const row = async (name: string): Promise<PodEntity> => (await pods.findByName(name))!;

  /** Runs `move` on a pod in each state; returns the states it applied from (and checks the others are untouched). */
  async function appliesFrom(move: (name: string) => Promise<boolean>): Promise<PodState[]> {
    const applied: PodState[] = [];
    for (const state of ALL_STATES) {
      const name = await podIn(state);
      const before = await row(name);
      if (await move(name)) applied.push(state);
      else expect(await row(name)).toEqual(before);
    }
    return applied;
  }

  it('newPodRow fills every other column with its empty value, and create writes it as given', async () => {
    const row0 = newPodRow({
      name: 'cw-new',
      state: 'requested',
      origin: 'autoscale',
      gpuTypeId: 'NVIDIA A40',
      costPerHour: 0.4,
      requestedAt: T0,
    });
    await transitions.create(row0);
    expect(await row('cw-new')).toEqual({
      name: 'cw-new',
      runpodId: null,
      state: 'requested',
      origin: 'autoscale',
      gpuTypeId: 'NVIDIA A40',
      costPerHour: 0.4,
      url: null,
      requestedAt: T0,
      createdAt: null,
      readyAt: null,
      lastBusyAt: null,
      busySince: null,
      idleMarkedAt: null,
      idleTimeoutMs: null,
      drainRequestedAt: null,
      terminateRequestedAt: null,
      terminatedAt: null,
      billedThrough: null,
      costUsd: 0,
      jobsProcessed: 0,
      failureReason: null,
    });
  });

  it('markStarting attaches RunPod’s pod to a requested row only, billing from its creation', async () => {
    const attachment = { runpodId: 'rp', url: 'http://pod', costPerHour: 0.5, createdAt: T0 + 5 };
    expect(
      await appliesFrom((name) => transitions.markStarting(name, { ...attachment, runpodId: name })),
    ).toEqual(['requested']);
    expect(await row('cw-requested')).toMatchObject({
      state: 'starting',
      runpodId: 'cw-requested',
      url: 'http://pod',
      costPerHour: 0.5,
      createdAt: T0 + 5,
      billedThrough: T0 + 5,
      gpuTypeId: 'gpu',
    });
    const name = await podIn('requested', {}, 'cw-gpu');
    await transitions.markStarting(name, { ...attachment, runpodId: 'rp-2', gpuTypeId: 'NVIDIA L4' });
    expect((await row(name)).gpuTypeId).toBe('NVIDIA L4');
  });

  it('markFailedBeforeCreate fails a requested row only, with nothing billed after now', async () => {
    expect(
      await appliesFrom((name) => transitions.markFailedBeforeCreate(name, 'never created', T0 + 9)),
    ).toEqual(['requested']);
    expect(await row('cw-requested')).toMatchObject({
      state: 'failed',
      failureReason: 'never created',
      terminatedAt: T0 + 9,
    });
  });

  it('markReady moves a starting pod only and starts its idle clock', async () => {
    expect(await appliesFrom((name) => transitions.markReady(name, T0 + 60_000))).toEqual(['starting']);
    expect(await row('cw-starting')).toMatchObject({
      state: 'ready',
      readyAt: T0 + 60_000,
      lastBusyAt: T0 + 60_000,
    });
  });

  it('markVanishedWhileBooting fails a starting pod only', async () => {
    expect(await appliesFrom((name) => transitions.markVanishedWhileBooting(name, 'gone'))).toEqual([
      'starting',
    ]);
    expect(await row('cw-starting')).toMatchObject({ state: 'failed', failureReason: 'gone' });
  });

  it('reserve takes a ready, undrained pod only and clears its idle mark', async () => {
    expect(await appliesFrom((name) => transitions.reserve(name, T0 + 1))).toEqual(['ready']);
    expect(await row('cw-ready')).toMatchObject({ state: 'busy', busySince: T0 + 1, idleMarkedAt: null });

    await dataSource.getRepository(PodEntity).clear();
    const draining = await podIn('ready', { drainRequestedAt: T0 });
    expect(await transitions.reserve(draining, T0 + 1)).toBe(false);
    expect((await row(draining)).state).toBe('ready');
  });

  it('reattach takes a ready pod for a job already running there, draining or not', async () => {
    expect(await appliesFrom((name) => transitions.reattach(name, T0 + 1))).toEqual(['ready']);
    expect(await row('cw-ready')).toMatchObject({ state: 'busy', busySince: T0 + 1 });

    await dataSource.getRepository(PodEntity).clear();
    const draining = await podIn('ready', { drainRequestedAt: T0, idleMarkedAt: T0 });
    expect(await transitions.reattach(draining, T0 + 1)).toBe(true);
    expect(await row(draining)).toMatchObject({ state: 'busy', idleMarkedAt: T0 });
  });

  it('release gives a busy pod back to the idle pool and restarts its idle clock', async () => {
    expect(await appliesFrom((name) => transitions.release(name, T0 + 2, 3))).toEqual(['busy']);
    expect(await row('cw-busy')).toMatchObject({
      state: 'ready',
      busySince: null,
      lastBusyAt: T0 + 2,
      jobsProcessed: 3,
    });
  });

  it('markIdle marks a ready pod only; clearIdleMark clears the mark in any state', async () => {
    expect(await appliesFrom((name) => transitions.markIdle(name, T0 + 3))).toEqual(['ready']);
    expect(await row('cw-ready')).toMatchObject({ state: 'ready', idleMarkedAt: T0 + 3 });
    await transitions.clearIdleMark('cw-ready');
    expect((await row('cw-ready')).idleMarkedAt).toBeNull();
  });

  it('setIdleTimeout stores the idle timeout the reaper gives a pod, in any state, and changes no state', async () => {
    for (const state of ALL_STATES) {
      const name = await podIn(state);
      await transitions.setIdleTimeout(name, 178_236);
      expect(await row(name)).toMatchObject({ state, idleTimeoutMs: 178_236 });
    }
  });

  it('markDraining marks a busy pod only', async () => {
    expect(await appliesFrom((name) => transitions.markDraining(name, T0 + 4))).toEqual(['busy']);
    expect(await row('cw-busy')).toMatchObject({ state: 'busy', drainRequestedAt: T0 + 4 });
  });

  it('claimIdle takes a ready pod only while it carries the same idle mark (the reaper’s re-check)', async () => {
    expect(await appliesFrom((name) => transitions.claimIdle(name, T0))).toEqual([]);
    await dataSource.getRepository(PodEntity).clear();
    const marked = await podIn('ready', { idleMarkedAt: T0 });
    expect(await transitions.claimIdle(marked, T0 + 1)).toBe(false);
    expect(await transitions.claimIdle(marked, T0)).toBe(true);
    expect((await row(marked)).state).toBe('terminating');
  });

  it('claimExpired takes a ready pod only', async () => {
    expect(await appliesFrom((name) => transitions.claimExpired(name))).toEqual(['ready']);
    expect((await row('cw-ready')).state).toBe('terminating');
  });

  it('claimForBudget takes a pod only while it is in the state the caller saw', async () => {
    expect(await appliesFrom((name) => transitions.claimForBudget(name, 'starting'))).toEqual(['starting']);
    await dataSource.getRepository(PodEntity).clear();
    expect(await appliesFrom((name) => transitions.claimForBudget(name, 'ready'))).toEqual(['ready']);
  });

  it('claimGone takes a starting, ready or busy pod', async () => {
    expect(await appliesFrom((name) => transitions.claimGone(name))).toEqual(['starting', 'ready', 'busy']);
  });

  it('beginTermination moves any live pod to terminating, recording why and when, and clears the idle mark', async () => {
    const fields = { failureReason: 'boot timeout', terminateRequestedAt: T0 + 7 };
    expect(await appliesFrom((name) => transitions.beginTermination(name, fields))).toEqual([
      'requested',
      'starting',
      'ready',
      'busy',
      'terminating',
    ]);
    expect(await row('cw-ready')).toMatchObject({ state: 'terminating', idleMarkedAt: null, ...fields });
  });

  it('finishTermination ends a terminating pod only', async () => {
    expect(await appliesFrom((name) => transitions.finishTermination(name, 'failed'))).toEqual([
      'terminating',
    ]);
    expect(await row('cw-terminating')).toMatchObject({ state: 'failed', busySince: null });
  });

  it('recordFoundRunPodId fills in the id of a terminating pod only', async () => {
    expect(await appliesFrom((name) => transitions.recordFoundRunPodId(name, `rp-${name}`, T0 + 8))).toEqual([
      'terminating',
    ]);
    expect(await row('cw-terminating')).toMatchObject({ runpodId: 'rp-cw-terminating', createdAt: T0 + 8 });
  });

  it('the record* writes change one fact and no state', async () => {
    const name = await podIn('busy');
    await transitions.recordGpuType(name, 'NVIDIA L4');
    await transitions.recordCostPerHour(name, 0.7);
    await transitions.recordTerminatedAt(name, T0 + 10);
    await transitions.recordBilled(name, T0 + 9, 1.25);
    expect(await row(name)).toMatchObject({
      state: 'busy',
      gpuTypeId: 'NVIDIA L4',
      costPerHour: 0.7,
      terminatedAt: T0 + 10,
      billedThrough: T0 + 9,
      costUsd: 1.25,
    });
  });
});
