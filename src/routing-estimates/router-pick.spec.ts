import type { RouteDecision } from '../routing/routing.policy';
import type { Candidate } from './candidates';
import { routerPick, withLocalHold, withWarmWait } from './router-pick';

const NOW = 1_000_000;
const S = 1000;
const RULE = { allowanceS: (runS: number) => Math.max(30, 0.5 * runS) };

function local(workerId: string, startInS: number, runS = 10): Candidate {
  return {
    backend: 'local',
    kind: 'local',
    workerClass: workerId,
    workerId,
    startAt: NOW + startInS * S,
    completeAt: NOW + (startInS + runS) * S,
    runSeconds: runS,
    costUsd: 0,
  };
}

const serverless: Candidate = {
  backend: 'serverless',
  kind: 'serverless',
  workerClass: 'serverless:ep',
  workerId: 'ep',
  startAt: NOW + 2 * S,
  completeAt: NOW + 12 * S,
  runSeconds: 10,
  costUsd: 0.004,
};

describe('withLocalHold (a quote of the dispatcher’s wait for a busy local worker)', () => {
  const toServerless: RouteDecision = { kind: 'serverless' };
  const pickFor = (decision: RouteDecision, all: Candidate[]) =>
    withLocalHold(routerPick(decision, all), decision, all, NOW, RULE);

  it('waits for the local worker that starts the job within its allowance, instead of serverless', () => {
    const pick = pickFor(toServerless, [local('w1', 20), local('w2', 25), serverless]);
    expect(pick).toMatchObject({ decision: 'wait', candidate: { workerId: 'w1' } });
    expect(pick.why).toContain('local worker w1');
  });

  it('keeps the fixed order when no local worker starts it in time', () => {
    expect(pickFor(toServerless, [local('w1', 40), serverless])).toMatchObject({
      decision: 'serverless',
      candidate: serverless,
    });
  });

  it('lets a long job wait its per-run share, and leaves local and idle-pod decisions alone', () => {
    const idlePod: Candidate = {
      ...serverless,
      backend: 'pod',
      kind: 'ready-pod',
      workerClass: 'pod:A',
      workerId: 'p1',
    };
    expect(pickFor({ kind: 'pod' }, [local('w1', 5), idlePod])).toMatchObject({
      decision: 'pod',
      candidate: idlePod,
    });
    const video = local('w1', 100, 240);
    expect(pickFor(toServerless, [video, serverless]).candidate).toBe(video);
    const wait: RouteDecision = { kind: 'wait', reason: 'waiting for a pod', forPod: true, podOnly: false };
    expect(pickFor(wait, [local('w1', 5)]).why).toContain('local worker w1');
    expect(pickFor({ kind: 'local', workerId: 'w2' }, [local('w1', 5), local('w2', 0)]).decision).toBe(
      'local',
    );
  });
});

describe('withWarmWait (a quote of the dispatcher’s wait for a worker with the model loaded)', () => {
  const loaded = new Set(['warm']);
  const rule = { hasModelLoaded: (id: string) => loaded.has(id), loadS: 35 };
  const toCold: RouteDecision = { kind: 'local', workerId: 'cold' };
  const pickFor = (decision: RouteDecision, all: Candidate[]) =>
    withWarmWait(routerPick(decision, all), decision, all, NOW, rule);

  it('waits for the busy worker with the model loaded when it starts the job before a load would end', () => {
    const pick = pickFor(toCold, [local('cold', 0), local('warm', 5)]);
    expect(pick).toMatchObject({ decision: 'wait', candidate: { workerId: 'warm' } });
    expect(pick.why).toContain('local worker warm, which has it loaded');
  });

  it('takes the idle worker when the loaded one starts it later than a load would end', () => {
    expect(pickFor(toCold, [local('cold', 0), local('warm', 36)])).toMatchObject({
      decision: 'local',
      candidate: { workerId: 'cold' },
    });
  });

  it('keeps the idle worker that has the model loaded itself, and any decision that is not local', () => {
    const toWarm: RouteDecision = { kind: 'local', workerId: 'warm' };
    expect(pickFor(toWarm, [local('warm', 0), local('cold', 0)]).decision).toBe('local');
    expect(pickFor({ kind: 'serverless' }, [local('warm', 5), serverless]).decision).toBe('serverless');
  });
});
