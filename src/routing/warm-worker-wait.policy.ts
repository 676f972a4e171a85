/** A busy local worker whose last job used the queued job's model (likely still loaded), and when it frees. */
export interface WarmWorker {
  workerId: string;
  /** Seconds from now until it should be free (its running job's estimate, after this pass's other waits). */
  freeInS: number;
}

export interface WarmWaitInput {
  /** The busy workers that can run the job and have its model loaded. */
  warm: readonly WarmWorker[];
  /** The load the idle worker routing would give it must do first (seconds: MODEL_LOAD_SECONDS of its kind). */
  loadS: number;
  /** Its expected run on a worker with its model loaded. */
  runS: number;
  /** Seconds from now by which it must be done; undefined: no deadline. */
  deadlineInS?: number;
  /** A deadline job waits only if the warm worker finishes it this long before its deadline. */
  deadlineMarginS: number;
}

/**
 * Whether a job that routing would give an idle local worker with another model loaded should wait instead for a
 * busy worker that has its model loaded: yes when that worker should be free before the idle one would have
 * loaded the model (30-70 s), so the job finishes no later there, and the idle worker's GPU is not spent on a
 * load (it stays free for a job whose model it holds). Jobs of two models on one machine otherwise trade its
 * checkpoint back and forth, each paying a load. Returns the warm worker that frees first, or null.
 * Pure: the dispatcher (LocalHolds.warmWorkerFor) and the policy simulator's model-aware router both call it.
 */
export function waitForWarmWorker(input: WarmWaitInput): string | null {
  if (!(input.loadS > 0)) return null;
  let best: WarmWorker | null = null;
  for (const worker of input.warm)
    if (Number.isFinite(worker.freeInS) && (best === null || worker.freeInS < best.freeInS)) best = worker;
  if (best === null || Math.max(0, best.freeInS) > input.loadS) return null;
  const { deadlineInS } = input;
  if (
    deadlineInS !== undefined &&
    Number.isFinite(deadlineInS) &&
    Math.max(0, best.freeInS) + input.runS > deadlineInS - input.deadlineMarginS
  )
    return null;
  return best.workerId;
}
