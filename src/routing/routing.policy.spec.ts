import { decideRoute, type FleetSnapshot, type RoutableJob } from './routing.policy';

const busyFleet: FleetSnapshot = {
  idleLocalWorkers: [],
  localWorkersExist: true,
  idlePods: 0,
  podsPossible: true,
  serverlessAvailable: true,
  preferServerless: true,
  cloudBlockedReason: null,
};
const auto: RoutableJob = { requestedBackend: 'auto', podOnly: false };

describe('decideRoute', () => {
  it('prefers an idle local worker: it is free', () => {
    expect(
      decideRoute(auto, { ...busyFleet, idleLocalWorkers: ['local-a', 'local-b'], idlePods: 2 }),
    ).toEqual({
      kind: 'local',
      workerId: 'local-a',
    });
  });

  it('uses an idle ready pod when local is busy', () => {
    expect(decideRoute(auto, { ...busyFleet, idlePods: 1 })).toEqual({ kind: 'pod' });
  });

  it('prefers serverless for one-off jobs when no pod is idle', () => {
    expect(decideRoute(auto, busyFleet)).toEqual({ kind: 'serverless' });
  });

  it('waits for pods (the autoscaler demand) when serverless is not preferred', () => {
    expect(decideRoute(auto, { ...busyFleet, preferServerless: false })).toMatchObject({
      kind: 'wait',
      forPod: true,
      podOnly: false,
    });
  });

  it('counts a job as pod-only when nothing but a pod could take it', () => {
    const noLocalNoServerless = { ...busyFleet, localWorkersExist: false, serverlessAvailable: false };
    expect(decideRoute(auto, noLocalNoServerless)).toMatchObject({
      kind: 'wait',
      forPod: true,
      podOnly: true,
    });
  });

  it('uses serverless even when not preferred if pods are impossible', () => {
    expect(decideRoute(auto, { ...busyFleet, preferServerless: false, podsPossible: false })).toEqual({
      kind: 'serverless',
    });
  });

  it('waits for a local worker when no cloud is configured', () => {
    const localOnly = { ...busyFleet, podsPossible: false, serverlessAvailable: false };
    expect(decideRoute(auto, localOnly)).toMatchObject({ kind: 'wait', forPod: false });
  });

  it('rejects a job nothing could ever run', () => {
    const nothing = {
      ...busyFleet,
      localWorkersExist: false,
      podsPossible: false,
      serverlessAvailable: false,
    };
    expect(decideRoute(auto, nothing).kind).toBe('reject');
  });

  it('sends a job serverless failed over to a pod, never to serverless again (the seed: fallback to on-demand)', () => {
    const failedOver: RoutableJob = { requestedBackend: 'auto', podOnly: true };
    expect(decideRoute(failedOver, busyFleet)).toEqual({
      kind: 'wait',
      reason: 'serverless failed; waiting for a local worker or an on-demand pod',
      forPod: true,
      podOnly: true,
    });
    expect(decideRoute(failedOver, { ...busyFleet, idlePods: 1 })).toEqual({ kind: 'pod' });
    expect(decideRoute({ requestedBackend: 'cloud', podOnly: true }, busyFleet)).toEqual({
      kind: 'wait',
      reason: 'serverless failed; waiting for an on-demand pod',
      forPod: true,
      podOnly: true,
    });
  });

  it('gives an auto job serverless failed to a free local worker first: free, and not the cloud that failed it', () => {
    const failedOver: RoutableJob = { requestedBackend: 'auto', podOnly: true };
    const localFree = { ...busyFleet, idleLocalWorkers: ['local-a'], idlePods: 1 };
    expect(decideRoute(failedOver, localFree)).toEqual({ kind: 'local', workerId: 'local-a' });
    expect(decideRoute(failedOver, { ...localFree, cloudBlockedReason: 'Daily budget reached' })).toEqual({
      kind: 'local',
      workerId: 'local-a',
    });
    // A job that asked for a pod, or for the cloud, never runs locally.
    expect(decideRoute({ requestedBackend: 'pod', podOnly: true }, localFree)).toEqual({ kind: 'pod' });
    expect(decideRoute({ requestedBackend: 'cloud', podOnly: true }, localFree)).toEqual({ kind: 'pod' });
    expect(
      decideRoute({ requestedBackend: 'pod', podOnly: true }, { ...localFree, idlePods: 0 }),
    ).toMatchObject({ kind: 'wait', podOnly: true });
  });

  it('retries a job serverless failed over on serverless when no pod can ever be spawned, instead of losing it', () => {
    const failedOver: RoutableJob = { requestedBackend: 'auto', podOnly: true };
    const noPods = { ...busyFleet, podsPossible: false };
    expect(decideRoute(failedOver, noPods)).toEqual({ kind: 'serverless' });
    expect(decideRoute({ requestedBackend: 'cloud', podOnly: true }, noPods)).toEqual({ kind: 'serverless' });
    // With serverless gone too it waits for its local workers; rejected only when there are none, and a job
    // that asked for a pod never goes elsewhere.
    expect(decideRoute(failedOver, { ...noPods, serverlessAvailable: false })).toEqual({
      kind: 'wait',
      reason: 'serverless failed; waiting for a local worker',
      forPod: false,
      podOnly: false,
    });
    expect(
      decideRoute(failedOver, { ...noPods, serverlessAvailable: false, localWorkersExist: false }).kind,
    ).toBe('reject');
    expect(decideRoute({ requestedBackend: 'pod', podOnly: true }, noPods).kind).toBe('reject');
  });

  it('keeps local work going and holds cloud-only jobs with the reason when the budget blocks the cloud', () => {
    const blocked = { ...busyFleet, idlePods: 2, cloudBlockedReason: 'Daily budget reached' };
    expect(decideRoute(auto, { ...blocked, idleLocalWorkers: ['local-a'] })).toEqual({
      kind: 'local',
      workerId: 'local-a',
    });
    expect(decideRoute(auto, blocked)).toEqual({
      kind: 'wait',
      reason: 'Daily budget reached',
      forPod: false,
      podOnly: false,
    });
    expect(decideRoute({ requestedBackend: 'serverless', podOnly: false }, blocked)).toMatchObject({
      kind: 'wait',
    });
    expect(decideRoute({ requestedBackend: 'pod', podOnly: false }, blocked)).toMatchObject({
      kind: 'wait',
      forPod: false,
    });
  });

  describe('honours the backend override', () => {
    it('local: never goes to the cloud', () => {
      const job: RoutableJob = { requestedBackend: 'local', podOnly: false };
      expect(decideRoute(job, { ...busyFleet, idlePods: 3 })).toMatchObject({ kind: 'wait', forPod: false });
      expect(decideRoute(job, { ...busyFleet, localWorkersExist: false }).kind).toBe('reject');
    });

    it('serverless: goes to serverless even with idle local workers', () => {
      const job: RoutableJob = { requestedBackend: 'serverless', podOnly: false };
      expect(decideRoute(job, { ...busyFleet, idleLocalWorkers: ['local-a'] })).toEqual({
        kind: 'serverless',
      });
      expect(decideRoute(job, { ...busyFleet, serverlessAvailable: false }).kind).toBe('reject');
    });

    it('pod: waits for a pod as pod-only demand, or rejects when pods are impossible', () => {
      const job: RoutableJob = { requestedBackend: 'pod', podOnly: false };
      expect(decideRoute(job, busyFleet)).toMatchObject({ kind: 'wait', podOnly: true });
      expect(decideRoute(job, { ...busyFleet, podsPossible: false }).kind).toBe('reject');
    });

    it('cloud: skips local workers', () => {
      const job: RoutableJob = { requestedBackend: 'cloud', podOnly: false };
      expect(decideRoute(job, { ...busyFleet, idleLocalWorkers: ['local-a'] })).toEqual({
        kind: 'serverless',
      });
      expect(
        decideRoute(job, { ...busyFleet, idleLocalWorkers: ['local-a'], preferServerless: false }),
      ).toMatchObject({
        kind: 'wait',
        forPod: true,
      });
    });
  });

  describe("a planned backend (the job's deadline, maxCostUsd or ROUTING_PREFERENCE)", () => {
    it('routes as if the caller had asked for it', () => {
      const toServerless: RoutableJob = { ...auto, plannedBackend: 'serverless' };
      expect(decideRoute(toServerless, { ...busyFleet, idleLocalWorkers: ['local-a'] })).toEqual({
        kind: 'serverless',
      });
      const toPod: RoutableJob = { ...auto, plannedBackend: 'pod' };
      expect(decideRoute(toPod, { ...busyFleet, idleLocalWorkers: ['local-a'] })).toMatchObject({
        kind: 'wait',
        forPod: true,
      });
      expect(decideRoute(toPod, { ...busyFleet, idlePods: 1 })).toEqual({ kind: 'pod' });
      const toLocal: RoutableJob = { ...auto, plannedBackend: 'local' };
      expect(decideRoute(toLocal, { ...busyFleet, idlePods: 1 })).toMatchObject({
        kind: 'wait',
        forPod: false,
      });
    });

    it("gives way to the job's own backend when the plan cannot be followed", () => {
      const toServerless: RoutableJob = { ...auto, plannedBackend: 'serverless' };
      expect(decideRoute(toServerless, { ...busyFleet, serverlessAvailable: false, idlePods: 1 })).toEqual({
        kind: 'pod',
      });
      const failedOver: RoutableJob = {
        requestedBackend: 'auto',
        podOnly: true,
        plannedBackend: 'serverless',
      };
      expect(decideRoute(failedOver, { ...busyFleet, serverlessAvailable: false })).toMatchObject({
        kind: 'wait',
        podOnly: true,
      });
    });

    it('follows a plan made after a serverless failure (the re-planner reopens serverless only for a deadline nothing else makes)', () => {
      const failedOver = (plannedBackend: RoutableJob['plannedBackend']): RoutableJob => ({
        requestedBackend: 'auto',
        podOnly: true,
        plannedBackend,
      });
      expect(decideRoute(failedOver('serverless'), { ...busyFleet, idlePods: 1 })).toEqual({
        kind: 'serverless',
      });
      expect(
        decideRoute(
          { requestedBackend: 'serverless', podOnly: true, plannedBackend: 'serverless' },
          busyFleet,
        ),
      ).toEqual({ kind: 'serverless' });
      expect(decideRoute(failedOver('local'), { ...busyFleet, idlePods: 1 })).toMatchObject({
        kind: 'wait',
        forPod: false,
      });
      expect(decideRoute(failedOver('pod'), { ...busyFleet, idleLocalWorkers: ['local-a'] })).toMatchObject({
        kind: 'wait',
        forPod: true,
      });
    });
  });
});
