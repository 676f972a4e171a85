import { gpuSpeedFactor } from './gpu-speed';
import { defaultRunTime, p90Ratio, type WorkflowKind, type WorkloadHint } from './run-time-defaults';

/**
 * - observed: timings of this very (signature, worker class) pair;
 * - transferred: none here, but the signature was timed on another class: its median scaled by the two classes'
 *   speeds (a better guess than a size-based default, since it knows the workflow);
 * - default: neither; the published figures scaled by the workflow's size and the class's GPU.
 */
export type RunTimeSource = 'observed' | 'transferred' | 'default';

export interface RunTimeEstimate {
  medianS: number;
  p90S: number;
  /** Timings behind the estimate (0 for a default). */
  samples: number;
  source: RunTimeSource;
}

export interface RunTimeEstimatorOptions {
  /** Latest timings kept per pair: the estimate follows drift (driver updates, a model swapped). Default 64. */
  window?: number;
  /** Pairs kept; the least recently observed go first. Default 10 000. */
  maxPairs?: number;
  /** A class's speed relative to an RTX 4090. Default `gpuSpeedFactor` (by GPU name in the class). */
  speedOf?: (workerClass: string) => number;
}

/** What `toJSON` writes and `fromJSON` reads (plain JSON; persist it as one document). */
export interface RunTimeEstimatorState {
  version: 1;
  pairs: Array<{ signature: string; workerClass: string; samples: number[] }>;
  hints: Array<{ signature: string; hint: WorkloadHint }>;
}

/** Below this many timings the sample p90 is too noisy: it is at least median × the kind's lognormal ratio. */
const MIN_SAMPLES_FOR_P90 = 5;
/** A job longer than a week is a bookkeeping error, not a timing. */
const MAX_SECONDS = 7 * 24 * 3600;
const MAX_KEY_LENGTH = 512;

interface Pair {
  signature: string;
  workerClass: string;
  /** Ring buffer: `samples[next]` is the oldest once full. */
  samples: number[];
  next: number;
  cached?: { medianS: number; p90S: number };
}

/**
 * Learns how long a workflow signature (`workflowSignature`, src/workflows) runs on a worker class (a local
 * worker, a GPU type, a serverless endpoint): the median and p90 of the latest `window` timings per pair.
 * Pure and synchronous (no clock, no I/O): the caller persists `toJSON()` and feeds `observe()` as jobs end.
 * Bounded: `window` numbers per pair, `maxPairs` pairs.
 */
export class RunTimeEstimator {
  private readonly window: number;
  private readonly maxPairs: number;
  private readonly speedOf: (workerClass: string) => number;
  /** Insertion order = observation recency (re-inserted on observe), for eviction. */
  private readonly pairs = new Map<string, Pair>();
  /** signature → classes with timings, for transfers. */
  private readonly classesBySignature = new Map<string, Set<string>>();
  private readonly hints = new Map<string, WorkloadHint>();

  constructor(options: RunTimeEstimatorOptions = {}) {
    this.window = Math.max(1, Math.floor(options.window ?? 64));
    this.maxPairs = Math.max(1, Math.floor(options.maxPairs ?? 10_000));
    this.speedOf = options.speedOf ?? gpuSpeedFactor;
  }

  /**
   * Records that a job of `signature` ran `seconds` on `workerClass` (execution only: not queueing, boot or
   * upload). `hint` (the workflow's kind and size) is remembered for the signature's defaults on other classes.
   * @returns false (and records nothing) for a value that is not a positive finite duration under a week.
   */
  observe(signature: string, workerClass: string, seconds: number, hint?: WorkloadHint): boolean {
    if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_SECONDS) return false;
    if (!validKey(signature) || !validKey(workerClass)) return false;
    const key = pairKey(signature, workerClass);
    let pair = this.pairs.get(key);
    if (pair) this.pairs.delete(key);
    else pair = { signature, workerClass, samples: [], next: 0 };
    if (pair.samples.length < this.window) pair.samples.push(seconds);
    else pair.samples[pair.next] = seconds;
    pair.next = (pair.next + 1) % this.window;
    pair.cached = undefined;
    this.pairs.set(key, pair);
    let classes = this.classesBySignature.get(signature);
    if (!classes) this.classesBySignature.set(signature, (classes = new Set()));
    classes.add(workerClass);
    if (hint) this.hints.set(signature, sanitizeHint(hint));
    this.evict();
    return true;
  }

  /**
   * How long `signature` should take on `workerClass`. `hint` (or the one remembered from `observe`) shapes
   * the default and the p90 floor of a pair with few timings.
   */
  estimate(signature: string, workerClass: string, hint?: WorkloadHint): RunTimeEstimate {
    const known = hint ?? this.hints.get(signature);
    const kind: WorkflowKind = known?.kind === 'video' ? 'video' : 'image';
    const pair = this.pairs.get(pairKey(signature, workerClass));
    if (pair) {
      const { medianS, p90S } = this.quantiles(pair, kind);
      return { medianS, p90S, samples: pair.samples.length, source: 'observed' };
    }
    const donor = this.bestDonor(signature, workerClass);
    if (donor) {
      const ratio = this.speed(donor.workerClass) / this.speed(workerClass);
      const { medianS, p90S } = this.quantiles(donor, kind);
      return {
        medianS: medianS * ratio,
        p90S: p90S * ratio,
        samples: donor.samples.length,
        source: 'transferred',
      };
    }
    return { ...defaultRunTime(known, this.speed(workerClass)), samples: 0, source: 'default' };
  }

  /** Number of (signature, class) pairs with timings. */
  get size(): number {
    return this.pairs.size;
  }

  toJSON(): RunTimeEstimatorState {
    const pairs = [...this.pairs.values()].map((p) => ({
      signature: p.signature,
      workerClass: p.workerClass,
      samples: chronological(p),
    }));
    const hints = [...this.hints.entries()].map(([signature, hint]) => ({ signature, hint }));
    return { version: 1, pairs, hints };
  }

  /**
   * Rebuilds an estimator from `toJSON()` output. Tolerant: an unreadable state gives an empty estimator, and
   * entries that are not valid are skipped (persisted data may come from an older or broken process).
   */
  static fromJSON(state: unknown, options: RunTimeEstimatorOptions = {}): RunTimeEstimator {
    const estimator = new RunTimeEstimator(options);
    if (!isRecord(state) || state.version !== 1) return estimator;
    const pairs = Array.isArray(state.pairs) ? state.pairs : [];
    // Oldest first, as toJSON wrote them, so recency (and eviction) survive the round trip; only the newest
    // maxPairs can survive anyway.
    for (const p of pairs.slice(-estimator.maxPairs)) {
      if (!isRecord(p) || typeof p.signature !== 'string' || typeof p.workerClass !== 'string') continue;
      if (!Array.isArray(p.samples)) continue;
      for (const s of p.samples.slice(-estimator.window))
        if (typeof s === 'number') estimator.observe(p.signature, p.workerClass, s);
    }
    const hints = Array.isArray(state.hints) ? state.hints : [];
    for (const h of hints) {
      if (!isRecord(h) || typeof h.signature !== 'string' || !isRecord(h.hint)) continue;
      if (estimator.classesBySignature.has(h.signature))
        estimator.hints.set(h.signature, sanitizeHint(h.hint as unknown as WorkloadHint));
    }
    return estimator;
  }

  // ---------------------------------------------------------------- internals

  private speed(workerClass: string): number {
    const s = this.speedOf(workerClass);
    return Number.isFinite(s) && s > 0 ? s : 1;
  }

  private quantiles(pair: Pair, kind: WorkflowKind): { medianS: number; p90S: number } {
    if (!pair.cached) {
      const sorted = [...pair.samples].sort((a, b) => a - b);
      pair.cached = { medianS: quantile(sorted, 0.5), p90S: quantile(sorted, 0.9) };
    }
    const { medianS, p90S } = pair.cached;
    if (pair.samples.length >= MIN_SAMPLES_FOR_P90) return { medianS, p90S };
    return { medianS, p90S: Math.max(p90S, medianS * p90Ratio(kind)) };
  }

  /** The other class with the most timings of this signature. */
  private bestDonor(signature: string, workerClass: string): Pair | undefined {
    let best: Pair | undefined;
    for (const other of this.classesBySignature.get(signature) ?? []) {
      if (other === workerClass) continue;
      const pair = this.pairs.get(pairKey(signature, other));
      if (pair && (!best || pair.samples.length > best.samples.length)) best = pair;
    }
    return best;
  }

  private evict(): void {
    while (this.pairs.size > this.maxPairs) {
      const [key, pair] = this.pairs.entries().next().value as [string, Pair];
      this.pairs.delete(key);
      const classes = this.classesBySignature.get(pair.signature);
      classes?.delete(pair.workerClass);
      if (classes?.size === 0) {
        this.classesBySignature.delete(pair.signature);
        this.hints.delete(pair.signature);
      }
    }
  }
}

/** Linear interpolation between closest ranks (Hyndman-Fan type 7, as numpy's default). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

const pairKey = (signature: string, workerClass: string) => `${signature}\u0000${workerClass}`;
const validKey = (s: string) => typeof s === 'string' && s.length > 0 && s.length <= MAX_KEY_LENGTH;

function chronological(pair: Pair): number[] {
  // Not yet full: `next` is the length and the slices below keep the order; full: the oldest is at `next`.
  return [...pair.samples.slice(pair.next), ...pair.samples.slice(0, pair.next)];
}

function sanitizeHint(hint: WorkloadHint): WorkloadHint {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : undefined);
  const out: WorkloadHint = { kind: hint.kind === 'video' ? 'video' : 'image' };
  for (const k of ['width', 'height', 'steps', 'frames', 'batch'] as const) {
    const v = num(hint[k]);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
