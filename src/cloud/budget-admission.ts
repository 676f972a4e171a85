import { ConflictError } from '../common/domain-errors';
import { roundUsd } from './cost-ledger.service';
import {
  admits,
  type BudgetInputs,
  committedUsd,
  newPodUsd,
  podJobUsd,
  serverlessJobUsd,
} from './policy/budget.policy';

/** New cloud work refused because it would cross CLOUD_DAILY_BUDGET_USD. */
export class BudgetExceededError extends ConflictError {}

/** The refusal's text: the limit, the work's estimate, today's spend and what is committed already. */
export function budgetRefusal(what: string, inputs: BudgetInputs, costUsd: number, admittedUsd = 0): string {
  const committed = committedUsd(inputs) + admittedUsd;
  return (
    `Daily budget (CLOUD_DAILY_BUDGET_USD $${inputs.limitUsd.toFixed(2)}): ${what} (~$${costUsd.toFixed(4)}) would cross it; ` +
    `$${inputs.spentTodayUsd.toFixed(4)} spent today, $${committed.toFixed(4)} committed to cloud work in flight`
  );
}

/**
 * One budget admission: holds the fleet-wide admission lock (see `BudgetAdmissionLock`) from the moment it
 * read today's spend and what is in flight until `close()`. Work it admits must be recorded in the database
 * (a pod's write-ahead row, a job's claim) before `close()`, so the next admission, here or on another
 * instance, counts it. `inputs` is null when there is no limit: everything is admitted.
 */
export class BudgetAdmission {
  private admittedUsd = 0;
  private closed = false;

  constructor(
    private readonly inputs: BudgetInputs | null,
    private readonly release: () => Promise<void>,
  ) {}

  /** What admitting a pod at this rate commits (0 without a limit). */
  newPodUsd(costPerHour: number): number {
    return this.inputs ? newPodUsd(costPerHour, this.inputs) : 0;
  }

  /** What admitting one job on this backend commits (0 without a limit). */
  cloudJobUsd(backend: 'pod' | 'serverless'): number {
    if (!this.inputs) return 0;
    return backend === 'pod' ? podJobUsd(this.inputs) : serverlessJobUsd(this.inputs);
  }

  /** Counts `costUsd` as admitted when it fits the budget; false (and nothing counted) when it does not. */
  tryAdmit(costUsd: number): boolean {
    if (!this.inputs) return true;
    if (!admits(this.inputs, this.admittedUsd, costUsd)) return false;
    this.admittedUsd += costUsd;
    return true;
  }

  /** `tryAdmit`, throwing BudgetExceededError with the numbers when it does not fit. */
  require(what: string, costUsd: number): void {
    if (this.tryAdmit(costUsd)) return;
    const inputs = this.inputs!;
    throw new BudgetExceededError(budgetRefusal(what, inputs, costUsd, this.admittedUsd), {
      limitUsd: inputs.limitUsd,
      spentTodayUsd: roundUsd(inputs.spentTodayUsd),
      committedUsd: roundUsd(committedUsd(inputs) + this.admittedUsd),
      estimatedCostUsd: roundUsd(costUsd),
    });
  }

  /** The reason a job that did not fit waits with. */
  refusal(what: string, costUsd: number): string {
    return this.inputs ? budgetRefusal(what, this.inputs, costUsd, this.admittedUsd) : '';
  }

  /** Releases the lock. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.release();
  }
}
