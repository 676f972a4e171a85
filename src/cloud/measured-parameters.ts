import type { BreakEvenParameters } from './policy/breakeven.policy';

/** The break-even policy's parameters in force, with what they were measured from. */
export interface MeasuredParameters extends BreakEvenParameters {
  podPricePerHour: number;
  /** Mean RunPod delayTime of recent serverless jobs (queue + cold start); null before the first. */
  serverlessStartDelayS: number | null;
  serverlessStartDelaySamples: number;
  /** The endpoint's max workers; Infinity when neither config nor RunPod tells (serverless is then not capped). */
  serverlessMaxWorkers: number;
  serverlessMaxWorkersSource: 'config' | 'runpod' | 'unknown';
}
