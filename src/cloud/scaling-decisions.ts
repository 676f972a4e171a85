import { Injectable } from '@nestjs/common';
import type { CloudPolicyName } from '../config/app-config';
import type { MeasuredParameters } from './measured-parameters';

/** One scaling decision the control loop acted on, with its reason, as GET /api/cloud/status shows it. */
export interface ScalingDecision {
  at: number;
  policy: CloudPolicyName;
  action: 'spawn' | 'terminate' | 'hold';
  /** Pods spawned or terminated (0 for hold). */
  pods: number;
  /** Machine-readable: break-even, pod-only-job, queue-length, idle-timeout, max-pods. */
  reason: string;
  /** For a person: the numbers that decided it. */
  message: string;
}

/** Decisions kept for the status page. */
const KEPT = 20;

/**
 * The control loop's recent scaling decisions (spawns, idle terminations, and spawns CLOUD_MAX_PODS held back),
 * newest first. In memory on the leader, which makes them; the status lists them with the parameters in force.
 */
@Injectable()
export class ScalingDecisionLog {
  private readonly decisions: ScalingDecision[] = [];
  /** The latest evaluation, also when it changed nothing (the reason nothing was spawned). */
  private last: ScalingDecision | null = null;
  private parameters: MeasuredParameters | null = null;
  /**
   * The pods the latest break-even decision keeps, most recently busy first: each one's idle timeout (τ*, or
   * longer when its rank's idle gaps are worth idling through); null before a decision.
   */
  private keptIdleTimeoutsS: readonly number[] | null = null;

  /** The break-even policy's parameters as measured on the latest tick. */
  setParameters(parameters: MeasuredParameters): void {
    this.parameters = parameters;
  }

  parametersInForce(): MeasuredParameters | null {
    return this.parameters;
  }

  noteKeptIdleTimeouts(idleTimeoutsS: readonly number[]): void {
    this.keptIdleTimeoutsS = idleTimeoutsS;
  }

  keptIdleTimeouts(): readonly number[] | null {
    return this.keptIdleTimeoutsS;
  }

  /** A decision that acted (or was held back by CLOUD_MAX_PODS). */
  record(decision: ScalingDecision): void {
    // A capped spawn repeats on every tick while the queue waits: keep one entry, refreshed.
    const previous = this.decisions[0];
    if (
      previous &&
      previous.action === 'hold' &&
      decision.action === 'hold' &&
      previous.reason === decision.reason
    )
      this.decisions.shift();
    this.decisions.unshift(decision);
    if (this.decisions.length > KEPT) this.decisions.length = KEPT;
  }

  /** The latest evaluation of the autoscaler, whether or not it acted. */
  noteEvaluation(decision: ScalingDecision): void {
    this.last = decision;
  }

  recent(): readonly ScalingDecision[] {
    return this.decisions;
  }

  latest(): ScalingDecision | null {
    return this.last;
  }
}
