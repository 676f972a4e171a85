import { ROUTING_PREFERENCES, type RoutingPreference } from '../config/app-config';
import type { Candidate, CandidateBackend } from './candidates';

/**
 * The caller's and the operator's preferences over the candidates (candidates.ts): a pure choice, made at submit
 * and when a queued job is re-planned, never on every dispatch pass.
 *
 * - A job with a `deadline` and/or `maxCostUsd` (the caller's override): the cheapest candidate that completes by
 *   the deadline within maxCostUsd (ties: earlier completion); if none can, the fastest candidate within maxCostUsd
 *   (ties: cheaper), which will miss the deadline, and says so; if neither, infeasible, with the best option (the
 *   fastest candidate: its completion time and cost). A deadline without maxCostUsd has no such fallback: no
 *   candidate making it is infeasible.
 * - Otherwise the operator's ROUTING_PREFERENCE: `cost` (cheapest, ties by completion), `speed` (earliest
 *   completion, ties by cost), or `balanced`: the routing policy's fixed order decides (`decideRoute`), as before.
 *   CLOUD_PREFER_SERVERLESS (the seed's "prefer serverless for one-off jobs") is a knob of that fixed order: it is
 *   what `balanced` means when no local worker or idle pod is free; `cost` and `speed` compare the estimates
 *   instead and ignore it.
 */
export { ROUTING_PREFERENCES, type RoutingPreference };

export interface PlanRequest {
  preference: RoutingPreference;
  /** Complete by (epoch ms); null when the caller gave none. */
  deadline: number | null;
  /** At most this cost (USD); null when the caller gave none. */
  maxCostUsd: number | null;
  /**
   * Now (epoch ms), when the candidates were computed: with it, a deadline plan keeps its serverless fallback
   * (`wayOutProblem`). Absent: any on-time candidate may be picked.
   */
  now?: number;
  /** How long the re-planner may take to notice a plan that did not start (`replanReactionMs`). */
  reactionMs?: number;
  /**
   * Seconds a serverless start may take when the way out is taken (`wayOutProblem`): a cold start's p90
   * (`serverlessStartDelays`). The way out is sent late, when a cheaper plan slipped, and its endpoint may be cold
   * by then; judged at the median start, a video planned onto a busy local worker kept a way out that a 30-60 s
   * cold start then made late. Absent: the fallback candidate's own start.
   */
  wayOutStartS?: number;
}

/**
 * How long after a plan's expected start the re-planner may take to notice that it has not started: its grace,
 * one tick of the loop it runs on (CLOUD_TICK_INTERVAL) and a 5 s margin for its pass and the dispatch after it.
 */
export function replanReactionMs(graceMs: number, tickIntervalMs: number): number {
  return graceMs + tickIntervalMs + 5_000;
}

/** The re-planner's grace (DeadlineReplanner): a planned start may slip this much before the job is re-planned. */
export const REPLAN_START_GRACE_MS = 5_000;

/** DeadlineReplanner: jobs re-planned per tick at most (each a candidate computation and a row written). */
export const REPLANS_PER_TICK = 16;

/** `replanReactionMs` at the default CLOUD_TICK_INTERVAL (5 s): when a request does not say. */
export const REPLAN_REACTION_MS = replanReactionMs(REPLAN_START_GRACE_MS, 5_000);

/**
 * A pod plan must still make the deadline if the job runs this many times its median. A pod's start is an
 * estimate over the cloud queue ahead of the job, and once the job runs nothing can rescue it: in a nightly batch
 * due within the hour, a video planned onto a pod for the last minutes ran 2.2-3.6 times its median and was late.
 * (Local plans are left out: asked of them too, bench:router cost 5-18% more for a few deadlines.)
 */
export const POD_PLAN_OVERRUN_RUNS = 2;

/**
 * Why picking `c` for a deadline job would not keep serverless as a way out; null when it does. The cheaper
 * candidates (a busy local worker, a pod) start later, on estimates that slip; the re-planner moves a job whose
 * planned start passed to serverless, but only while serverless still makes the deadline. So `c` is taken only
 * if it starts about now, or if serverless sent when the re-planner would notice the slip (starting within
 * `wayOutStartS`, or its own start if later, and running its p90 behind a local worker) still completes by the
 * deadline (else `slip`); a pod, only if it would make the deadline with an overrun (`POD_PLAN_OVERRUN_RUNS`;
 * else `overrun`). Without a serverless candidate on time now there is nothing to keep.
 */
function wayOutProblem(
  c: Candidate,
  fallback: Candidate | null,
  now: number,
  deadline: number,
  reactionMs: number,
  wayOutStartS: number,
): 'overrun' | 'slip' | null {
  if (fallback === null || c.backend === 'serverless') return null;
  if (c.backend === 'pod' && c.startAt + POD_PLAN_OVERRUN_RUNS * c.runSeconds * 1000 > deadline)
    return 'overrun';
  const slipAt = c.startAt + reactionMs;
  // Behind a busy local worker, the way out is judged at its p90 run: sent late, it has no slack left for a long
  // run (in bench:router, Wan videos that waited for a local worker and then ran 1.2-2.4 times their median on
  // serverless were late). A pod plan keeps the median: its own overrun rule above already leaves room, and a
  // nightly batch judged at the p90 too sent more to serverless (bench:policy batch +1.6%) with none late either way.
  const overrunMs =
    c.backend === 'local'
      ? ((fallback.runP90Seconds ?? fallback.runSeconds) - fallback.runSeconds) * 1000
      : 0;
  const wayOutMs =
    Math.max(fallback.completeAt - now, fallback.completeAt - fallback.startAt + wayOutStartS * 1000) +
    overrunMs;
  return c.startAt <= now + reactionMs || slipAt + wayOutMs <= deadline ? null : 'slip';
}

/** What `plan`'s reason says of a cheaper on-time candidate that `wayOutProblem` turned down. */
function passedOverReason(c: Candidate, problem: 'overrun' | 'slip'): string {
  return problem === 'overrun'
    ? `not ${describeCandidate(c)}: a job there that ran ${POD_PLAN_OVERRUN_RUNS} times its estimate would be late`
    : `not ${describeCandidate(c)}: it starts at ${iso(c.startAt)}, and were that start to slip, serverless ` +
        'sent then would complete too late';
}

export type Plan =
  /** This candidate, chosen by the estimates. */
  | {
      kind: 'pick';
      candidate: Candidate;
      /** What chose it. */
      rule: 'deadline' | 'max-cost' | 'cost' | 'speed';
      /** The pick completes after the deadline (the fastest within maxCostUsd, when nothing makes it). */
      missesDeadline: boolean;
      why: string;
    }
  /** `balanced` without caller constraints: the fixed-order routing policy decides. */
  | { kind: 'fixed-order' }
  /** Nothing meets the caller's constraints; `best` is the fastest candidate (null when there is none at all). */
  | { kind: 'infeasible'; best: Candidate | null; why: string };

const cheaper = (a: Candidate, b: Candidate) =>
  a.costUsd < b.costUsd || (a.costUsd === b.costUsd && a.completeAt < b.completeAt);
const faster = (a: Candidate, b: Candidate) =>
  a.completeAt < b.completeAt || (a.completeAt === b.completeAt && a.costUsd < b.costUsd);

function best(list: readonly Candidate[], better: (a: Candidate, b: Candidate) => boolean): Candidate | null {
  let found: Candidate | null = null;
  for (const c of list) if (found === null || better(c, found)) found = c;
  return found;
}

export const iso = (ms: number) => new Date(ms).toISOString();
export const usd = (value: number) => `$${value.toFixed(4)}`;
/** "serverless (completes 2026-…Z, $0.0123)". */
export const describeCandidate = (c: Candidate) =>
  `${c.backend}${c.kind !== c.backend ? ` (${c.kind})` : ''} completing at ${iso(c.completeAt)} for ${usd(c.costUsd)}`;

/** How the planner may use serverless for a job. */
interface PlanOptions {
  /**
   * Only to make the deadline, when nothing else can (a job serverless failed: `replanAfterServerlessFailure`):
   * serverless is then no pick by cost, no late pick within maxCostUsd and no best option; it still stands as the
   * way out that a slipping candidate must keep (`wayOutProblem`).
   */
  serverlessOnlyToMakeDeadline?: boolean;
}

/** The plan for a job over its candidates (already limited to the backends it may use). */
export function plan(
  candidates: readonly Candidate[],
  request: PlanRequest,
  options: PlanOptions = {},
): Plan {
  const { deadline, maxCostUsd } = request;
  const lastResort = options.serverlessOnlyToMakeDeadline === true;
  const choosable = (c: Candidate) => !lastResort || c.backend !== 'serverless';
  if (deadline !== null || maxCostUsd !== null) {
    const withinCost = candidates.filter((c) => maxCostUsd === null || c.costUsd <= maxCostUsd);
    const limits = [
      deadline !== null ? `complete by ${iso(deadline)}` : null,
      maxCostUsd !== null ? `cost at most ${usd(maxCostUsd)}` : null,
    ]
      .filter(Boolean)
      .join(' and ');
    if (deadline !== null) {
      const inTime = withinCost.filter((c) => c.completeAt <= deadline);
      const now = request.now;
      const fallback =
        now === undefined
          ? null
          : best(
              inTime.filter((c) => c.backend === 'serverless'),
              faster,
            );
      // The fastest serverless candidate passes its own test, so a candidate is kept whenever one is on time.
      const reactionMs = request.reactionMs ?? REPLAN_REACTION_MS;
      const wayOutStartS = Math.max(0, request.wayOutStartS ?? 0);
      const problemOf = (c: Candidate) =>
        now === undefined ? null : wayOutProblem(c, fallback, now, deadline, reactionMs, wayOutStartS);
      const onTime = best(
        inTime.filter((c) => choosable(c) && problemOf(c) === null),
        cheaper,
      );
      if (onTime) {
        // The cheapest on-time candidate turned down for its way out, if any: the reason says why.
        const passedOver = best(
          inTime.filter((c) => choosable(c) && cheaper(c, onTime)),
          cheaper,
        );
        const problem = passedOver ? problemOf(passedOver) : null;
        return {
          kind: 'pick',
          candidate: onTime,
          rule: 'deadline',
          missesDeadline: false,
          why:
            `the cheapest candidate that can ${limits}: ${describeCandidate(onTime)}` +
            (passedOver && problem ? `; ${passedOverReason(passedOver, problem)}` : ''),
        };
      }
      const onlyServerless = lastResort
        ? best(
            inTime.filter((c) => c.backend === 'serverless'),
            faster,
          )
        : null;
      if (onlyServerless)
        return {
          kind: 'pick',
          candidate: onlyServerless,
          rule: 'deadline',
          missesDeadline: false,
          why:
            `serverless failed this job once, but only serverless can ${limits}: ` +
            describeCandidate(onlyServerless),
        };
    }
    const fastest = maxCostUsd !== null ? best(withinCost.filter(choosable), faster) : null;
    if (fastest)
      return {
        kind: 'pick',
        candidate: fastest,
        rule: 'max-cost',
        missesDeadline: deadline !== null,
        why:
          deadline !== null
            ? `no candidate completes by ${iso(deadline)} within ${usd(maxCostUsd!)}; the fastest within it: ` +
              `${describeCandidate(fastest)} (the deadline will be missed)`
            : `the fastest candidate within ${usd(maxCostUsd!)}: ${describeCandidate(fastest)}`,
      };
    const bestOption = best(candidates.filter(choosable), faster);
    return {
      kind: 'infeasible',
      best: bestOption,
      why:
        `No backend can ${limits}` +
        (bestOption
          ? `; the best option is ${describeCandidate(bestOption)}`
          : '; no backend can take this job now'),
    };
  }
  switch (request.preference) {
    case 'balanced':
      return { kind: 'fixed-order' };
    case 'cost': {
      const pick = best(candidates, cheaper);
      return pick
        ? {
            kind: 'pick',
            candidate: pick,
            rule: 'cost',
            missesDeadline: false,
            why: `ROUTING_PREFERENCE=cost: the cheapest candidate, ${describeCandidate(pick)}`,
          }
        : { kind: 'fixed-order' };
    }
    case 'speed': {
      const pick = best(candidates, faster);
      return pick
        ? {
            kind: 'pick',
            candidate: pick,
            rule: 'speed',
            missesDeadline: false,
            why: `ROUTING_PREFERENCE=speed: the earliest completion, ${describeCandidate(pick)}`,
          }
        : { kind: 'fixed-order' };
    }
  }
}

/** Where a queued job's plan stands (the re-planner's trigger). */
export interface PlannedJob {
  deadline: number;
  /** The plan's estimated start and run (the job's estimate). */
  plannedStartAt: number;
  runSeconds: number;
}

/**
 * A queued job is re-planned when its planned start has passed by `graceMs` (it is still queued: the plan was
 * wrong) or when, started at its planned start or now if later, it would complete after its deadline.
 */
export function needsReplan(job: PlannedJob, now: number, graceMs: number): boolean {
  if (now >= job.plannedStartAt + graceMs) return true;
  return Math.max(now, job.plannedStartAt) + job.runSeconds * 1000 > job.deadline;
}

/**
 * At a re-plan, a deadline that leaves serverless this much room (twice the job's run, as a video's p90 is about
 * twice its median, and ten minutes more) is still far: the job keeps its turn on a cheaper candidate instead
 * of going to serverless at its first slip. A nightly batch due within the hour then runs on the pods, and only
 * the jobs that the pods cannot finish in time go to serverless, as their deadline nears.
 */
export const REPLAN_ROOM_RUNS = 2;
export const REPLAN_ROOM_S = 600;

/**
 * Near its deadline, a re-planned job still keeps a cheaper candidate that completes with this much to spare
 * (one more run and five minutes): the last images of a batch stay on the pods that will reach them in time,
 * instead of all going to serverless in the last ten minutes.
 */
export const NEAR_KEEP_ROOM_RUNS = 1;
export const NEAR_KEEP_ROOM_S = 300;

/**
 * The re-plan of a queued job with a deadline whose plan went stale: with room to spare (`REPLAN_ROOM_RUNS`,
 * `REPLAN_ROOM_S`), or without serverless on time, the planner over every candidate, which keeps serverless as
 * the way out (`wayOutProblem`); near the deadline, the planner over the candidates that complete with room
 * (`NEAR_KEEP_ROOM_RUNS`, `NEAR_KEEP_ROOM_S`), else serverless, while it still makes the deadline within the cost
 * cap (it starts in seconds whatever the queue); a job nothing can make it stays queued and is told
 * (`infeasible`).
 */
export function replan(candidates: readonly Candidate[], request: PlanRequest & { deadline: number }): Plan {
  const serverless = candidates.find(
    (c) =>
      c.backend === 'serverless' &&
      c.completeAt <= request.deadline &&
      (request.maxCostUsd === null || c.costUsd <= request.maxCostUsd),
  );
  const nearDeadline = (c: Candidate) =>
    request.deadline - c.completeAt < (REPLAN_ROOM_RUNS * c.runSeconds + REPLAN_ROOM_S) * 1000;
  if (serverless && nearDeadline(serverless)) {
    const withRoom = (c: Candidate) =>
      request.deadline - c.completeAt >= (NEAR_KEEP_ROOM_RUNS * c.runSeconds + NEAR_KEEP_ROOM_S) * 1000;
    const kept = plan(
      candidates.filter((c) => c.backend === 'serverless' || withRoom(c)),
      request,
    );
    if (kept.kind === 'pick' && kept.candidate.backend !== 'serverless') return kept;
    return {
      kind: 'pick',
      candidate: serverless,
      rule: 'deadline',
      missesDeadline: false,
      why: `re-planned: serverless still completes by ${iso(request.deadline)}: ${describeCandidate(serverless)}`,
    };
  }
  return plan(candidates, request);
}

/**
 * The re-plan of a queued job with a deadline that serverless failed (infrastructure; `podOnly`, not asked for
 * as `backend: 'pod'`): the seed's "fallback to on-demand" still holds, so the planner picks among the other
 * candidates (a local worker for an `auto` job, pods) and keeps serverless as their way out; serverless again
 * only when nothing else makes the deadline and serverless does (a lost worker is not the endpoint's fault, the
 * deadline is the caller's). When nothing makes it, the other candidates decide as `plan` does.
 */
export function replanAfterServerlessFailure(
  candidates: readonly Candidate[],
  request: PlanRequest & { deadline: number },
): Plan {
  return plan(candidates, request, { serverlessOnlyToMakeDeadline: true });
}

/** Prefix of the waiting reason of a queued job whose deadline will be missed: routing keeps it. */
export const DEADLINE_MISS_PREFIX = 'deadline will be missed';

export function deadlineMissReason(
  deadline: number,
  infeasible: Extract<Plan, { kind: 'infeasible' }>,
): string {
  return (
    `${DEADLINE_MISS_PREFIX} (${iso(deadline)}): ` +
    (infeasible.best
      ? `the best option is ${describeCandidate(infeasible.best)}`
      : 'no backend can take it now')
  );
}

/** The backend a plan constrains routing to; null when the fixed order decides. */
export function plannedBackendOf(p: Plan): CandidateBackend | null {
  return p.kind === 'pick' ? p.candidate.backend : null;
}
