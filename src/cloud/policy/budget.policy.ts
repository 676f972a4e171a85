import type { PodState } from '../../persistence/entities/pod.entity';
import { HOUR, SECOND } from '../../common/clock';

export interface BudgetPod {
  state: PodState;
  /** RunPod's rate; for a `requested` pod, the price it was admitted at (RunPod has not answered yet). */
  costPerHour: number;
  /** When we wrote the row: the boot deadline counts from here. */
  requestedAt: number;
  /** Last moment it worked or became ready: the idle timeout counts from here. */
  lastBusyAt: number | null;
  /**
   * Its own idle timeout, as the reaper last set it (the break-even policy gives each pod its own: τ*, longer for
   * a pod worth keeping, none for one released at once); absent: `BudgetInputs.idleTimeoutMs`.
   */
  idleTimeoutMs?: number;
}

export interface BudgetInputs {
  /** 0 = no limit. */
  limitUsd: number;
  /** Today's (UTC) spend so far: the ledger plus what live pods accrued since their last ledger write. */
  spentTodayUsd: number;
  livePods: BudgetPod[];
  /** Serverless jobs running now. */
  serverlessInFlight: number;
  serverlessPricePerSecond: number;
  /** A pod that is not working can be stopped within one tick. */
  tickIntervalMs: number;
  /** How long a job is assumed to keep a worker busy. */
  jobEstimateMs: number;
  /** CLOUD_BOOT_TIMEOUT: a pod not ready by then is terminated, so a booting pod bills at most this long. */
  bootTimeoutMs: number;
  /** How long a pod with no work lives before it is reaped (a new pod's; a live one's own when it has one). */
  idleTimeoutMs: number;
  now: number;
}

/**
 * The least a new pod costs: its boot (up to the boot deadline), one job, then the idle timeout before it
 * is reaped. This is what admitting a pod commits, until it is ready.
 */
export function newPodUsd(
  costPerHour: number,
  inputs: Pick<BudgetInputs, 'bootTimeoutMs' | 'jobEstimateMs' | 'idleTimeoutMs'>,
): number {
  return (costPerHour * (inputs.bootTimeoutMs + inputs.jobEstimateMs + inputs.idleTimeoutMs)) / HOUR;
}

/** One job on serverless: the estimate at the per-second price. */
export function serverlessJobUsd(inputs: BudgetInputs): number {
  return (inputs.serverlessPricePerSecond * inputs.jobEstimateMs) / SECOND;
}

/** One job on a ready pod: the estimate at the dearest live pod's rate (which pod takes it is not known yet). */
export function podJobUsd(inputs: BudgetInputs): number {
  const maxPodRate = Math.max(0, ...inputs.livePods.map((pod) => pod.costPerHour));
  return (maxPodRate * inputs.jobEstimateMs) / HOUR;
}

/**
 * What work in flight will still cost before it stops on its own (what it already accrued is in today's
 * spend). A pod requested or booting: the rest of its boot (to the boot deadline), one job and one idle
 * timeout, exactly what admitting it committed. A busy pod: its job and then its idle timeout. An idle pod:
 * the rest of its idle timeout (at least a tick). In-flight serverless jobs: their estimate. Counting less
 * for a pod that is up would let a second pod into room for one as soon as the first finished booting.
 */
export function committedUsd(inputs: BudgetInputs): number {
  let committed = 0;
  for (const pod of inputs.livePods) {
    const idleTimeoutMs = pod.idleTimeoutMs ?? inputs.idleTimeoutMs;
    let untilStoppable: number;
    switch (pod.state) {
      case 'requested':
      case 'starting': {
        const bootLeft = Math.max(0, pod.requestedAt + inputs.bootTimeoutMs - inputs.now);
        untilStoppable = bootLeft + inputs.jobEstimateMs + inputs.idleTimeoutMs;
        break;
      }
      case 'busy':
        untilStoppable = inputs.jobEstimateMs + idleTimeoutMs;
        break;
      case 'ready': {
        const idleLeft = (pod.lastBusyAt ?? pod.requestedAt) + idleTimeoutMs - inputs.now;
        untilStoppable = Math.max(inputs.tickIntervalMs, idleLeft);
        break;
      }
      case 'terminating':
      case 'terminated':
      case 'failed':
        untilStoppable = inputs.tickIntervalMs;
        break;
    }
    committed += (pod.costPerHour * untilStoppable) / HOUR;
  }
  committed += inputs.serverlessInFlight * serverlessJobUsd(inputs);
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

/**
 * May work costing `newWorkUsd` start, given `admittedUsd` already admitted in the same critical section
 * (recorded in the database, but after `inputs` were read)?
 */
export function admits(inputs: BudgetInputs, admittedUsd: number, newWorkUsd: number): boolean {
  return !budgetReached(inputs) && !wouldCrossBudget(inputs, admittedUsd + newWorkUsd);
}
