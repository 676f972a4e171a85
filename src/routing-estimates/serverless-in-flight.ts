import { serverlessLikelyWarm } from './candidates';
import type { InFlightServerlessJob } from './serverless-queue';

/** A serverless job this process sent and has not seen end, as it was sent. */
export interface SentServerlessJob extends InFlightServerlessJob {
  endpointId: string;
  /** Every worker of the endpoint was busy: the job queued at RunPod behind others. */
  queuedBehind: boolean;
  /** The endpoint was likely warm: a job in flight there, or one ended within its idle timeout. */
  sentWarm: boolean;
}

/** An endpoint's jobs from this process: how many are in flight, and when the last one ended (epoch ms). */
export interface EndpointLoad {
  inFlight: number;
  lastEndedAt: number | null;
}

const NO_LOAD: EndpointLoad = Object.freeze({ inFlight: 0, lastEndedAt: null });

/**
 * The serverless jobs this process sent and has not seen end, in the order they were sent, and each endpoint's
 * load: whether an endpoint is likely warm or full, and (`inFlightOn`) what its next free worker waits for
 * (`serverlessWorkerFreeAt`). At most `maxTracked` jobs: past it, the oldest eighth is forgotten as if ended,
 * their endpoints' counts with them (dropped from the map alone, their end events would find nothing to count
 * down, and the endpoint would look full for good).
 */
export class ServerlessInFlight {
  private readonly jobs = new Map<string, SentServerlessJob>();
  private readonly loads = new Map<string, EndpointLoad>();

  /** `idleTimeoutS`: how long an endpoint's worker stays warm after its last job (RunPod's idle timeout). */
  constructor(
    private readonly maxTracked: number,
    private readonly idleTimeoutS: number,
  ) {}

  load(endpointId: string): EndpointLoad {
    return this.loads.get(endpointId) ?? NO_LOAD;
  }

  likelyWarm(endpointId: string, now: number): boolean {
    const load = this.load(endpointId);
    return serverlessLikelyWarm(load.inFlight, load.lastEndedAt, now, this.idleTimeoutS);
  }

  /**
   * A job sent to an endpoint at `now`, with `maxWorkers` workers there; a retry on serverless replaces the
   * job's earlier attempt. `expected` says what it should take, sent warm or not.
   */
  sent(
    jobId: string,
    endpointId: string,
    now: number,
    maxWorkers: number,
    expected: (sentWarm: boolean) => Pick<InFlightServerlessJob, 'startDelayS' | 'medianS' | 'p90S'>,
  ): void {
    this.ended(jobId, now);
    this.forgetOldest();
    const load = this.load(endpointId);
    const sentWarm = serverlessLikelyWarm(load.inFlight, load.lastEndedAt, now, this.idleTimeoutS);
    const { startDelayS, medianS, p90S } = expected(sentWarm);
    this.jobs.set(jobId, {
      endpointId,
      queuedBehind: load.inFlight >= maxWorkers,
      sentWarm,
      sentAt: now,
      startDelayS,
      medianS,
      p90S,
    });
    this.loads.set(endpointId, { inFlight: load.inFlight + 1, lastEndedAt: load.lastEndedAt });
  }

  /**
   * The job's serverless attempt ended at `now`: its endpoint has one job less in flight. Returns the job as it
   * was sent; undefined when this process did not send it (or has forgotten it).
   */
  ended(jobId: string, now: number): SentServerlessJob | undefined {
    const sent = this.jobs.get(jobId);
    if (sent === undefined) return undefined;
    this.jobs.delete(jobId);
    const load = this.loads.get(sent.endpointId);
    if (load) this.loads.set(sent.endpointId, { inFlight: Math.max(0, load.inFlight - 1), lastEndedAt: now });
    return sent;
  }

  /** The jobs in flight on an endpoint, in the order they were sent. */
  inFlightOn(endpointId: string): InFlightServerlessJob[] {
    return [...this.jobs.values()].filter((job) => job.endpointId === endpointId);
  }

  private forgetOldest(): void {
    if (this.jobs.size < this.maxTracked) return;
    let drop = Math.ceil(this.maxTracked / 8);
    for (const [jobId, sent] of this.jobs) {
      this.jobs.delete(jobId);
      const load = this.loads.get(sent.endpointId);
      if (load) this.loads.set(sent.endpointId, { ...load, inFlight: Math.max(0, load.inFlight - 1) });
      if (--drop === 0) break;
    }
  }
}
