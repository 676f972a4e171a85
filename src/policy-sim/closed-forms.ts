/**
 * Closed forms of autoscaling-theory.md §2.4 / §1.2, used as unit-test oracles for the simulator.
 * β is the re-acquire cost of a pod (p_p · B_p with no wait penalty); gaps are idle gaps between jobs.
 */

/** Offline optimum over a sequence of idle gaps: keep the pod through a gap or stop and re-buy, whichever is cheaper. */
export function offlineGapCost(gapsS: number[], podPerS: number, betaUsd: number): number {
  return gapsS.reduce((sum, g) => sum + Math.min(g * podPerS, betaUsd), 0);
}

/** A fixed reaper timeout T: a gap up to T is paid idle; a longer one pays T idle and then the re-buy β. */
export function timeoutGapCost(gapsS: number[], timeoutS: number, podPerS: number, betaUsd: number): number {
  return gapsS.reduce((sum, g) => sum + (g <= timeoutS ? g * podPerS : timeoutS * podPerS + betaUsd), 0);
}

/** Worst-case ratio of a timeout T against the offline optimum: 1 + T·p_p/β above break-even, 1 + β/(T·p_p) below. */
export function timeoutCompetitiveRatio(timeoutS: number, podPerS: number, betaUsd: number): number {
  const breakEvenS = betaUsd / podPerS;
  return timeoutS >= breakEvenS ? 1 + (timeoutS * podPerS) / betaUsd : 1 + betaUsd / (timeoutS * podPerS);
}

/** Stationary load u (busy fraction): always-pods over always-serverless → (p_p / p_s) / u. */
export function podsOverServerlessRatio(
  podPerS: number,
  serverlessPerS: number,
  utilisation: number,
): number {
  return podPerS / (utilisation * serverlessPerS);
}
