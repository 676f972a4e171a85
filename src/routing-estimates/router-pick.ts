import type { RouteDecision } from '../routing/routing.policy';
import { waitForWarmWorker } from '../routing/warm-worker-wait.policy';
import type { Candidate } from './candidates';
import type { Plan } from './plan';

/** The candidate the router would use for a job, and why. */
export interface RouterPick {
  /** null when the job would be rejected, or waits for something no candidate stands for (a budget). */
  candidate: Candidate | null;
  /** The routing policy's decision now: local, pod, serverless, wait or reject. */
  decision: RouteDecision['kind'];
  why: string;
}

/**
 * What decides when the planner leaves it to the routing policy (ROUTING_PREFERENCE=balanced, no deadline or
 * maxCostUsd): its fixed order, not the estimates.
 */
export const FIXED_ORDER =
  'fixed order (ROUTING_PREFERENCE=balanced: a free local worker, then an idle pod, then serverless when ' +
  'preferred or pods are off, else wait for a local worker or a pod)';

/**
 * The pick when the planner chose (plan.ts): its candidate and why, with the routing policy's decision for the
 * planned backend (a planned new pod is a wait for a pod). An infeasible plan would be rejected at submit.
 */
export function planPick(p: Exclude<Plan, { kind: 'fixed-order' }>, decision: RouteDecision): RouterPick {
  if (p.kind === 'infeasible') return { candidate: null, decision: 'reject', why: p.why };
  return { candidate: p.candidate, decision: decision.kind, why: p.why };
}

const earliest = (list: readonly Candidate[]): Candidate | null =>
  list.reduce<Candidate | null>(
    (best, c) =>
      best === null ||
      c.completeAt < best.completeAt ||
      (c.completeAt === best.completeAt && c.costUsd < best.costUsd)
        ? c
        : best,
    null,
  );

/**
 * Maps the routing policy's decision (`decideRoute`, the one the dispatcher makes) to the candidate that stands
 * for it: the chosen local worker; the idle ready pod that would take it (cheapest); serverless; for a wait, the
 * candidate among those it waits for (pods, local workers) that completes first.
 */
export function routerPick(decision: RouteDecision, all: readonly Candidate[]): RouterPick {
  switch (decision.kind) {
    case 'local':
      return {
        candidate: all.find((c) => c.kind === 'local' && c.workerId === decision.workerId) ?? null,
        decision: decision.kind,
        why: `${FIXED_ORDER}: local worker ${decision.workerId} has a free slot`,
      };
    case 'pod': {
      const idle = all.filter((c) => c.kind === 'ready-pod');
      const first = Math.min(...idle.map((c) => c.startAt));
      const pod = idle
        .filter((c) => c.startAt === first)
        .reduce<Candidate | null>((best, c) => (best === null || c.costUsd < best.costUsd ? c : best), null);
      return { candidate: pod, decision: decision.kind, why: `${FIXED_ORDER}: a ready pod is idle` };
    }
    case 'serverless':
      return {
        candidate: all.find((c) => c.backend === 'serverless') ?? null,
        decision: decision.kind,
        why: `${FIXED_ORDER}: no local worker or pod is free and serverless is preferred or the only cloud backend`,
      };
    case 'wait': {
      const waitedFor = all.filter(
        (c) => (decision.forPod && c.backend === 'pod') || (!decision.podOnly && c.backend === 'local'),
      );
      return {
        candidate: earliest(waitedFor),
        decision: decision.kind,
        why: `${FIXED_ORDER}: it would wait (${decision.reason})`,
      };
    }
    case 'reject':
      return { candidate: null, decision: decision.kind, why: `it would be rejected: ${decision.reason}` };
  }
}

/** The dispatcher's wait for a busy local worker (LocalHolds), as a quote applies it. */
export interface LocalHoldRule {
  /** How long a job of this run may wait for a local worker (`podWaitAllowanceS` with the LOCAL_WAIT_* knobs). */
  allowanceS: (runS: number) => number;
}

/**
 * When the fixed order would send the job to serverless or have it wait for a pod (a job without a deadline: one
 * with a deadline is planned), but a local worker that can run it is expected to start it within its wait allowance (`holdForLocal`'s rule, on the quote's own local
 * candidates: their queue ahead included), the job waits for that worker, as the dispatcher does.
 */
export function withLocalHold(
  pick: RouterPick,
  decision: RouteDecision,
  all: readonly Candidate[],
  now: number,
  rule: LocalHoldRule,
): RouterPick {
  if (decision.kind !== 'serverless' && !(decision.kind === 'wait' && decision.forPod)) return pick;
  const local = earliest(
    all.filter((c) => c.backend === 'local' && (c.startAt - now) / 1000 <= rule.allowanceS(c.runSeconds)),
  );
  if (!local) return pick;
  return {
    candidate: local,
    decision: 'wait',
    why:
      `${FIXED_ORDER}; but local worker ${local.workerId} is expected to start it within its wait allowance ` +
      `(LOCAL_WAIT_TARGET_SECONDS, LOCAL_WAIT_PER_RUN): it waits for that worker rather than pay the cloud`,
  };
}

/** Which local workers have the job's model loaded (their last job used it), and how long a load takes. */
export interface WarmWaitRule {
  hasModelLoaded: (workerId: string) => boolean;
  /** MODEL_LOAD_SECONDS of the job's kind. */
  loadS: number;
}

/**
 * When the fixed order would give the job an idle local worker without its model loaded, but a busy worker that
 * has it should start it before a load there would end, the job waits for that worker (`waitForWarmWorker`), as
 * the dispatcher does (LocalHolds.warmWorkerFor).
 */
export function withWarmWait(
  pick: RouterPick,
  decision: RouteDecision,
  all: readonly Candidate[],
  now: number,
  rule: WarmWaitRule,
): RouterPick {
  if (decision.kind !== 'local' || rule.hasModelLoaded(decision.workerId)) return pick;
  const warm = all.filter(
    (c): c is Candidate & { workerId: string } =>
      c.kind === 'local' &&
      c.workerId !== null &&
      c.workerId !== decision.workerId &&
      c.startAt > now &&
      rule.hasModelLoaded(c.workerId),
  );
  const workerId = waitForWarmWorker({
    warm: warm.map((c) => ({ workerId: c.workerId, freeInS: (c.startAt - now) / 1000 })),
    loadS: rule.loadS,
    runS: 0,
    deadlineMarginS: 0,
  });
  const candidate = warm.find((c) => c.workerId === workerId);
  if (!candidate) return pick;
  return {
    candidate,
    decision: 'wait',
    why:
      `${FIXED_ORDER}; but local worker ${decision.workerId} would load the job's model first, and local worker ` +
      `${candidate.workerId}, which has it loaded, should start it before that load would end: it waits for that worker`,
  };
}
