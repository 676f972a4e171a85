import type { PodState } from '../../persistence/entities/pod.entity';
import { HOUR, SECOND } from '../../common/clock';

export interface BudgetInputs {
  /** 0 = no limit. */
  limitUsd: number;
  /** Today's (UTC) spend so far: the ledger plus what live pods accrued since their last ledger write. */
  spentTodayUsd: number;
  livePods: Array<{ state: PodState; costPerHour: number }>;
  /** Serverless jobs running now. */
  serverlessInFlight: number;
  serverlessPricePerSecond: number;
  /** A pod that is not working can be stopped within one tick. */
  tickIntervalMs: number;
  /** How long a job is assumed to keep a worker busy. */
  jobEstimateMs: number;
}

/**
 * What running work will still cost by the time it can stop: idle or booting pods one tick, busy pods their
 * job, in-flight serverless jobs their execution.
 */
export function committedUsd(inputs: BudgetInputs): number {
  let committed = 0;
  for (const pod of inputs.livePods) {
    const untilStoppable =
      pod.state === 'busy' ? Math.max(inputs.tickIntervalMs, inputs.jobEstimateMs) : inputs.tickIntervalMs;
    committed += (pod.costPerHour * untilStoppable) / HOUR;
  }
  committed += (inputs.serverlessInFlight * inputs.serverlessPricePerSecond * inputs.jobEstimateMs) / SECOND;
  return committed;
}

/** Would starting work that costs `newWorkUsd` cross the daily budget? */
export function wouldCrossBudget(inputs: BudgetInputs, newWorkUsd: number): boolean {
  if (inputs.limitUsd <= 0) return false;
  return inputs.spentTodayUsd + committedUsd(inputs) + newWorkUsd > inputs.limitUsd;
}

/** Today's spend has reached the limit: stop what can be stopped. */
export function budgetReached(inputs: BudgetInputs): boolean {
  return inputs.limitUsd > 0 && inputs.spentTodayUsd >= inputs.limitUsd;
}

/** The least a new pod costs: one job, then the idle timeout before it is reaped. */
export function newPodUsd(costPerHour: number, jobEstimateMs: number, idleTimeoutMs: number): number {
  return (costPerHour * (jobEstimateMs + idleTimeoutMs)) / HOUR;
}
