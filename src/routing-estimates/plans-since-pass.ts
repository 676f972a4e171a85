import type { Candidate } from './candidates';
import type { InFlightServerlessJob } from './serverless-queue';

/** A job planned at submit that no dispatch pass has seen yet: where its plan sends it. */
interface PendingPlan {
  backend: 'serverless' | 'pod';
  /** The serverless endpoint (serverless plans). */
  endpointId: string | null;
  /** When it was planned (epoch ms). */
  plannedAt: number;
  /**
   * The number of the dispatcher's last queue read once the job was queued (`CloudDemandBoard.queueReads`); a
   * later read saw it. Infinity until then: a read between the plan and the insert did not.
   */
  read: number;
  startDelayS: number;
  medianS: number;
  p90S: number;
}

/**
 * The cloud jobs planned at submit that no dispatch pass has read from the queue yet. Until a pass has, a
 * submitted job is neither in flight on serverless nor in the published cloud queue, so a burst of submits was
 * planned as if each job came alone: in a batch of 80 submitted between two passes, each saw serverless idle and
 * took it, and how many did depended on how long the passes took (28 to 61 of 80 in the agreement test), not on
 * the work. Counted here, each job is planned behind the ones planned before it, as if the dispatcher had sent
 * each at once (the simulator does).
 *
 * A pass that read the queue after the job was queued saw it: it is then in flight, in the cloud queue, or
 * running, and is forgotten here (`seenBy`). So are jobs that started or ended, and any older than `maxAgeMs` (a
 * submit that failed after its plan; an instance that does not dispatch, a follower, whose passes never read).
 */
export class PlansSincePass {
  private readonly plans = new Map<string, PendingPlan>();

  constructor(
    private readonly maxKept: number,
    private readonly maxAgeMs: number,
  ) {}

  /** The job's plan at submit, before its row is written. Local plans are not cloud work. */
  planned(jobId: string, candidate: Candidate, startDelayS: number, now: number): void {
    if (candidate.backend === 'local') return;
    if (this.plans.size >= this.maxKept) this.forgetOlderThan(now);
    if (this.plans.size >= this.maxKept) return;
    this.plans.set(jobId, {
      backend: candidate.backend,
      endpointId: candidate.backend === 'serverless' ? candidate.workerId : null,
      plannedAt: now,
      read: Infinity,
      startDelayS,
      medianS: candidate.runSeconds,
      p90S: Math.max(candidate.runSeconds, candidate.runP90Seconds ?? candidate.runSeconds),
    });
  }

  /** The job's row is written and queued; `read`: the number of the dispatcher's last queue read. */
  queued(jobId: string, read: number): void {
    const plan = this.plans.get(jobId);
    if (plan) plan.read = read;
  }

  forget(jobId: string): void {
    this.plans.delete(jobId);
  }

  /** The pass of queue read number `read` has routed every job queued before that read. */
  seenBy(read: number): void {
    for (const [jobId, plan] of this.plans) if (plan.read < read) this.plans.delete(jobId);
  }

  /** The jobs planned onto an endpoint, as they will be sent (in the order planned). */
  serverlessOn(endpointId: string, now: number): InFlightServerlessJob[] {
    const jobs: InFlightServerlessJob[] = [];
    for (const plan of this.plans.values())
      if (plan.endpointId === endpointId && now - plan.plannedAt <= this.maxAgeMs)
        jobs.push({
          sentAt: plan.plannedAt,
          startDelayS: plan.startDelayS,
          medianS: plan.medianS,
          p90S: plan.p90S,
        });
    return jobs;
  }

  /** The jobs planned onto pods: how many, and their expected seconds in all. */
  podWork(now: number): { count: number; runS: number } {
    let count = 0;
    let runS = 0;
    for (const plan of this.plans.values())
      if (plan.backend === 'pod' && now - plan.plannedAt <= this.maxAgeMs) {
        count++;
        runS += plan.medianS;
      }
    return { count, runS };
  }

  get size(): number {
    return this.plans.size;
  }

  private forgetOlderThan(now: number): void {
    for (const [jobId, plan] of this.plans)
      if (now - plan.plannedAt > this.maxAgeMs) this.plans.delete(jobId);
  }
}
