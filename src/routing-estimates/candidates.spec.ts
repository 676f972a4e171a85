import fc from 'fast-check';
import {
  allowedBackends,
  type CandidateInputs,
  candidates,
  DEFAULT_COLD_START_P90_S,
  DEFAULT_COLD_START_S,
  DEFAULT_WARM_START_S,
  newPodStartAt,
  type PodInput,
  podJobAttributionUsd,
  scheduleAhead,
  serverlessLikelyWarm,
  serverlessStartDelays,
} from './candidates';
import { FIXED_ORDER, routerPick } from './router-pick';

const NOW = 1_800_000_000_000;
const S = 1000;

function inputs(overrides: Partial<CandidateInputs> = {}): CandidateInputs {
  return {
    now: NOW,
    runSeconds: (workerClass) => (workerClass.startsWith('pod:') ? 5 : 10),
    local: [],
    localQueueAhead: 0,
    podQueueAhead: 0,
    aheadJobS: 20,
    pods: [],
    newPod: null,
    bootS: 150,
    keepAliveS: 300,
    serverless: [],
    ...overrides,
  };
}

/** A ready pod at $3.60/h, up for 15 minutes, idle since now. */
function readyPod(name: string): PodInput {
  return {
    name,
    workerClass: 'pod:A',
    state: 'ready',
    pricePerHour: 3.6,
    createdAt: NOW - 900 * S,
    busySince: null,
    idleSince: NOW,
  };
}

describe('candidates', () => {
  it('starts a job on a free local slot now, free of charge', () => {
    const [c] = candidates(inputs({ local: [{ id: 'w1', workerClass: 'w1', slots: 1, busyUntil: [] }] }));
    expect(c).toEqual({
      backend: 'local',
      kind: 'local',
      workerClass: 'w1',
      workerId: 'w1',
      startAt: NOW,
      completeAt: NOW + 10 * S,
      runSeconds: 10,
      runP90Seconds: 10,
      costUsd: 0,
    });
  });

  it("carries each class's p90 run, never below its median (the median when none is given)", () => {
    const local = [{ id: 'w1', workerClass: 'w1', slots: 1, busyUntil: [] }];
    const [withP90] = candidates(inputs({ local, runP90Seconds: () => 19 }));
    expect(withP90).toMatchObject({ runSeconds: 10, runP90Seconds: 19 });
    const [floored] = candidates(inputs({ local, runP90Seconds: () => 4 }));
    expect(floored).toMatchObject({ runSeconds: 10, runP90Seconds: 10 });
    const [broken] = candidates(inputs({ local, runP90Seconds: () => Number.NaN }));
    expect(broken).toMatchObject({ runP90Seconds: 10 });
  });

  it('starts on a busy local worker when its running job ends, after the queue ahead took the first free slots', () => {
    const local = [
      { id: 'w1', workerClass: 'w1', slots: 1, busyUntil: [NOW + 30 * S] },
      { id: 'w2', workerClass: 'w2', slots: 1, busyUntil: [NOW + 5 * S] },
    ];
    const alone = candidates(inputs({ local }));
    expect(alone.map((c) => [c.workerId, c.startAt])).toEqual([
      ['w1', NOW + 30 * S],
      ['w2', NOW + 5 * S],
    ]);
    // Two jobs of 20 s ahead: the first takes w2 at 5 s (free at 25 s), the second w2 again at 25 s (w1 is free
    // only at 30 s), so w2 is free at 45 s and w1 at 30 s.
    const behind = candidates(inputs({ local, localQueueAhead: 2 }));
    expect(behind.map((c) => [c.workerId, c.startAt])).toEqual([
      ['w1', NOW + 30 * S],
      ['w2', NOW + 45 * S],
    ]);
  });

  it('never starts in the past (a running job over its estimate frees its slot now)', () => {
    const [c] = candidates(
      inputs({ local: [{ id: 'w1', workerClass: 'w1', slots: 1, busyUntil: [NOW - 60 * S] }] }),
    );
    expect(c.startAt).toBe(NOW);
  });

  it('prices an idle pod at its run plus the idle time it had already used of the keep-alive', () => {
    const pod = {
      name: 'p1',
      workerClass: 'pod:A',
      state: 'ready' as const,
      pricePerHour: 3.6, // $0.001/s
      createdAt: NOW - 600 * S,
      busySince: null,
      idleSince: NOW - 100 * S,
    };
    const [fresh] = candidates(inputs({ pods: [pod] }));
    expect(fresh).toMatchObject({ kind: 'ready-pod', startAt: NOW, completeAt: NOW + 5 * S });
    expect(fresh.costUsd).toBeCloseTo(0.001 * (5 + 100));
    const [longIdle] = candidates(inputs({ pods: [{ ...pod, idleSince: NOW - 10_000 * S }] }));
    expect(longIdle.costUsd).toBeCloseTo(0.001 * (5 + 300)); // a whole keep-alive at most
  });

  it('starts on a busy pod when its job ends, on a booting pod when it is up, and on a new pod after a boot', () => {
    const list = candidates(
      inputs({
        pods: [
          {
            name: 'busy',
            workerClass: 'pod:A',
            state: 'busy',
            pricePerHour: 3.6,
            createdAt: NOW - 900 * S,
            busySince: NOW - 5 * S,
            idleSince: null,
          },
          {
            name: 'boot',
            workerClass: 'pod:A',
            state: 'starting',
            pricePerHour: 3.6,
            createdAt: NOW - 100 * S,
            busySince: null,
            idleSince: null,
          },
        ],
        newPod: { workerClass: 'pod:A', pricePerHour: 3.6 },
      }),
    );
    expect(list.map((c) => [c.kind, c.workerId, (c.startAt - NOW) / S])).toEqual([
      ['ready-pod', 'busy', 15],
      ['booting-pod', 'boot', 50],
      ['new-pod', null, 150],
    ]);
    expect(list[0].costUsd).toBeCloseTo(0.005);
    expect(list[1].costUsd).toBeCloseTo(0.005);
    expect(list[2].costUsd).toBeCloseTo(0.001 * (150 + 5 + 300));
  });

  it('starts a pod job after the jobs waiting for a pod ahead of it, at their own mean run when given', () => {
    const ready = readyPod('ready');
    // Ten jobs ahead on one pod: at the typical job (20 s) it starts in 200 s; behind ten 6 s images, in 60 s.
    const behind = (podAheadJobS?: number) =>
      candidates(inputs({ pods: [ready], podQueueAhead: 10, podAheadJobS }))[0].startAt - NOW;
    expect(behind()).toBe(200 * S);
    expect(behind(6)).toBe(60 * S);
  });

  it('spreads the jobs waiting for a pod over the new pods that may still start', () => {
    // No live pod, 10 jobs ahead at 20 s: on one new pod this job starts after a boot and 200 s; with room for
    // five, after a boot and two jobs each.
    const newPodStart = (room?: number) =>
      candidates(inputs({ podQueueAhead: 10, newPod: { workerClass: 'pod:A', pricePerHour: 3.6, room } }))[0]
        .startAt - NOW;
    expect(newPodStart()).toBe(350 * S);
    expect(newPodStart(5)).toBe(190 * S);
  });

  it('starts a new pod job behind the share of the queue the booting pods leave to it', () => {
    // One pod booting (up in 50 s), room for one more (up in 150 s), ten 20 s jobs ahead. The booting pod takes
    // the jobs at 50, 70, ..., 130 s alone; from 150 s the two share them: the tenth is taken at 170 s, and this
    // job starts at 190 s on the first free, not at the new pod's 150 s as if the queue were not there.
    const boot: PodInput = {
      ...readyPod('boot'),
      state: 'starting',
      createdAt: NOW - 100 * S,
      idleSince: null,
    };
    const list = candidates(
      inputs({
        pods: [boot],
        podQueueAhead: 10,
        newPod: { workerClass: 'pod:A', pricePerHour: 3.6, room: 1 },
      }),
    );
    expect(list.map((c) => [c.kind, (c.startAt - NOW) / S])).toEqual([
      ['booting-pod', 250],
      ['new-pod', 190],
    ]);
    // With the queue empty the new pod starts at its boot, whatever the live pods do.
    const empty = candidates(inputs({ pods: [boot], newPod: { workerClass: 'pod:A', pricePerHour: 3.6 } }));
    expect((empty[1].startAt - NOW) / S).toBe(150);
  });

  it('never starts a new pod job before its boot, nor later for more room or fewer jobs ahead', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 600 }), { maxLength: 6 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 200 }),
        (liveFreeInS, room, ahead) => {
          const upAt = NOW + 150 * S;
          const live = liveFreeInS.map((s) => NOW + s * S);
          const start = newPodStartAt(live, room, upAt, ahead, 20 * S);
          expect(start).toBeGreaterThanOrEqual(upAt);
          expect(newPodStartAt(live, room + 1, upAt, ahead, 20 * S)).toBeLessThanOrEqual(start);
          if (ahead > 0)
            expect(newPodStartAt(live, room, upAt, ahead - 1, 20 * S)).toBeLessThanOrEqual(start);
        },
      ),
    );
  });

  it('prices a new pod at the run alone when the cloud work ahead starts every pod that may start', () => {
    const serverless = (queued: number) => ({
      endpointId: 'e',
      workerClass: 'serverless:e',
      pricePerSecond: 0.001,
      overheadS: 0,
      warm: true,
      warmStartS: 2,
      coldStartS: 45,
      saturated: queued > 0,
      queued,
    });
    // $3.60/h is $0.001/s; the pod's run is 5 s. Room for five new pods.
    const newPodCost = (podQueueAhead: number, queuedAtRunPod: number) =>
      candidates(
        inputs({
          podQueueAhead,
          newPod: { workerClass: 'pod:A', pricePerHour: 3.6, room: 5 },
          serverless: [serverless(queuedAtRunPod)],
        }),
      ).find((c) => c.kind === 'new-pod')!.costUsd;
    // Four jobs ahead for five pods: this job opens the fifth, and pays its boot and keep-alive.
    expect(newPodCost(4, 0)).toBeCloseTo(0.001 * (150 + 5 + 300));
    // Five ahead: every pod that may start has a job before this one; the job moves one's end by its run.
    expect(newPodCost(5, 0)).toBeCloseTo(0.001 * 5);
    // A burst beyond serverless's workers (jobs waiting in RunPod's queue) counts as work ahead too.
    expect(newPodCost(2, 3)).toBeCloseTo(0.001 * 5);
    expect(newPodCost(2, 2)).toBeCloseTo(0.001 * (150 + 5 + 300));
  });

  it('starts on a busy pod when the estimate of the job it runs says, when known (a video runs minutes)', () => {
    const busy = {
      name: 'busy',
      workerClass: 'pod:A',
      state: 'busy' as const,
      pricePerHour: 3.6,
      createdAt: NOW - 900 * S,
      busySince: NOW - 5 * S,
      idleSince: null,
    };
    const [video] = candidates(inputs({ pods: [{ ...busy, busyUntil: NOW + 235 * S }] }));
    expect((video.startAt - NOW) / S).toBe(235);
    const [typical] = candidates(inputs({ pods: [busy] }));
    expect((typical.startAt - NOW) / S).toBe(15);
  });

  it('gives serverless the warm or cold start delay and prices it per second with the overhead', () => {
    const serverless = {
      endpointId: 'ep',
      workerClass: 'serverless:ep',
      pricePerSecond: 0.0004,
      overheadS: 5,
      warm: true,
      warmStartS: 2,
      coldStartS: 45,
      saturated: false,
    };
    const [warm] = candidates(inputs({ serverless: [serverless] }));
    expect(warm).toMatchObject({ startAt: NOW + 2 * S, completeAt: NOW + 12 * S });
    expect(warm.costUsd).toBeCloseTo(0.0004 * 15);
    const [cold] = candidates(inputs({ serverless: [{ ...serverless, warm: false }] }));
    expect(cold.startAt).toBe(NOW + 45 * S);
    const [full] = candidates(inputs({ serverless: [{ ...serverless, saturated: true }] }));
    expect(full.startAt).toBe(NOW + 22 * S);
    // Saturated, with the jobs in flight known: the worker that frees first, warm (cold or not now).
    const [behind] = candidates(
      inputs({ serverless: [{ ...serverless, warm: false, saturated: true, freeAt: NOW + 200 * S }] }),
    );
    expect(behind.startAt).toBe(NOW + 202 * S);
    const [overdue] = candidates(
      inputs({ serverless: [{ ...serverless, saturated: true, freeAt: NOW - 5 * S }] }),
    );
    expect(overdue.startAt).toBe(NOW + 2 * S);
  });

  it('computes a quote for 50 workers behind 1,000 queued jobs in a few milliseconds at most', () => {
    const local = Array.from({ length: 50 }, (_, i) => ({
      id: `w${i}`,
      workerClass: `w${i}`,
      slots: 1,
      busyUntil: [NOW + i * S],
    }));
    const big = inputs({ local, localQueueAhead: 1000 });
    candidates(big);
    const started = performance.now();
    for (let i = 0; i < 100; i++) candidates(big);
    // Measured 0.3-0.8 ms under jest's instrumentation on a loaded 2-core machine; generous here, a bench's job.
    expect((performance.now() - started) / 100).toBeLessThan(5);
  });
});

describe('scheduleAhead', () => {
  it('gives each job ahead to the slot that frees first', () => {
    expect(scheduleAhead([0, 10], 3, 10)).toEqual([20, 20]);
    expect(scheduleAhead([0, 100], 3, 10)).toEqual([30, 100]);
    expect(scheduleAhead([], 3, 10)).toEqual([]);
    expect(scheduleAhead([5], -1, 10)).toEqual([5]);
  });

  it('property: a long queue gives the same free times as job-by-job list scheduling', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 20 }),
        fc.integer({ min: 0, max: 3_000 }),
        fc.integer({ min: 1, max: 500 }),
        (free, count, duration) => {
          const expected = [...free];
          for (let k = 0; k < count; k++) {
            let m = 0;
            for (let i = 1; i < expected.length; i++) if (expected[i] < expected[m]) m = i;
            expected[m] += duration;
          }
          expect(scheduleAhead(free, count, duration).sort((a, b) => a - b)).toEqual(
            expected.sort((a, b) => a - b),
          );
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('several serverless endpoints', () => {
  it('gives each endpoint its own candidate, priced at its own rate on its own run estimate, in the given order', () => {
    const endpoint = (id: string, pricePerSecond: number) => ({
      endpointId: id,
      workerClass: `serverless:${id}`,
      pricePerSecond,
      overheadS: 0,
      warm: true,
      warmStartS: 2,
      coldStartS: 45,
      saturated: false,
    });
    const list = candidates(
      inputs({
        serverless: [endpoint('cheap', 0.0002), endpoint('fast', 0.001)],
        runSeconds: (workerClass) => (workerClass === 'serverless:fast' ? 20 : 100),
      }),
    );
    expect(list.map((c) => [c.workerId, c.costUsd, (c.completeAt - NOW) / S])).toEqual([
      ['cheap', 0.0002 * 100, 102],
      ['fast', 0.001 * 20, 22],
    ]);
    expect(routerPick({ kind: 'serverless' }, list).candidate?.workerId).toBe('cheap');
  });
});

describe('serverless start delays and pod attribution', () => {
  it('takes the median of the delays of warm sends and of cold sends, defaulting to the published figures', () => {
    expect(serverlessStartDelays([], [])).toEqual({
      warmS: DEFAULT_WARM_START_S,
      coldS: DEFAULT_COLD_START_S,
      coldP90S: DEFAULT_COLD_START_P90_S,
    });
    expect(serverlessStartDelays([1, 3, 2, NaN, -1], [40, 60])).toEqual({
      warmS: 2,
      coldS: 50,
      coldP90S: 60,
    });
    // Each state's own delays: an endpoint that starts cold in a second is not priced the published 45 s.
    expect(serverlessStartDelays([], [0.4, 1.2, 0.8])).toMatchObject({
      warmS: DEFAULT_WARM_START_S,
      coldS: 0.8,
    });
    expect(serverlessStartDelays([12, 30, 20], [])).toMatchObject({ warmS: 20, coldS: DEFAULT_COLD_START_S });
  });

  it("takes the cold starts' p90 (nearest rank) as the way out's start: a FlashBoot mixture's median says little of a miss", () => {
    // Half hits in about 2 s, half misses in 30-60 s: the median is between the two, the p90 a miss.
    const cold = [1.5, 2, 2.5, 1.8, 2.2, 31, 38, 44, 52, 58];
    expect(serverlessStartDelays([], cold).coldS).toBe((2.5 + 31) / 2);
    expect(serverlessStartDelays([], cold).coldP90S).toBe(52);
    expect(serverlessStartDelays([], [0.4, 1.2, 0.8]).coldP90S).toBe(1.2);
  });

  it('calls a worker warm while a job runs or within the idle timeout after one', () => {
    expect(serverlessLikelyWarm(1, null, NOW, 5)).toBe(true);
    expect(serverlessLikelyWarm(0, NOW - 4 * S, NOW, 5)).toBe(true);
    expect(serverlessLikelyWarm(0, NOW - 6 * S, NOW, 5)).toBe(false);
    expect(serverlessLikelyWarm(0, null, NOW, 5)).toBe(false);
  });

  it("attributes a pod job the pod's price per second times its run", () => {
    expect(podJobAttributionUsd(3.6, 10_000)).toBeCloseTo(0.01);
    expect(podJobAttributionUsd(0, 10_000)).toBe(0);
    expect(podJobAttributionUsd(3.6, -5)).toBe(0);
  });

  it('lets a job use only the backends its caller allowed', () => {
    expect([...allowedBackends('cloud')]).toEqual(['pod', 'serverless']);
    expect([...allowedBackends('local')]).toEqual(['local']);
  });
});

describe('routerPick', () => {
  const all = candidates(
    inputs({
      local: [{ id: 'w1', workerClass: 'w1', slots: 1, busyUntil: [NOW + 100 * S] }],
      pods: [
        {
          name: 'p1',
          workerClass: 'pod:A',
          state: 'starting',
          pricePerHour: 3.6,
          createdAt: NOW,
          busySince: null,
          idleSince: null,
        },
      ],
      serverless: [
        {
          endpointId: 'ep',
          workerClass: 'serverless:ep',
          pricePerSecond: 0.0004,
          overheadS: 0,
          warm: false,
          warmStartS: 2,
          coldStartS: 45,
          saturated: false,
        },
      ],
    }),
  );

  it('names the candidate of the fixed-order decision (ROUTING_PREFERENCE=balanced) and says so', () => {
    expect(routerPick({ kind: 'serverless' }, all)).toMatchObject({
      decision: 'serverless',
      candidate: { backend: 'serverless' },
      why: expect.stringContaining(FIXED_ORDER),
    });
    expect(routerPick({ kind: 'local', workerId: 'w1' }, all).candidate?.workerId).toBe('w1');
  });

  it('picks, for a wait, what it waits for that completes first', () => {
    const wait = {
      kind: 'wait' as const,
      reason: 'waiting for a local worker or a pod',
      forPod: true,
      podOnly: false,
    };
    expect(routerPick(wait, all).candidate?.workerId).toBe('w1'); // 100 s vs a 150 s boot
    expect(routerPick({ ...wait, podOnly: true }, all).candidate?.workerId).toBe('p1');
  });

  it('has no candidate for a rejected job', () => {
    expect(routerPick({ kind: 'reject', reason: 'nothing configured' }, all)).toEqual({
      candidate: null,
      decision: 'reject',
      why: 'it would be rejected: nothing configured',
    });
  });
});
