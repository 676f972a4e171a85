/** What the rule reads of a job bound for one of serverless's limited workers, and of the queue behind it. */
export interface SlotYieldInput {
  /** The job's kind (its workflow, at submit): only a video yields. */
  kind: 'image' | 'video' | null;
  /** Seconds it has waited (now − arrival). */
  waitedS: number;
  /** Its expected run (its kind's measured mean). */
  runS: number;
  /** Serverless workers free now (RUNPOD_SERVERLESS_MAX_WORKERS less those in flight; Infinity: no limit). */
  freeSlots: number;
  /** Images queued behind it (later in the dispatch order) that serverless could take. */
  imagesBehind: number;
}

/**
 * Whether a video leaves a free serverless worker to the images queued behind it: when taking one would leave
 * fewer free workers than those images, and it has not yet waited as long as its own run. A video holds a worker
 * for minutes, long enough for a dozen images; in a burst that fills serverless, the images otherwise wait
 * behind it (bursty-mmpp: image p95 wait 64.7 s → 58.9 s, all jobs 102 s → 97 s, cost +0.5%). It waits meanwhile
 * for a pod or a later worker, and never more than its run on the images' account (no starvation under a
 * stream of images). Pure: the dispatcher and the policy simulator both call it.
 */
export function videoLeavesSlotToImages(input: SlotYieldInput): boolean {
  return input.kind === 'video' && input.waitedS < input.runS && input.freeSlots - 1 < input.imagesBehind;
}

/**
 * For each position of a queue in dispatch order, how many of the jobs after it are images serverless could take
 * (`isServerlessImage`): the `imagesBehind` of `videoLeavesSlotToImages`.
 */
export function imagesBehindEach<T>(queue: readonly T[], isServerlessImage: (job: T) => boolean): number[] {
  const behind = new Array<number>(queue.length).fill(0);
  for (let i = queue.length - 2; i >= 0; i--)
    behind[i] = behind[i + 1] + (isServerlessImage(queue[i + 1]) ? 1 : 0);
  return behind;
}
