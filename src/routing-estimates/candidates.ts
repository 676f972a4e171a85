/**
 * Where a job could run, when it would start and end there, and what it would cost: pure functions of a fleet
 * snapshot (`CandidateInputs`) and a run-time estimate per worker class. The quote route and each submitted
 * job's estimate call them; the service only gathers the inputs (RoutingEstimatesService).
 *
 * Start-time model (each a deliberate simplification, stated so it can be changed):
 * - local worker: its slots free when their running jobs end (started + estimate); the jobs queued ahead that a
 *   local worker may take (`localQueueAhead`, each `aheadJobS` long) go first, each to the slot that frees first
 *   across all local workers (list scheduling); the job then starts on the worker's first free slot.
 * - ready pod: now when idle, else when its job ends: its `busyUntil` (that job's estimate), else its job's
 *   start + `aheadJobS`.
 * - booting pod: created + boot time (observed mean), not before now.
 * - new pod: now + boot time, or later when the jobs waiting ahead fill the live pods and the new ones that may
 *   start (`newPodStartAt`).
 * Pods take the jobs waiting for a pod (`podQueueAhead`) first, in the same way as local slots.
 * - serverless: now + the warm start delay when a worker is likely warm (a job in flight or one ended within the
 *   endpoint's idle timeout), else the cold one; when every endpoint worker is busy, + `aheadJobS`.
 *
 * Cost model (USD):
 * - local: 0.
 * - serverless: price per second × (estimated run + the billed overhead per job).
 * - pod: the MARGINAL cost, what the pod bills because of this job. A pod that is paid anyway stops `keepAliveS`
 *   after its last job; running this job moves that end to the job's end + `keepAliveS`. So an idle pod that has
 *   idled `i` s costs price × (run + min(i, keepAlive)), a busy or booting pod costs price × run (its end moves by
 *   the run), and a new pod costs its whole life: price × (boot + run + keepAlive), unless the cloud work queued
 *   ahead of the job gives every pod that may still start a job of its own (`newPodStartedAnyway`): then, as on a
 *   booting pod, price × run.
 */

export type CandidateBackend = 'local' | 'pod' | 'serverless';
/** How the candidate would take the job. */
export type CandidateKind = 'local' | 'ready-pod' | 'booting-pod' | 'new-pod' | 'serverless';

export interface Candidate {
  backend: CandidateBackend;
  kind: CandidateKind;
  /** The run-time estimator's class: the local worker id, `pod:<gpuType>` or `serverless:<endpointId>`. */
  workerClass: string;
  /** Local worker id, pod name or endpoint id; null for a pod not created yet. */
  workerId: string | null;
  /** Epoch ms. */
  startAt: number;
  completeAt: number;
  /** Estimated run seconds (median) on this class. */
  runSeconds: number;
  /**
   * The run's p90 on this class (`CandidateInputs.runP90Seconds`), at least `runSeconds`: how long a serverless
   * way out may run (plan.ts, `wayOutProblem`). Absent: `runSeconds`.
   */
  runP90Seconds?: number;
  costUsd: number;
}

export interface LocalWorkerInput {
  id: string;
  workerClass: string;
  /** Slots (maxConcurrent). */
  slots: number;
  /** When each running job is expected to end (epoch ms); one entry per busy slot. */
  busyUntil: readonly number[];
}

export interface PodInput {
  name: string;
  workerClass: string;
  state: 'starting' | 'ready' | 'busy';
  pricePerHour: number;
  /** Billing start (epoch ms); boot is counted from it. */
  createdAt: number;
  /** Busy: when its job started. */
  busySince: number | null;
  /**
   * Busy: when its job is expected to end (the run-time estimate of that job, `expectedEnd`), when known; else
   * its start + the typical job (`aheadJobS`).
   */
  busyUntil?: number;
  /** Ready: since when it has had no job (its last job's end, else its ready time). */
  idleSince: number | null;
}

export interface ServerlessInput {
  endpointId: string;
  workerClass: string;
  pricePerSecond: number;
  /** Billed seconds per job besides the run (CLOUD_SERVERLESS_OVERHEAD_SECONDS). */
  overheadS: number;
  /** A worker is likely warm: a job in flight, or one ended within the endpoint's idle timeout. */
  warm: boolean;
  warmStartS: number;
  coldStartS: number;
  /** Every endpoint worker is busy: the job queues at RunPod. */
  saturated: boolean;
  /**
   * Saturated: when a worker is expected to free for a job sent now (epoch ms; `serverlessWorkerFreeAt` over the
   * jobs in flight there). Absent or null: one typical job (`aheadJobS`) from now.
   */
  freeAt?: number | null;
  /** Jobs sent to the endpoint beyond its workers, waiting in RunPod's queue (0 when absent). */
  queued?: number;
}

export interface CandidateInputs {
  now: number;
  /** Median run seconds of the job on a worker class. */
  runSeconds: (workerClass: string) => number;
  /** The p90 of the job's run on a worker class (the estimator's); absent: the median. */
  runP90Seconds?: (workerClass: string) => number;
  /** Local workers that take jobs and can run this one. */
  local: readonly LocalWorkerInput[];
  /** Queued jobs ahead of this one that a local worker may take. */
  localQueueAhead: number;
  /** Queued jobs ahead of this one waiting for a pod. */
  podQueueAhead: number;
  /** Typical run seconds of the jobs ahead (and of a busy pod's job). */
  aheadJobS: number;
  /**
   * Mean expected run of the `podQueueAhead` jobs (their kinds' measured means), when known: a queue of images
   * ahead is not a queue of videos. `aheadJobS` when absent.
   */
  podAheadJobS?: number;
  /** Live pods (terminating and draining ones left out). */
  pods: readonly PodInput[];
  /**
   * A new pod may be spawned (pods configured, under CLOUD_MAX_PODS); null when not. `room`: how many may still
   * be (CLOUD_MAX_PODS less the live ones; 1 when absent): the queue ahead is spread over them.
   */
  newPod: { workerClass: string; pricePerHour: number; room?: number } | null;
  /** Boot time of a pod, creation to ready (observed mean, else the default). */
  bootS: number;
  /** A pod's keep-alive after its last job (the idle timeout). */
  keepAliveS: number;
  /**
   * The serverless endpoints that can run the job, in the dispatcher's order: cheapest first, those the job
   * failed on last.
   */
  serverless: readonly ServerlessInput[];
}

/** Jobs ahead simulated one by one at most; a longer queue is beyond any estimate's precision anyway. */
const MAX_QUEUE_SIMULATED = 100_000;

/** Every candidate for the job, in no particular order. */
export function candidates(inputs: CandidateInputs): Candidate[] {
  return [...localCandidates(inputs), ...podCandidates(inputs), ...serverlessCandidates(inputs)];
}

function candidate(
  inputs: CandidateInputs,
  fields: Omit<Candidate, 'completeAt' | 'runSeconds' | 'costUsd'>,
  cost: (runSeconds: number) => number,
): Candidate {
  const runSeconds = positive(inputs.runSeconds(fields.workerClass), inputs.aheadJobS);
  const runP90Seconds = Math.max(runSeconds, positive(inputs.runP90Seconds?.(fields.workerClass) ?? 0, 0));
  const startAt = Math.max(inputs.now, fields.startAt);
  // Field by field, not `{ ...fields, ... }`: on Node 20 adding keys to a spread copy takes about 1 µs a key
  // (`npm run bench:object-spread`), and a quote builds a candidate per worker.
  return {
    backend: fields.backend,
    kind: fields.kind,
    workerClass: fields.workerClass,
    workerId: fields.workerId,
    startAt,
    completeAt: startAt + runSeconds * 1000,
    runSeconds,
    runP90Seconds,
    costUsd: Math.max(0, cost(runSeconds)),
  };
}

export function localCandidates(inputs: CandidateInputs): Candidate[] {
  const { now } = inputs;
  const slots: Array<{ worker: number; freeAt: number }> = [];
  inputs.local.forEach((worker, index) => {
    const total = Math.max(0, Math.floor(worker.slots));
    const busy = worker.busyUntil.slice(0, total).map((end) => Math.max(now, end));
    for (let i = 0; i < total; i++) slots.push({ worker: index, freeAt: busy[i] ?? now });
  });
  if (slots.length === 0) return [];
  const freeAt = scheduleAhead(
    slots.map((slot) => slot.freeAt),
    inputs.localQueueAhead,
    positive(inputs.aheadJobS, 1) * 1000,
  );
  const firstFree = new Map<number, number>();
  slots.forEach((slot, i) => {
    const previous = firstFree.get(slot.worker);
    if (previous === undefined || freeAt[i] < previous) firstFree.set(slot.worker, freeAt[i]);
  });
  return [...firstFree].map(([index, startAt]) => {
    const worker = inputs.local[index];
    return candidate(
      inputs,
      { backend: 'local', kind: 'local', workerClass: worker.workerClass, workerId: worker.id, startAt },
      () => 0,
    );
  });
}

export function podCandidates(inputs: CandidateInputs): Candidate[] {
  const { now } = inputs;
  const bootMs = positive(inputs.bootS, 0) * 1000;
  const aheadMs = positive(inputs.aheadJobS, 1) * 1000;
  const queueJobMs = positive(inputs.podAheadJobS ?? inputs.aheadJobS, 1) * 1000;
  const keepAliveS = positive(inputs.keepAliveS, 0);
  const pods = inputs.pods.map((pod) => ({
    pod,
    freeAt:
      pod.state === 'starting'
        ? Math.max(now, pod.createdAt + bootMs)
        : pod.state === 'busy'
          ? Math.max(now, pod.busyUntil ?? (pod.busySince ?? now) + aheadMs)
          : now,
  }));
  const freeAt = scheduleAhead(
    pods.map((p) => p.freeAt),
    inputs.podQueueAhead,
    queueJobMs,
  );
  const out = pods.map(({ pod }, i) => {
    const perS = positive(pod.pricePerHour, 0) / 3600;
    // Jobs ahead took this pod: it is busy until then whatever its state, and this job moves its end by the run.
    const takenAhead = freeAt[i] > pods[i].freeAt;
    const idleS =
      pod.state === 'ready' && !takenAhead ? Math.max(0, (now - (pod.idleSince ?? now)) / 1000) : 0;
    return candidate(
      inputs,
      {
        backend: 'pod',
        kind: pod.state === 'starting' ? 'booting-pod' : 'ready-pod',
        workerClass: pod.workerClass,
        workerId: pod.name,
        startAt: freeAt[i],
      },
      (runS) => perS * (runS + Math.min(idleS, keepAliveS)),
    );
  });
  if (inputs.newPod) {
    const perS = positive(inputs.newPod.pricePerHour, 0) / 3600;
    const queuedForNew = Math.max(0, inputs.podQueueAhead - inputs.pods.length);
    const room = Math.max(1, Math.floor(inputs.newPod.room ?? 1));
    const startedAnyway = newPodStartedAnyway(queuedForNew, inputs.serverless, room);
    out.push(
      candidate(
        inputs,
        {
          backend: 'pod',
          kind: 'new-pod',
          workerClass: inputs.newPod.workerClass,
          workerId: null,
          startAt: newPodStartAt(
            pods.map((p) => p.freeAt),
            room,
            now + bootMs,
            inputs.podQueueAhead,
            queueJobMs,
          ),
        },
        (runS) => perS * (startedAnyway ? runS : positive(inputs.bootS, 0) + runS + keepAliveS),
      ),
    );
  }
  return out;
}

/**
 * When a job sent to the pods starts if the `room` pods that may still start are started: the jobs waiting for a
 * pod ahead of it take the slots that free first, the live pods' and the new pods' (each up at `newPodUpAt`), and
 * the job takes the first slot free after them, not before a new pod is up. Live pods take their share of the
 * queue: with pods still booting, a queue of an hour's work ahead does not start on a new pod at its boot time.
 * Only as many new pods as the queue can reach are scheduled (one more than the jobs ahead).
 */
export function newPodStartAt(
  livePodsFreeAt: readonly number[],
  room: number,
  newPodUpAt: number,
  podQueueAhead: number,
  queueJobMs: number,
): number {
  const ahead = Math.min(Math.max(0, Math.floor(podQueueAhead)), MAX_QUEUE_SIMULATED);
  const newSlots = Math.min(Math.max(1, Math.floor(room)), ahead + 1);
  const slots = [...livePodsFreeAt];
  for (let i = 0; i < newSlots; i++) slots.push(newPodUpAt);
  const freeAt = scheduleAhead(slots, ahead, queueJobMs);
  let turn = Infinity;
  for (const at of freeAt) if (at < turn) turn = at;
  return Math.max(newPodUpAt, turn);
}

/**
 * Whether the pods that may still start are started for the cloud work queued ahead of a job, whatever it does:
 * the jobs waiting for a pod beyond the live pods, and those waiting in RunPod's queue beyond serverless's workers
 * (a burst bigger than serverless takes at once), give each of the `room` pods a job before this one. A new pod
 * then costs the job its run, as a booting pod does, and not the boot and keep-alive that the work ahead pays.
 * Without this, each job of a batch submitted to a cold fleet was priced as if it alone opened a pod: the whole
 * batch went to serverless at 3.6 times a pod's price while pods could finish it in time.
 */
export function newPodStartedAnyway(
  queuedForNewPods: number,
  serverless: readonly ServerlessInput[],
  room: number,
): boolean {
  const backlog = serverless.reduce((sum, s) => sum + positive(s.queued ?? 0, 0), 0);
  return queuedForNewPods + backlog >= Math.max(1, room);
}

export function serverlessCandidates(inputs: CandidateInputs): Candidate[] {
  return inputs.serverless.map((s) => {
    const startDelayS = s.warm ? positive(s.warmStartS, 0) : positive(s.coldStartS, 0);
    // Saturated, the job takes the worker that frees first, warm; without that time, one typical job later.
    const startS = !s.saturated
      ? startDelayS
      : s.freeAt != null && Number.isFinite(s.freeAt)
        ? Math.max(0, (s.freeAt - inputs.now) / 1000) + positive(s.warmStartS, 0)
        : startDelayS + positive(inputs.aheadJobS, 1);
    return candidate(
      inputs,
      {
        backend: 'serverless',
        kind: 'serverless',
        workerClass: s.workerClass,
        workerId: s.endpointId,
        startAt: inputs.now + startS * 1000,
      },
      (runS) => positive(s.pricePerSecond, 0) * (runS + positive(s.overheadS, 0)),
    );
  });
}

/**
 * Gives `count` jobs of `durationMs` each, in order, to the slot that frees first (ties: the first slot), and
 * returns each slot's free time after them. O(slots × log(count)) for a long queue: the jobs take the `count` earliest
 * start times of the slots' progressions f_i, f_i + d, f_i + 2d, ..., found by bisecting on the last start time
 * (about log2(count / slots) steps); the few left near it go one by one.
 */
export function scheduleAhead(freeAt: readonly number[], count: number, durationMs: number): number[] {
  const n = Math.min(Math.max(0, Math.floor(count)), MAX_QUEUE_SIMULATED);
  if (freeAt.length === 0 || n === 0) return [...freeAt];
  if (n <= freeAt.length * 4) return scheduleOneByOne(freeAt, n, durationMs);
  const starts = (t: number) =>
    freeAt.reduce((sum, f) => sum + (f < t ? Math.ceil((t - f) / durationMs) : 0), 0);
  // Starts strictly before lo are fewer than n, before hi at least n; narrow until at most one per slot lies
  // between them (about log2(count / slots) steps), then give the rest one by one.
  let lo = Math.min(...freeAt);
  let hi = Math.max(...freeAt) + n * durationMs;
  let atLo = 0;
  let atHi = starts(hi);
  while (atHi - atLo > freeAt.length) {
    const mid = (lo + hi) / 2;
    if (mid <= lo || mid >= hi) break;
    const atMid = starts(mid);
    if (atMid >= n) [hi, atHi] = [mid, atMid];
    else [lo, atLo] = [mid, atMid];
  }
  const before = freeAt.map((f) => (f < lo ? Math.ceil((lo - f) / durationMs) : 0));
  return scheduleOneByOne(
    freeAt.map((f, i) => f + before[i] * durationMs),
    n - atLo,
    durationMs,
  );
}

/** `scheduleAhead` job by job on a min-heap: O((slots + count) log slots). */
function scheduleOneByOne(freeAt: readonly number[], n: number, durationMs: number): number[] {
  const out = [...freeAt];
  if (out.length === 0 || n <= 0) return out;
  // Min-heap of slot indexes by (free time, index).
  const heap = out.map((_, i) => i);
  const less = (a: number, b: number) => out[a] < out[b] || (out[a] === out[b] && a < b);
  const down = (start: number) => {
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(heap[l], heap[m])) m = l;
      if (r < heap.length && less(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = Math.floor(heap.length / 2) - 1; i >= 0; i--) down(i);
  for (let k = 0; k < n; k++) {
    out[heap[0]] += durationMs;
    down(0);
  }
  return out;
}

/** Serverless start: warm when a job is in flight or one ended within the endpoint's idle timeout. */
export function serverlessLikelyWarm(
  inFlight: number,
  lastEndedAt: number | null,
  now: number,
  idleS: number,
): boolean {
  return inFlight > 0 || (lastEndedAt !== null && now - lastEndedAt <= idleS * 1000);
}

/**
 * In a start-delay history saved before the samples were kept by how the job was sent, delays at or under this
 * are taken as warm starts (FlashBoot hits), longer ones as cold starts.
 */
export const WARM_START_MAX_S = 10;
/** RunPod FlashBoot hit, median ~2 s (reference/autoscaling-theory.md §3.4, §6.2). */
export const DEFAULT_WARM_START_S = 2;
/** A FlashBoot miss, U(30, 60) s (§6.2). */
export const DEFAULT_COLD_START_S = 45;
/** That miss's p90 (§6.2's U(30, 60) s): the way out's start (`wayOutStartS` in plan.ts) before any sample. */
export const DEFAULT_COLD_START_P90_S = 57;

/**
 * Observed start delays (RunPod's delayTime, seconds) of jobs sent while the endpoint was likely warm and of jobs
 * sent while it was not (`serverlessLikelyWarm` at the send), each group's median the estimate for a send in that
 * state, the published default while a group has no sample. Measured, not assumed: an endpoint whose workers start
 * in a second (FlashBoot, or the in-repo fake) must not be priced a 45 s cold start it never shows. `coldP90S`,
 * the cold starts' p90 (nearest rank), is how late a serverless way out may start (plan.ts, `wayOutStartS`): cold
 * starts are a mixture (a FlashBoot hit in seconds, a miss in 30-60 s), so their median says little of a miss.
 */
export function serverlessStartDelays(
  warmObservedS: readonly number[],
  coldObservedS: readonly number[],
): { warmS: number; coldS: number; coldP90S: number } {
  const valid = (values: readonly number[]) => values.filter((s) => Number.isFinite(s) && s >= 0);
  const warm = valid(warmObservedS);
  const cold = valid(coldObservedS).sort((a, b) => a - b);
  return {
    warmS: warm.length > 0 ? median(warm) : DEFAULT_WARM_START_S,
    coldS: cold.length > 0 ? median(cold) : DEFAULT_COLD_START_S,
    coldP90S: cold.length > 0 ? cold[Math.ceil(0.9 * cold.length) - 1] : DEFAULT_COLD_START_P90_S,
  };
}

/** What a job run on a pod is attributed: the pod's per-second price × the job's run seconds. */
export function podJobAttributionUsd(pricePerHour: number, runMs: number): number {
  if (!Number.isFinite(pricePerHour) || !Number.isFinite(runMs) || pricePerHour <= 0 || runMs <= 0) return 0;
  return (pricePerHour / 3600) * (runMs / 1000);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function positive(value: number, fallback: number): number {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

/** The backends a job may use given what its caller asked for (`backend` of POST /api/jobs). */
export function allowedBackends(
  requested: 'auto' | 'local' | 'cloud' | 'serverless' | 'pod',
): ReadonlySet<CandidateBackend> {
  switch (requested) {
    case 'auto':
      return new Set(['local', 'pod', 'serverless']);
    case 'local':
      return new Set(['local']);
    case 'cloud':
      return new Set(['pod', 'serverless']);
    case 'serverless':
      return new Set(['serverless']);
    case 'pod':
      return new Set(['pod']);
  }
}
