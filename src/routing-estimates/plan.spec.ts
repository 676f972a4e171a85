import type { Candidate } from './candidates';
import {
  DEADLINE_MISS_PREFIX,
  deadlineMissReason,
  iso,
  needsReplan,
  plan,
  plannedBackendOf,
  replan,
  replanAfterServerlessFailure,
} from './plan';

const NOW = Date.UTC(2026, 10, 29, 12);
const S = 1000;

function c(
  backend: Candidate['backend'],
  completeInS: number,
  costUsd: number,
  kind?: Candidate['kind'],
): Candidate {
  return {
    backend,
    kind: kind ?? (backend === 'pod' ? 'new-pod' : backend),
    workerClass: backend,
    workerId: backend,
    startAt: NOW,
    completeAt: NOW + completeInS * S,
    runSeconds: 10,
    costUsd,
  };
}

const local = c('local', 600, 0); // a long local queue
const pod = c('pod', 200, 0.05); // a new pod: boot first
const serverless = c('serverless', 60, 0.2);
const all = [local, pod, serverless];

describe('plan', () => {
  it('keeps serverless as a way out: a cheaper candidate that starts late only if serverless still fits after it', () => {
    const late = { ...c('local', 260, 0), startAt: NOW + 200 * S }; // a busy worker: starts in 200 s, done at 260 s
    const request = { preference: 'balanced' as const, maxCostUsd: null, now: NOW };
    // Deadline 270 s: the worker makes it on its estimate, but if it slips the re-planner notices by 215 s, when
    // serverless (60 s) would end at 275 s: too late. Serverless now.
    expect(plan([late, serverless], { ...request, deadline: NOW + 270 * S })).toMatchObject({
      candidate: serverless,
    });
    // Deadline 400 s: serverless sent at 215 s still completes at 275 s: the free worker is taken.
    expect(plan([late, serverless], { ...request, deadline: NOW + 400 * S })).toMatchObject({
      candidate: late,
    });
    // A candidate starting now needs no way out; without `now` the rule is off (the cheapest on time).
    expect(plan([c('local', 100, 0), serverless], { ...request, deadline: NOW + 110 * S })).toMatchObject({
      candidate: { backend: 'local' },
    });
    expect(
      plan([late, serverless], { preference: 'balanced', maxCostUsd: null, deadline: NOW + 270 * S }),
    ).toMatchObject({ candidate: late });
  });

  it("judges the way out at a cold start's p90 (wayOutStartS), not at the serverless candidate's own start", () => {
    // A video on a busy local worker: starts in 100 s, done at 350 s. Serverless now: a 25 s start (the mixture's
    // median) and a 300 s run. Deadline 440 s: sent when the slip is noticed (115 s), serverless completes at
    // 440 s on its own start; with a 55 s cold start, at 470 s: too late, so serverless now.
    const busyLocal = { ...c('local', 350, 0), startAt: NOW + 100 * S };
    const wayOut = { ...c('serverless', 325, 0.11), startAt: NOW + 25 * S };
    const request = { preference: 'balanced' as const, maxCostUsd: null, now: NOW, deadline: NOW + 440 * S };
    expect(plan([busyLocal, wayOut], request)).toMatchObject({ candidate: busyLocal });
    expect(plan([busyLocal, wayOut], { ...request, wayOutStartS: 55 })).toMatchObject({ candidate: wayOut });
    // A way out that starts later than that anyway (a full endpoint, 90 s) is judged at its own start: sent at
    // 115 s, it completes at 505 s.
    const behindQueue = { ...wayOut, startAt: NOW + 90 * S, completeAt: NOW + 390 * S };
    expect(
      plan([busyLocal, behindQueue], { ...request, deadline: NOW + 510 * S, wayOutStartS: 55 }),
    ).toMatchObject({ candidate: busyLocal });
    expect(
      plan([busyLocal, behindQueue], { ...request, deadline: NOW + 500 * S, wayOutStartS: 55 }),
    ).toMatchObject({ candidate: behindQueue });
    // A candidate that starts now needs no way out, whatever the cold start.
    expect(
      plan([c('local', 300, 0), wayOut], { ...request, deadline: NOW + 310 * S, wayOutStartS: 300 }),
    ).toMatchObject({ candidate: { backend: 'local' } });
  });

  it('judges the way out behind a local worker at its p90 run (runP90Seconds), not at its median', () => {
    // The same video: serverless now, a 25 s start and a 300 s median run whose p90 is 570 s (a Wan video's
    // lognormal spread). Sent when the slip is noticed (115 s) after a 55 s cold start, it completes at 470 s on
    // its median and at 740 s on its p90.
    const busyLocal = { ...c('local', 350, 0), startAt: NOW + 100 * S };
    const wayOut = { ...c('serverless', 325, 0.11), startAt: NOW + 25 * S, runSeconds: 300 };
    const request = { preference: 'balanced' as const, maxCostUsd: null, now: NOW, wayOutStartS: 55 };
    const longTail = { ...wayOut, runP90Seconds: 570 };
    for (const deadline of [480, 730]) {
      expect(plan([busyLocal, wayOut], { ...request, deadline: NOW + deadline * S })).toMatchObject({
        candidate: busyLocal,
      });
      expect(plan([busyLocal, longTail], { ...request, deadline: NOW + deadline * S })).toMatchObject({
        candidate: longTail,
      });
    }
    expect(plan([busyLocal, longTail], { ...request, deadline: NOW + 740 * S })).toMatchObject({
      candidate: busyLocal,
    });
    // The reason names the free worker passed over, and why.
    expect(plan([busyLocal, longTail], { ...request, deadline: NOW + 480 * S })).toMatchObject({
      why: expect.stringMatching(
        new RegExp(
          `; not local completing at ${iso(busyLocal.completeAt)} for \\$0\\.0000: it starts at ` +
            `${iso(busyLocal.startAt)}, and were that start to slip, serverless sent then would complete too late$`,
        ),
      ),
    });
    // A pod plan keeps the median way out (its own overrun rule leaves it room).
    const bootingPod = { ...busyLocal, backend: 'pod' as const, kind: 'new-pod' as const, costUsd: 0.02 };
    expect(plan([bootingPod, longTail], { ...request, deadline: NOW + 480 * S })).toMatchObject({
      candidate: bootingPod,
    });
  });

  it('says why a cheaper pod on time was passed over: it would be late if the job ran twice its estimate', () => {
    const pod200 = { ...c('pod', 205, 0.05), startAt: NOW + 5 * S, runSeconds: 200 };
    const p = plan([pod200, serverless], {
      preference: 'balanced',
      maxCostUsd: null,
      now: NOW,
      deadline: NOW + 300 * S,
    });
    expect(p).toMatchObject({
      candidate: serverless,
      why: expect.stringMatching(
        /; not pod \(new-pod\) completing at .*: a job there that ran 2 times its estimate would be late$/,
      ),
    });
    // With nothing cheaper passed over, the reason is the pick alone.
    expect(
      plan([pod200, serverless], {
        preference: 'balanced',
        maxCostUsd: null,
        now: NOW,
        deadline: NOW + 500 * S,
      }),
    ).toMatchObject({
      candidate: pod200,
      why: expect.not.stringContaining('; not '),
    });
  });

  it('picks the cheapest candidate that completes by the deadline', () => {
    expect(plan(all, { preference: 'balanced', deadline: NOW + 300 * S, maxCostUsd: null })).toMatchObject({
      kind: 'pick',
      candidate: pod,
      rule: 'deadline',
      missesDeadline: false,
    });
    // Only serverless makes it: serverless, though a pod is cheaper.
    const p = plan(all, { preference: 'cost', deadline: NOW + 100 * S, maxCostUsd: null });
    expect(p).toMatchObject({ kind: 'pick', candidate: serverless, rule: 'deadline' });
    expect(plannedBackendOf(p)).toBe('serverless');
    // A loose deadline: local is free.
    expect(plan(all, { preference: 'speed', deadline: NOW + 3600 * S, maxCostUsd: null })).toMatchObject({
      candidate: local,
    });
  });

  it('breaks cost ties by earlier completion, and completion ties by lower cost', () => {
    const slowFree = c('local', 500, 0);
    const fastFree = { ...c('local', 100, 0), workerId: 'other' };
    expect(
      plan([slowFree, fastFree], { preference: 'cost', deadline: null, maxCostUsd: null }),
    ).toMatchObject({
      candidate: fastFree,
    });
    const dear = c('serverless', 60, 0.3);
    const cheap = c('pod', 60, 0.1, 'ready-pod');
    expect(plan([dear, cheap], { preference: 'speed', deadline: null, maxCostUsd: null })).toMatchObject({
      candidate: cheap,
    });
  });

  it('keeps within maxCostUsd: the deadline candidates above it do not count', () => {
    // Serverless alone makes the deadline but costs more than allowed: the fastest within the cap, late.
    const p = plan(all, { preference: 'balanced', deadline: NOW + 100 * S, maxCostUsd: 0.1 });
    expect(p).toMatchObject({ kind: 'pick', candidate: pod, rule: 'max-cost', missesDeadline: true });
    expect(p.kind === 'pick' && p.why).toMatch(/deadline will be missed/);
    // maxCostUsd alone: the fastest within it.
    expect(plan(all, { preference: 'balanced', deadline: null, maxCostUsd: 0.01 })).toMatchObject({
      candidate: local,
      rule: 'max-cost',
      missesDeadline: false,
    });
  });

  it('is infeasible when nothing meets the constraints, naming the fastest candidate, its completion and cost', () => {
    const p = plan(all, { preference: 'balanced', deadline: NOW + 30 * S, maxCostUsd: null });
    expect(p).toMatchObject({ kind: 'infeasible', best: serverless });
    expect(p.kind === 'infeasible' && p.why).toContain(new Date(serverless.completeAt).toISOString());
    expect(p.kind === 'infeasible' && p.why).toContain('$0.2000');
    // A cost cap nothing fits.
    expect(
      plan([pod, serverless], { preference: 'balanced', deadline: null, maxCostUsd: 0.01 }),
    ).toMatchObject({
      kind: 'infeasible',
      best: serverless,
    });
    expect(plan([], { preference: 'cost', deadline: NOW + S, maxCostUsd: null })).toMatchObject({
      kind: 'infeasible',
      best: null,
    });
  });

  it('follows the operator preference without caller constraints; balanced leaves it to the fixed order', () => {
    expect(plan(all, { preference: 'cost', deadline: null, maxCostUsd: null })).toMatchObject({
      candidate: local,
    });
    expect(plan(all, { preference: 'speed', deadline: null, maxCostUsd: null })).toMatchObject({
      candidate: serverless,
    });
    const balanced = plan(all, { preference: 'balanced', deadline: null, maxCostUsd: null });
    expect(balanced).toEqual({ kind: 'fixed-order' });
    expect(plannedBackendOf(balanced)).toBeNull();
    // No candidate at all: nothing to prefer, the fixed order decides (and rejects or waits).
    expect(plan([], { preference: 'speed', deadline: null, maxCostUsd: null })).toEqual({
      kind: 'fixed-order',
    });
  });
});

describe('re-planning a queued job with a deadline', () => {
  it('is due when the planned start has passed by the grace, or the plan would now end after the deadline', () => {
    const job = { deadline: NOW + 300 * S, plannedStartAt: NOW + 60 * S, runSeconds: 30 };
    expect(needsReplan(job, NOW, 5 * S)).toBe(false);
    expect(needsReplan(job, NOW + 64 * S, 5 * S)).toBe(false);
    expect(needsReplan(job, NOW + 65 * S, 5 * S)).toBe(true);
    expect(needsReplan({ ...job, plannedStartAt: NOW + 280 * S }, NOW, 5 * S)).toBe(true);
  });

  it('takes a pod only if it would make the deadline with a run twice its estimate (a local worker need not)', () => {
    // A 240 s video on a pod that starts in 100 s and completes at 340 s; serverless would end at 60 s.
    const video = (backend: 'pod' | 'local') => ({
      ...c(backend, 340, 0.02, backend === 'pod' ? 'ready-pod' : 'local'),
      startAt: NOW + 100 * S,
      runSeconds: 240,
    });
    const request = { preference: 'balanced' as const, maxCostUsd: null, now: NOW };
    // Due at 500 s: a slip leaves serverless time (noticed at 115 s, done by 175 s), but run twice as long the
    // video would end at 580 s, and nothing could rescue it then: serverless.
    expect(plan([video('pod'), serverless], { ...request, deadline: NOW + 500 * S })).toMatchObject({
      candidate: serverless,
    });
    expect(plan([video('pod'), serverless], { ...request, deadline: NOW + 580 * S })).toMatchObject({
      candidate: { backend: 'pod' },
    });
    expect(plan([video('local'), serverless], { ...request, deadline: NOW + 500 * S })).toMatchObject({
      candidate: { backend: 'local' },
    });
    // Without serverless on time there is no way out to keep: the pod.
    expect(plan([video('pod')], { ...request, deadline: NOW + 500 * S })).toMatchObject({
      candidate: { backend: 'pod' },
    });
  });

  it('goes to serverless when serverless still makes a near deadline, even when the planner would pick a pod', () => {
    const request = { preference: 'cost' as const, deadline: NOW + 300 * S, maxCostUsd: null };
    expect(plan(all, request)).toMatchObject({ candidate: pod });
    expect(replan(all, request)).toMatchObject({
      kind: 'pick',
      candidate: serverless,
      why: expect.stringMatching(/re-planned/),
    });
  });

  it('keeps a job whose deadline is far on the planner, which keeps serverless as its way out', () => {
    // A pod in a nightly batch's queue: it starts in 40 minutes and completes in 45 minutes; due in an hour.
    const queuedPod = { ...c('pod', 2700, 0.05, 'ready-pod'), startAt: NOW + 2400 * S };
    const request = { preference: 'balanced' as const, maxCostUsd: null, now: NOW };
    // Serverless would end at 60 s: 3,540 s to spare, more than twice the run and 10 minutes (620 s).
    expect(replan([queuedPod, serverless], { ...request, deadline: NOW + 3600 * S })).toMatchObject({
      kind: 'pick',
      candidate: queuedPod,
      why: expect.stringMatching(/^the cheapest candidate/),
    });
    // Just under that room (619 s to spare): serverless now.
    expect(replan([queuedPod, serverless], { ...request, deadline: NOW + 679 * S })).toMatchObject({
      candidate: serverless,
    });
    // Room to spare, but the pod's start may slip past serverless's rescue (the re-planner notices at 2,315 s;
    // serverless then ends at 2,375 s, after a 2,360 s deadline): serverless, as the planner would at submit.
    const latePod = { ...queuedPod, startAt: NOW + 2300 * S, completeAt: NOW + 2310 * S };
    expect(replan([latePod, serverless], { ...request, deadline: NOW + 2360 * S })).toMatchObject({
      candidate: serverless,
    });
  });

  it('near the deadline, keeps a pod that completes with one more run and five minutes to spare', () => {
    // Due in 679 s: serverless (done at 60 s) has less than twice the run and ten minutes left, so it is near.
    const request = { preference: 'balanced' as const, maxCostUsd: null, now: NOW, deadline: NOW + 679 * S };
    const podDoneAt = (completeInS: number) => ({
      ...c('pod', completeInS, 0.01, 'ready-pod'),
      startAt: NOW + (completeInS - 10) * S,
    });
    // Done at 369 s: 310 s to spare (one 10 s run and 300 s): the last image of a batch keeps its pod.
    expect(replan([podDoneAt(369), serverless], request)).toMatchObject({
      kind: 'pick',
      candidate: { backend: 'pod' },
    });
    // Done at 370 s: 309 s to spare: serverless now.
    expect(replan([podDoneAt(370), serverless], request)).toMatchObject({
      candidate: serverless,
      why: expect.stringMatching(/re-planned: serverless still completes/),
    });
  });

  it('falls back to the planner without serverless, and says the deadline will be missed when nothing makes it', () => {
    expect(
      replan([local, pod], { preference: 'cost', deadline: NOW + 300 * S, maxCostUsd: null }),
    ).toMatchObject({
      candidate: pod,
    });
    const late = replan(all, { preference: 'cost', deadline: NOW + 30 * S, maxCostUsd: null });
    expect(late.kind).toBe('infeasible');
    if (late.kind !== 'infeasible') return;
    const reason = deadlineMissReason(NOW + 30 * S, late);
    expect(reason.startsWith(DEADLINE_MISS_PREFIX)).toBe(true);
    expect(reason).toContain('serverless');
  });
});

describe('re-planning a job serverless failed (the seed: fallback to on-demand)', () => {
  const request = (deadlineInS: number) => ({
    preference: 'balanced' as const,
    deadline: NOW + deadlineInS * S,
    maxCostUsd: null,
    now: NOW,
  });
  const freeLocal = c('local', 30, 0);

  it('takes a local worker or a pod that makes the deadline, not serverless, though serverless would too', () => {
    expect(replan(all, request(300))).toMatchObject({ candidate: serverless });
    expect(replanAfterServerlessFailure(all, request(300))).toMatchObject({ kind: 'pick', candidate: pod });
    expect(replanAfterServerlessFailure([freeLocal, pod, serverless], request(300))).toMatchObject({
      candidate: freeLocal,
    });
  });

  it('sends it to serverless again when only serverless makes the deadline', () => {
    expect(replanAfterServerlessFailure(all, request(100))).toMatchObject({
      kind: 'pick',
      candidate: serverless,
      missesDeadline: false,
      why: expect.stringMatching(/^serverless failed this job once, but only serverless can complete by/),
    });
    // A pod on time whose start may slip past serverless's rescue is no way to make it either.
    const latePod = { ...c('pod', 260, 0.05, 'booting-pod'), startAt: NOW + 200 * S };
    expect(replanAfterServerlessFailure([latePod, serverless], request(265))).toMatchObject({
      candidate: serverless,
    });
  });

  it('never sends it to serverless again to be late: nothing makes the deadline, the best option is no serverless', () => {
    const late = replanAfterServerlessFailure(all, request(30));
    expect(late).toMatchObject({ kind: 'infeasible', best: pod });
    const capped = replanAfterServerlessFailure(all, { ...request(30), maxCostUsd: 1 });
    expect(capped).toMatchObject({ kind: 'pick', candidate: pod, missesDeadline: true });
    expect(replanAfterServerlessFailure([serverless], request(30))).toMatchObject({
      kind: 'infeasible',
      best: null,
    });
  });
});
