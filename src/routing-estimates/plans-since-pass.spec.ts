import { CloudDemandBoard } from '../cloud/cloud-demand';
import type { Candidate } from './candidates';
import { CloudQueue } from './cloud-queue';
import { PlansSincePass } from './plans-since-pass';

const MAX_AGE_MS = 30_000;

function candidate(backend: Candidate['backend'], workerId: string | null, runSeconds = 30): Candidate {
  return {
    backend,
    kind: backend === 'pod' ? 'new-pod' : backend,
    workerClass: `${backend}:x`,
    workerId,
    startAt: 0,
    completeAt: runSeconds * 1000,
    runSeconds,
    runP90Seconds: runSeconds * 2,
    costUsd: 0.01,
  };
}

describe('PlansSincePass (cloud jobs planned at submit that no dispatch pass has seen)', () => {
  it('lists the jobs planned onto an endpoint as they will be sent, and the work planned onto pods', () => {
    const plans = new PlansSincePass(100, MAX_AGE_MS);
    plans.planned('a', candidate('serverless', 'e1'), 2, 1_000);
    plans.planned('b', candidate('serverless', 'e2'), 45, 2_000);
    plans.planned('c', candidate('pod', null, 240), 2, 3_000);
    plans.planned('d', candidate('pod', 'pod-1', 30), 2, 4_000);
    plans.planned('e', candidate('local', 'w1'), 0, 5_000);

    expect(plans.serverlessOn('e1', 5_000)).toEqual([
      { sentAt: 1_000, startDelayS: 2, medianS: 30, p90S: 60 },
    ]);
    expect(plans.serverlessOn('e2', 5_000)).toEqual([
      { sentAt: 2_000, startDelayS: 45, medianS: 30, p90S: 60 },
    ]);
    expect(plans.podWork(5_000)).toEqual({ count: 2, runS: 270 });
    // A local plan is no cloud work.
    expect(plans.size).toBe(4);
  });

  it('forgets a job once a pass that read the queue after it was queued has routed it, and jobs that started', () => {
    const plans = new PlansSincePass(100, MAX_AGE_MS);
    plans.planned('queued-before-read-3', candidate('serverless', 'e1'), 2, 0);
    plans.queued('queued-before-read-3', 2);
    plans.planned('queued-after-read-3', candidate('serverless', 'e1'), 2, 0);
    plans.queued('queued-after-read-3', 3);
    plans.planned('not-queued-yet', candidate('serverless', 'e1'), 2, 0);
    plans.seenBy(3);
    expect(plans.serverlessOn('e1', 0)).toHaveLength(2);
    plans.seenBy(4);
    // A read does not see a job before its row is written.
    expect(plans.serverlessOn('e1', 0)).toHaveLength(1);
    plans.queued('not-queued-yet', 4);
    plans.seenBy(5);
    expect(plans.serverlessOn('e1', 0)).toEqual([]);

    plans.planned('started', candidate('pod', null), 2, 0);
    plans.forget('started');
    expect(plans.podWork(0)).toEqual({ count: 0, runS: 0 });
  });

  it('stops counting a plan no pass saw after maxAgeMs (an instance whose passes do not run)', () => {
    const plans = new PlansSincePass(2, MAX_AGE_MS);
    plans.planned('a', candidate('serverless', 'e1'), 2, 0);
    plans.planned('b', candidate('pod', null), 2, 0);
    expect(plans.serverlessOn('e1', MAX_AGE_MS)).toHaveLength(1);
    expect(plans.serverlessOn('e1', MAX_AGE_MS + 1)).toEqual([]);
    expect(plans.podWork(MAX_AGE_MS + 1).count).toBe(0);
    // Full: the stale ones make room for a new plan.
    plans.planned('c', candidate('serverless', 'e1'), 2, MAX_AGE_MS + 1);
    expect(plans.size).toBe(1);
    expect(plans.serverlessOn('e1', MAX_AGE_MS + 1)).toHaveLength(1);
  });

  it('drops a plan when the demand board hears that a queue read after the job was queued has been routed', () => {
    const board = new CloudDemandBoard();
    const plans = new PlansSincePass(100, MAX_AGE_MS);
    board.onQueueRouted((read) => plans.seenBy(read));
    const first = board.queueRead();
    plans.planned('a', candidate('serverless', 'e1'), 2, 0);
    plans.queued('a', board.queueReads);
    first(); // read before job a was queued
    expect(plans.size).toBe(1);
    const second = board.queueRead();
    second();
    expect(plans.size).toBe(0);
  });
});

describe('CloudQueue.ahead with the jobs planned onto pods since the last pass', () => {
  const queue = new CloudQueue([
    { id: 'q1', runS: 30 },
    { id: 'q2', runS: 90 },
  ]);

  it('puts a new job behind the queue and those plans; a queued job only behind the jobs ahead of it', () => {
    expect(queue.ahead(undefined, { count: 2, runS: 480 })).toEqual({ podQueueAhead: 4, podAheadJobS: 150 });
    expect(queue.ahead(undefined)).toEqual({ podQueueAhead: 2, podAheadJobS: 60 });
    expect(queue.ahead('q2', { count: 2, runS: 480 })).toEqual({ podQueueAhead: 1, podAheadJobS: 30 });
    expect(new CloudQueue([]).ahead(undefined, { count: 0, runS: 0 })).toEqual({ podQueueAhead: 0 });
  });
});
