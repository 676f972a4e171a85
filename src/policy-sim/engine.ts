import { performance } from 'node:perf_hooks';
import { podCostByDay } from '../cloud/policy/pod-cost';
import { EventQueue } from './event-queue';
import { billedSeconds, drawColdStart, drawPodLaunch, serverlessNoticeS, type SimModel } from './model';
import {
  COMPLETED_VIEW_LIMIT,
  QUEUE_VIEW_LIMIT,
  type CompletedJobView,
  type Decision,
  type PodView,
  type QueuedJobView,
  type SentServerlessJob,
  type SimPolicy,
  type SimState,
} from './policy';
import { quantile, Rng } from './rng';
import { afterFailedAttempt, retryExclusions } from '../routing/retry.policy';
import type { SimJob, Workload } from './workloads';

/**
 * A discrete-event simulator of the fleet (autoscaling-theory.md §6.1): arrivals, the dispatcher's passes,
 * the control loop's ticks, pod boots, serverless cold starts and idle timeouts, job ends and failures, all
 * in simulated time. The policy decides; the engine applies its decisions, bills every instance from start to
 * stop rounded up to the billing granularity, and retries failed jobs as the shipped Dispatcher does (an
 * infrastructure failure re-queues the job up to JOBS_MAX_ATTEMPTS; after a serverless failure only a pod may
 * run it). Random draws are keyed by (job, attempt) and by pod-launch ordinal, so every policy sees the same
 * durations, cold starts, boot times and failures.
 */

/** Simulated epoch: a Monday, 00:00 UTC (budget days and weekends line up with the trace). */
export const SIM_EPOCH_MS = Date.UTC(2026, 0, 5);
const MS = 1000;

export interface RunOptions {
  model: SimModel;
  seed: number;
  /** After the last arrival, keep running this long for the queue to drain (unfinished jobs are lost). */
  drainS?: number;
  /** Model-aware routing measurement (issue 11 §6): local workers' model sets and model loads. Off: unchanged. */
  router?: RouterOptions;
}

export interface RouterOptions {
  /** Checkpoints of each local worker (index = local-N); undefined or a missing entry: every model. */
  localModels?: ReadonlyArray<readonly string[] | undefined>;
  /** A worker whose last checkpoint differs from the job's loads it first: U(min, max) s, drawn per attempt. */
  modelLoadMinS: number;
  modelLoadMaxS: number;
  /** A local worker lacking the checkpoint fails the job this fast ("Value not in list: ckpt_name"). */
  wrongModelFailS: number;
  /**
   * The caller submits a job that failed that way again, `resubmitAfterS` later, as a new job at the back of the
   * queue (what a studio does when jobs fail by chance), up to `maxResubmits` times; completion still counts from
   * the first submission. Off: it stays failed.
   */
  resubmitFailed?: boolean;
  resubmitAfterS: number;
  maxResubmits: number;
  /** Keep each job's attempts, to list the feasible deadlines missed (`RouterStats.missed`; bench:router --misses). */
  history?: boolean;
}

/** One attempt of a job (RouterOptions.history); times in simulated seconds. */
export interface AttemptRecord {
  backend: Backend;
  workerId: string;
  /** Serverless: when the service sent it (the worker started at `startS`). */
  submittedS?: number;
  startS: number;
  /** The checkpoint load before the run (0: warm). */
  loadS: number;
  /** When the worker ended it, and when the service saw the end (serverless polls see it later). */
  endS?: number;
  seenS?: number;
  outcome: 'ok' | 'error' | 'crash' | 'workflow';
}

/** A feasible deadline missed (RouterOptions.history). */
export interface MissedDeadline {
  jobId: number;
  kind: string;
  checkpoint?: string;
  arrivalS: number;
  deadlineS: number;
  durationS: number;
  completedS: number | null;
  attempts: AttemptRecord[];
}

export const ROUTER_DEFAULTS: RouterOptions = {
  modelLoadMinS: 30,
  modelLoadMaxS: 70,
  wrongModelFailS: 1,
  resubmitAfterS: 30,
  maxResubmits: 5,
};

/** What the router measurement adds to a run (RunOptions.router set). */
export interface RouterStats {
  /** Seconds from arrival to the end of the successful attempt, per completed job. */
  completionS: number[];
  completionP50: number;
  completionP95: number;
  /**
   * The p95 of the jobs' runs alone (no wait, no model load): a floor under any router's p95 completion over
   * every job, since each job completes at least its run after its arrival.
   */
  runP95S: number;
  /** The p95 completion of the completed images, and of the completed videos. */
  imageCompletionP95: number;
  videoCompletionP95: number;
  /** Jobs that ended failed (a workflow failure: the wrong-model one; or out of attempts). */
  failed: number;
  /** Attempts started on a local worker that lacks the job's checkpoint. */
  wrongModelSends: number;
  /** Attempts that loaded a checkpoint first; of them on local workers. */
  modelLoads: number;
  localModelLoads: number;
  /** Failed jobs submitted again (RouterOptions.resubmitFailed). */
  resubmissions: number;
  feasibleDeadlines: number;
  /** Feasible deadlines met (completed by the deadline). */
  feasibleDeadlinesMet: number;
  /** RouterOptions.history: each feasible deadline missed, with its attempts. */
  missed?: MissedDeadline[];
}

export interface CostBreakdown {
  podBoot: number;
  podBusy: number;
  podIdle: number;
  serverlessCold: number;
  serverlessBusy: number;
  serverlessIdle: number;
  serverlessActive: number;
}

export interface RunResult {
  policy: string;
  workload: string;
  jobs: number;
  completed: number;
  lost: number;
  rejected: number;
  costUsd: number;
  breakdown: CostBreakdown;
  /** Seconds from arrival to the first second on a GPU, per job that started. */
  waits: number[];
  waitP50: number;
  waitP95: number;
  /** p95 of the image jobs' waits alone (§6.8's "p95 wait ≤ 60 s for images"). */
  imageWaitP95: number;
  waitMax: number;
  podLaunches: number;
  podBootFailures: number;
  coldStarts: number;
  /** Busy GPU-seconds / paid GPU-seconds on the cloud (pods and serverless). */
  utilisation: number;
  /** Share of completed GPU work that ran on serverless. */
  serverlessShare: number;
  deadlineMisses: number;
  /** Set when RunOptions.router is. */
  router?: RouterStats;
  /** Decisions the engine refused (routing to a busy pod, reaping a busy pod, spawning past maxPods). */
  invalidActions: number;
  decideCalls: number;
  decideP99Us: number;
  simulatedS: number;
  wallMs: number;
}

export type Backend = 'local' | 'pod' | 'serverless';

interface JobState {
  job: SimJob;
  status: 'queued' | 'running' | 'done' | 'lost';
  attempts: number;
  podOnly: boolean;
  failedWorkers: string[];
  firstStartAt: number | null;
  completedAt: number | null;
  rejected: boolean;
  /** Ended failed (not lost in the queue, not rejected). */
  failed: boolean;
  /** Times the caller submitted it again (RouterOptions.resubmitFailed) and when it last did (s). */
  resubmits: number;
  resubmittedAtS: number | null;
  /** The policy's view; rebuilt when attempts or podOnly change. */
  view: QueuedJobView | null;
  /** RouterOptions.history: its attempts. */
  history?: AttemptRecord[];
}

interface AttemptDraws {
  coldS: number;
  errorU: number;
  crashU: number;
  failPoint: number;
}

interface PodState {
  view: PodView;
  bootFails: boolean;
  busyS: number;
  /** The start of the current job, for the busy-seconds account. */
  jobStartAt: number | null;
  /** The checkpoint of its last job (router runs). */
  lastModel?: string;
}

interface SlsWorker {
  id: number;
  state: 'starting' | 'busy' | 'idle';
  createdAt: number;
  readyAt: number | null;
  idleSince: number;
  busyS: number;
  active: boolean;
  /** Bumps when the worker gets work, so a stale idle-expiry event is ignored. */
  version: number;
  /** The checkpoint of its last job (router runs). */
  lastModel?: string;
}

interface Submission {
  js: JobState;
  draws: AttemptDraws;
  /** When the service sent it to RunPod (its `/status` polls count from here). */
  submittedAt: number;
}

type SimEvent =
  | { kind: 'arrival'; js: JobState }
  | { kind: 'tick' }
  | { kind: 'pod-ready'; pod: PodState }
  | { kind: 'exec-end'; exec: Execution }
  | { kind: 'sls-noticed'; exec: Execution; ranS: number }
  | { kind: 'sls-ready'; worker: SlsWorker }
  | { kind: 'sls-expire'; worker: SlsWorker; version: number }
  | { kind: 'resubmit'; js: JobState };

interface Execution {
  js: JobState;
  backend: Backend;
  workerId: string;
  pod?: PodState;
  worker?: SlsWorker;
  localIndex?: number;
  startAt: number;
  /** Serverless: when the service sent it (RunPod's queue and cold start came after). */
  submittedAt?: number;
  /** 'workflow': sent to a local worker lacking its checkpoint (ComfyUI refuses the prompt). */
  outcome: 'ok' | 'error' | 'crash' | 'workflow';
  /** RouterOptions.history: this attempt's record. */
  record?: AttemptRecord;
}

export function runSimulation(workload: Workload, policy: SimPolicy, options: RunOptions): RunResult {
  return new Simulation(workload, policy, options).run();
}

class Simulation {
  private readonly model: SimModel;
  private readonly events = new EventQueue<SimEvent>();
  private readonly jobs: JobState[];
  /**
   * Jobs by their id: a policy routes by id, and a trace's ids need not be its order (the agreement test's trace
   * as the service ran it numbers jobs as submitted and sorts them by recorded arrival). Indexing `jobs` by id
   * once routed a job's decision to another job there: 93% on serverless, jobs late, 226 pod launches.
   */
  private readonly jobById = new Map<number, JobState>();
  /** Queued jobs, oldest arrival first. */
  private queue: JobState[] = [];
  private readonly localBusy: boolean[];
  private readonly localLastModel: Array<string | undefined>;
  private readonly localBusySince: Array<number | null>;
  private wrongModelSends = 0;
  private modelLoads = 0;
  private localModelLoads = 0;
  private readonly pods = new Map<string, PodState>();
  private podOrdinal = 0;
  private readonly workers = new Set<SlsWorker>();
  private workerSeq = 0;
  private readonly rpQueue: Submission[] = [];
  /** Serverless jobs RunPod has ended that the service's `/status` polls have not seen yet. */
  private noticePending = 0;
  /** Serverless jobs sent whose end the service has not seen, by job id, in the order they were sent. */
  private readonly slsSent = new Map<number, SentServerlessJob>();
  private readonly breakdown: CostBreakdown = {
    podBoot: 0,
    podBusy: 0,
    podIdle: 0,
    serverlessCold: 0,
    serverlessBusy: 0,
    serverlessIdle: 0,
    serverlessActive: 0,
  };
  private readonly dayCost = new Map<string, number>();
  private paidGpuS = 0;
  private cloudBusyS = 0;
  private serverlessWorkS = 0;
  private totalWorkS = 0;
  private coldStarts = 0;
  private bootFailures = 0;
  private invalidActions = 0;
  private readonly decideTimes: number[] = [];
  private running = 0;
  private completed: CompletedJobView[] = [];
  private now = SIM_EPOCH_MS;
  private readonly endOfArrivals: number;
  private readonly hardStop: number;

  constructor(
    private readonly workload: Workload,
    private readonly policy: SimPolicy,
    private readonly options: RunOptions,
  ) {
    this.model = options.model;
    this.jobs = workload.jobs.map((job) => ({
      job,
      status: 'queued',
      attempts: 0,
      podOnly: false,
      failedWorkers: [],
      firstStartAt: null,
      completedAt: null,
      rejected: false,
      failed: false,
      resubmits: 0,
      resubmittedAtS: null,
      view: null,
    }));
    for (const js of this.jobs) {
      if (this.jobById.has(js.job.id))
        throw new Error(`workload ${workload.name}: job id ${js.job.id} twice`);
      this.jobById.set(js.job.id, js);
    }
    this.localBusy = new Array<boolean>(this.model.localWorkers).fill(false);
    this.localLastModel = new Array<string | undefined>(this.model.localWorkers).fill(undefined);
    this.localBusySince = new Array<number | null>(this.model.localWorkers).fill(null);
    this.endOfArrivals = SIM_EPOCH_MS + workload.horizonS * MS;
    this.hardStop = this.endOfArrivals + (options.drainS ?? 86_400) * MS;
  }

  run(): RunResult {
    const wallStart = performance.now();
    for (const js of this.jobs)
      this.events.push(SIM_EPOCH_MS + js.job.arrivalS * MS, { kind: 'arrival', js });
    this.events.push(SIM_EPOCH_MS, { kind: 'tick' });
    for (let i = 0; i < (this.policy.serverlessActiveWorkers ?? 0); i++) {
      const worker = this.newWorker(true);
      worker.state = 'idle';
      worker.readyAt = SIM_EPOCH_MS;
    }

    let event = this.events.pop();
    while (event) {
      this.now = event.time;
      this.handle(event.value);
      event = this.events.pop();
    }
    this.finish();
    return this.result(performance.now() - wallStart);
  }

  private handle(event: SimEvent): void {
    switch (event.kind) {
      case 'arrival':
        this.enqueue(event.js);
        this.dispatchPass();
        return;
      case 'tick':
        this.applyDecision(this.decide('tick'));
        if (this.queue.length > 0) this.dispatchPass();
        if (!this.finishedAt(this.now + this.model.tickS * MS))
          this.events.push(this.now + this.model.tickS * MS, event);
        return;
      case 'pod-ready': {
        const pod = event.pod;
        if (!this.pods.has(pod.view.name) || pod.view.state !== 'starting') return;
        pod.view.state = 'ready';
        pod.view.readyAt = this.now;
        pod.view.lastBusyAt = this.now;
        this.dispatchPass();
        return;
      }
      case 'exec-end':
        this.endExecution(event.exec);
        this.dispatchPass();
        return;
      case 'sls-noticed':
        this.noticePending--;
        this.endJob(event.exec, event.ranS);
        this.dispatchPass();
        return;
      case 'resubmit':
        // The caller's new submission of a failed job (RouterOptions.resubmitFailed).
        this.running--;
        event.js.resubmittedAtS = (this.now - SIM_EPOCH_MS) / MS;
        this.enqueue(event.js);
        this.dispatchPass();
        return;
      case 'sls-ready': {
        const worker = event.worker;
        worker.readyAt = this.now;
        worker.state = 'idle';
        worker.idleSince = this.now;
        this.serveEndpoint();
        this.armIdleExpiry(worker);
        return;
      }
      case 'sls-expire':
        if (
          event.worker.state === 'idle' &&
          event.worker.version === event.version &&
          this.workers.has(event.worker)
        ) {
          this.stopWorker(event.worker);
        }
        return;
    }
  }

  /** Ticks stop once arrivals are over and nothing is queued or running, or at the hard stop. */
  private finishedAt(next: number): boolean {
    if (next > this.hardStop) return true;
    return next > this.endOfArrivals && this.queue.length === 0 && this.running === 0;
  }

  // ---- decisions ---------------------------------------------------------------------------------------

  private decide(trigger: SimState['trigger']): Decision {
    const state = this.snapshot(trigger);
    const start = performance.now();
    const decision = this.policy.decide(state, this.now);
    this.decideTimes.push(performance.now() - start);
    return decision;
  }

  private dispatchPass(): void {
    if (this.queue.length === 0) return;
    this.applyDecision(this.decide('dispatch'));
  }

  private snapshot(trigger: SimState['trigger']): SimState {
    const queue: QueuedJobView[] = [];
    for (const js of this.queue) {
      if (queue.length >= QUEUE_VIEW_LIMIT) break;
      js.view ??= {
        id: js.job.id,
        arrivalAt: SIM_EPOCH_MS + this.queuedAtS(js) * MS,
        kind: js.job.kind,
        signature: js.job.signature,
        deadlineAt: js.job.deadlineS === undefined ? undefined : SIM_EPOCH_MS + js.job.deadlineS * MS,
        ...(js.job.checkpoint === undefined ? {} : { checkpoint: js.job.checkpoint }),
        attempts: js.attempts,
        podOnly: js.podOnly,
        failedWorkers: [...js.failedWorkers],
      };
      queue.push(js.view);
    }
    // Ended at RunPod but not yet seen by the service's polls: still a busy slot to the service.
    let inFlight = this.rpQueue.length + this.noticePending;
    let warmIdle = 0;
    for (const worker of this.workers) {
      if (worker.state !== 'idle') inFlight += worker.state === 'busy' ? 1 : 0;
      else warmIdle++;
    }
    return {
      trigger,
      now: this.now,
      queue,
      queueLength: this.queue.length,
      local: this.localBusy.map((busy, i) =>
        this.options.router
          ? {
              id: `local-${i}`,
              busy,
              models: this.options.router.localModels?.[i],
              lastModel: this.localLastModel[i],
              busySince: this.localBusySince[i],
            }
          : // When its job started: the service's LocalHolds estimate a busy worker's free time from it.
            { id: `local-${i}`, busy, busySince: this.localBusySince[i] },
      ),
      pods: [...this.pods.values()].map((pod) => ({ ...pod.view })),
      serverless: {
        inFlight,
        // The model-aware router's serverless start estimate (router measurements only: a copy per pass).
        ...(this.options.router ? { sent: [...this.slsSent.values()] } : {}),
        warmIdle,
        workers: this.workers.size,
      },
      completed: this.completed,
      spentTodayUsd: this.model.dailyBudgetUsd > 0 ? this.spentToday() : 0,
      model: this.model,
    };
  }

  private applyDecision(decision: Decision): void {
    for (const { pod: name } of decision.reap) {
      const pod = this.pods.get(name);
      if (!pod || pod.view.state === 'busy') {
        this.invalidActions++;
        continue;
      }
      this.terminatePod(pod);
    }
    const room = this.model.maxPods - this.pods.size;
    if (decision.spawn > room) this.invalidActions++;
    for (let i = 0; i < Math.min(decision.spawn, room); i++) this.launchPod();
    if (decision.route.length === 0) return;
    let started = false;
    for (const route of decision.route) {
      const js = this.jobById.get(route.jobId);
      if (!js || js.status !== 'queued') {
        this.invalidActions++;
        continue;
      }
      switch (route.to) {
        case 'local': {
          const index = Number(route.workerId.slice('local-'.length));
          if (!(index >= 0 && index < this.localBusy.length) || this.localBusy[index]) {
            this.invalidActions++;
            continue;
          }
          this.localBusy[index] = true;
          this.startExecution(js, 'local', route.workerId, { localIndex: index });
          break;
        }
        case 'pod': {
          const pod = this.pods.get(route.pod);
          if (!pod || pod.view.state !== 'ready') {
            this.invalidActions++;
            continue;
          }
          pod.view.state = 'busy';
          pod.view.busySince = this.now;
          pod.view.runningCheckpoint = js.job.checkpoint;
          pod.view.runningKind = js.job.kind;
          this.startExecution(js, 'pod', pod.view.name, { pod });
          break;
        }
        case 'serverless':
          this.submitServerless(js);
          break;
        case 'reject':
          js.status = 'lost';
          js.rejected = true;
          break;
      }
      started = true;
    }
    if (started) this.queue = this.queue.filter((js) => js.status === 'queued');
  }

  // ---- jobs ----------------------------------------------------------------------------------------------

  private enqueue(js: JobState): void {
    js.status = 'queued';
    js.view = null;
    // Oldest arrival first (findQueuedForRouting orders by creation); a retried job keeps its place.
    const at = this.queuedAtS(js);
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.queuedAtS(this.queue[mid]) <= at) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, js);
  }

  /** When the job was created in the service: its arrival, or its last resubmission. */
  private queuedAtS(js: JobState): number {
    return js.resubmittedAtS ?? js.job.arrivalS;
  }

  /** The draws' stream label: a resubmitted job's attempts draw from their own streams. */
  private drawLabel(base: string, js: JobState): string {
    return js.resubmits === 0 ? base : `${base}:resubmit-${js.resubmits}`;
  }

  private drawsFor(js: JobState): AttemptDraws {
    const rng = Rng.stream(this.options.seed, this.drawLabel('attempt', js), js.job.id * 16 + js.attempts);
    return {
      coldS: drawColdStart(this.model, rng),
      errorU: rng.next(),
      crashU: rng.next(),
      failPoint: rng.next(),
    };
  }

  private startExecution(
    js: JobState,
    backend: Backend,
    workerId: string,
    where: { pod?: PodState; worker?: SlsWorker; localIndex?: number; submittedAt?: number },
    draws: AttemptDraws = this.drawsFor(js),
  ): void {
    js.status = 'running';
    js.attempts++;
    js.firstStartAt ??= this.now;
    this.running++;
    const crashProb =
      backend === 'pod'
        ? this.model.podCrashProb
        : backend === 'serverless'
          ? this.model.serverlessCrashProb
          : 0;
    const outcome =
      draws.crashU < crashProb ? 'crash' : draws.errorU < this.model.jobErrorProb ? 'error' : 'ok';
    let runS = outcome === 'ok' ? js.job.durationS : js.job.durationS * draws.failPoint;
    let loadS = 0;
    let finalOutcome: Execution['outcome'] = outcome;
    const router = this.options.router;
    const checkpoint = js.job.checkpoint;
    if (router && checkpoint !== undefined) {
      const models = where.localIndex !== undefined ? router.localModels?.[where.localIndex] : undefined;
      if (models && !models.includes(checkpoint)) {
        // ComfyUI validates the prompt before running it: "Value not in list: ckpt_name", at once.
        this.wrongModelSends++;
        finalOutcome = 'workflow';
        runS = router.wrongModelFailS;
      } else if (this.swapModel(where, checkpoint)) {
        this.modelLoads++;
        if (where.localIndex !== undefined) this.localModelLoads++;
        loadS = this.modelLoadS(js, router);
        runS += loadS;
      }
    }
    if (where.localIndex !== undefined) this.localBusySince[where.localIndex] = this.now;
    const exec: Execution = { js, backend, workerId, ...where, startAt: this.now, outcome: finalOutcome };
    if (router?.history) {
      exec.record = {
        backend,
        workerId: where.pod ? where.pod.view.name : where.worker ? `serverless-${where.worker.id}` : workerId,
        ...(where.submittedAt !== undefined ? { submittedS: (where.submittedAt - SIM_EPOCH_MS) / MS } : {}),
        startS: (this.now - SIM_EPOCH_MS) / MS,
        loadS,
        outcome: finalOutcome,
      };
      (js.history ??= []).push(exec.record);
    }
    if (where.pod) where.pod.jobStartAt = this.now;
    this.events.push(this.now + runS * MS, { kind: 'exec-end', exec });
  }

  /** Records the worker's new checkpoint; true when it differs from its last one (a load). */
  private swapModel(
    where: { pod?: PodState; worker?: SlsWorker; localIndex?: number },
    checkpoint: string,
  ): boolean {
    let last: string | undefined;
    if (where.localIndex !== undefined) {
      last = this.localLastModel[where.localIndex];
      this.localLastModel[where.localIndex] = checkpoint;
    } else if (where.pod) {
      last = where.pod.lastModel;
      where.pod.lastModel = checkpoint;
    } else if (where.worker) {
      last = where.worker.lastModel;
      where.worker.lastModel = checkpoint;
    }
    return last !== checkpoint;
  }

  /** The load time of this (job, attempt): a common random number, the same under every router. */
  private modelLoadS(js: JobState, router: RouterOptions): number {
    return Rng.stream(
      this.options.seed,
      this.drawLabel('model-load', js),
      js.job.id * 16 + js.attempts,
    ).uniform(router.modelLoadMinS, router.modelLoadMaxS);
  }

  /** The worker's side of a job's end: its GPU is free now; the job's side follows when the service sees it. */
  private endExecution(exec: Execution): void {
    const ranS = (this.now - exec.startAt) / MS;
    if (exec.record) exec.record.endS = (this.now - SIM_EPOCH_MS) / MS;
    if (exec.backend !== 'local') this.cloudBusyS += ranS;
    if (exec.backend === 'local') {
      this.localBusy[exec.localIndex!] = false;
      this.localBusySince[exec.localIndex!] = null;
    }
    if (exec.pod) {
      const pod = exec.pod;
      pod.busyS += ranS;
      pod.jobStartAt = null;
      if (exec.outcome === 'crash') {
        // WorkerReleaser: a pod that stopped answering is terminated.
        pod.view.state = 'ready';
        this.terminatePod(pod);
      } else {
        pod.view.state = 'ready';
        pod.view.busySince = null;
        pod.view.lastBusyAt = this.now;
        if (exec.outcome === 'ok') pod.view.jobsProcessed++;
      }
    }
    if (exec.worker) {
      const worker = exec.worker;
      worker.busyS += ranS;
      if (exec.outcome === 'crash') this.stopWorker(worker);
      else {
        worker.state = 'idle';
        worker.idleSince = this.now;
        this.serveEndpoint();
        if (worker.state === 'idle') this.armIdleExpiry(worker);
      }
      const submittedAt = exec.submittedAt ?? exec.startAt;
      const noticeAt = submittedAt + serverlessNoticeS(this.model, (this.now - submittedAt) / MS) * MS;
      if (noticeAt > this.now) {
        this.noticePending++;
        this.events.push(noticeAt, { kind: 'sls-noticed', exec, ranS });
        return;
      }
    }
    this.endJob(exec, ranS);
  }

  /** The job's side of its end, when the service sees it: done, failed, or queued again for a retry. */
  private endJob(exec: Execution, ranS: number): void {
    const { js } = exec;
    if (exec.record) exec.record.seenS = (this.now - SIM_EPOCH_MS) / MS;
    if (exec.backend === 'serverless') this.slsSent.delete(js.job.id);
    this.running--;
    if (exec.outcome === 'ok') {
      js.status = 'done';
      js.completedAt = this.now;
      // A new array each time, so a state handed to a policy never changes under it.
      this.completed = [
        ...this.completed.slice(-(COMPLETED_VIEW_LIMIT - 1)),
        { kind: js.job.kind, signature: js.job.signature, durationS: ranS, finishedAt: this.now },
      ];
      this.totalWorkS += js.job.durationS;
      if (exec.backend === 'serverless') this.serverlessWorkS += js.job.durationS;
      return;
    }
    if (exec.outcome === 'workflow') {
      // JobRunner.handleFailure through the shipped retry policy: a workflow failure fails the job at once
      // (the attempt counts; another worker "would fail it the same way", so no retry).
      const decision = afterFailedAttempt(
        { kind: 'workflow', message: 'Prompt outputs failed validation: Value not in list: ckpt_name' },
        js.attempts,
        this.model.maxAttempts,
      );
      if (decision.action !== 'retry') {
        const router = this.options.router;
        if (router?.resubmitFailed && js.resubmits < router.maxResubmits) {
          js.resubmits++;
          js.attempts = 0;
          js.failedWorkers = [];
          js.podOnly = false;
          // Neither queued nor done while the caller has not submitted it again: counted as running.
          js.status = 'running';
          this.running++;
          this.events.push(this.now + router.resubmitAfterS * MS, { kind: 'resubmit', js });
          return;
        }
        js.status = 'lost';
        js.failed = true;
        return;
      }
    }
    // Dispatcher.handleFailure: an infrastructure failure is retried elsewhere until JOBS_MAX_ATTEMPTS.
    if (js.attempts >= this.model.maxAttempts) {
      js.status = 'lost';
      js.failed = true;
      return;
    }
    // JobRunner.requeue: the shipped exclusions (not its workers again; after serverless, no serverless).
    ({ failedWorkers: js.failedWorkers, podOnly: js.podOnly } = retryExclusions(
      js.failedWorkers,
      js.podOnly,
      exec,
    ));
    this.enqueue(js);
  }

  // ---- pods ----------------------------------------------------------------------------------------------

  private launchPod(): void {
    const ordinal = this.podOrdinal++;
    const draw = drawPodLaunch(this.model, this.options.seed, ordinal);
    const pod: PodState = {
      view: {
        name: `pod-${ordinal}`,
        state: 'starting',
        requestedAt: this.now,
        createdAt: this.now,
        readyAt: null,
        lastBusyAt: null,
        busySince: null,
        costPerHour: this.model.podPricePerHour,
        jobsProcessed: 0,
      },
      bootFails: draw.fails,
      busyS: 0,
      jobStartAt: null,
    };
    this.pods.set(pod.view.name, pod);
    if (draw.fails) this.bootFailures++;
    else this.events.push(this.now + draw.bootS * MS, { kind: 'pod-ready', pod });
  }

  private terminatePod(pod: PodState): void {
    this.pods.delete(pod.view.name);
    const lifeS = (this.now - pod.view.createdAt) / MS;
    const rate = pod.view.costPerHour / 3600;
    const billed = billedSeconds(this.model, lifeS);
    const bootS = ((pod.view.readyAt ?? this.now) - pod.view.createdAt) / MS;
    this.breakdown.podBoot += bootS * rate;
    this.breakdown.podBusy += pod.busyS * rate;
    this.breakdown.podIdle += (billed - bootS - pod.busyS) * rate;
    this.paidGpuS += billed;
    this.addDayCost(pod.view.costPerHour, pod.view.createdAt, pod.view.createdAt + billed * MS);
  }

  // ---- serverless ----------------------------------------------------------------------------------------

  private newWorker(active: boolean): SlsWorker {
    const worker: SlsWorker = {
      id: this.workerSeq++,
      state: 'starting',
      createdAt: this.now,
      readyAt: null,
      idleSince: this.now,
      busyS: 0,
      active,
      version: 0,
    };
    this.workers.add(worker);
    return worker;
  }

  private submitServerless(js: JobState): void {
    js.status = 'running';
    this.running++;
    let warm = false;
    for (const worker of this.workers) warm ||= worker.state === 'idle';
    this.slsSent.delete(js.job.id);
    this.slsSent.set(js.job.id, {
      id: js.job.id,
      sentAt: this.now,
      sentWarm: warm,
      kind: js.job.kind,
      ...(js.job.signature === undefined ? {} : { signature: js.job.signature }),
      ...(js.job.checkpoint === undefined ? {} : { checkpoint: js.job.checkpoint }),
    });
    this.rpQueue.push({ js, draws: this.drawsFor(js), submittedAt: this.now });
    this.serveEndpoint();
  }

  /** RunPod's side: queued requests go to idle workers (active ones first); missing workers cold-start. */
  private serveEndpoint(): void {
    while (this.rpQueue.length > 0) {
      let best: SlsWorker | null = null;
      for (const worker of this.workers) {
        if (worker.state !== 'idle') continue;
        if (
          !best ||
          (worker.active && !best.active) ||
          (worker.active === best.active && worker.idleSince > best.idleSince)
        )
          best = worker;
      }
      if (!best) break;
      const submission = this.rpQueue.shift()!;
      best.state = 'busy';
      best.version++;
      this.running--; // startExecution counts it again
      this.startExecution(
        submission.js,
        'serverless',
        'serverless',
        { worker: best, submittedAt: submission.submittedAt },
        submission.draws,
      );
    }
    let starting = 0;
    for (const worker of this.workers) if (worker.state === 'starting') starting++;
    while (this.rpQueue.length > starting && this.workers.size < this.model.serverlessMaxWorkers) {
      const worker = this.newWorker(false);
      this.coldStarts++;
      const coldS = this.rpQueue[starting].draws.coldS;
      this.events.push(this.now + coldS * MS, { kind: 'sls-ready', worker });
      starting++;
    }
  }

  private armIdleExpiry(worker: SlsWorker): void {
    if (worker.active) return;
    this.events.push(this.now + this.model.serverlessIdleTimeoutS * MS, {
      kind: 'sls-expire',
      worker,
      version: worker.version,
    });
  }

  private stopWorker(worker: SlsWorker): void {
    this.workers.delete(worker);
    const lifeS = (this.now - worker.createdAt) / MS;
    const price = worker.active
      ? this.model.serverlessActivePricePerSecond
      : this.model.serverlessPricePerSecond;
    const billed = billedSeconds(this.model, lifeS);
    if (worker.active) this.breakdown.serverlessActive += billed * price;
    else {
      const coldS = ((worker.readyAt ?? this.now) - worker.createdAt) / MS;
      this.breakdown.serverlessCold += coldS * price;
      this.breakdown.serverlessBusy += worker.busyS * price;
      this.breakdown.serverlessIdle += (billed - coldS - worker.busyS) * price;
    }
    this.paidGpuS += billed;
    this.addDayCost(price * 3600, worker.createdAt, worker.createdAt + billed * MS);
  }

  // ---- money ---------------------------------------------------------------------------------------------

  private addDayCost(perHour: number, from: number, to: number): void {
    if (this.model.dailyBudgetUsd <= 0) return;
    for (const { day, amountUsd } of podCostByDay(perHour, from, to)) {
      this.dayCost.set(day, (this.dayCost.get(day) ?? 0) + amountUsd);
    }
  }

  /** Billed today plus what live instances accrued today. */
  private spentToday(): number {
    const today = new Date(this.now).toISOString().slice(0, 10);
    let spent = this.dayCost.get(today) ?? 0;
    const accrued = (perHour: number, from: number) => {
      for (const { day, amountUsd } of podCostByDay(perHour, from, this.now))
        if (day === today) spent += amountUsd;
    };
    for (const pod of this.pods.values()) accrued(pod.view.costPerHour, pod.view.createdAt);
    for (const worker of this.workers) {
      const price = worker.active
        ? this.model.serverlessActivePricePerSecond
        : this.model.serverlessPricePerSecond;
      accrued(price * 3600, worker.createdAt);
    }
    return spent;
  }

  private finish(): void {
    for (const pod of [...this.pods.values()]) {
      if (pod.jobStartAt !== null) pod.busyS += (this.now - pod.jobStartAt) / MS;
      this.terminatePod(pod);
    }
    for (const worker of [...this.workers]) this.stopWorker(worker);
    for (const js of this.jobs) if (js.status === 'queued' || js.status === 'running') js.status = 'lost';
  }

  private routerStats(): RouterStats {
    const done = this.jobs.filter((js) => js.status === 'done' && js.completedAt !== null);
    const completionOf = (js: JobState) => (js.completedAt! - SIM_EPOCH_MS) / MS - js.job.arrivalS;
    const completionS = done.map(completionOf);
    const completionP95Of = (kind: 'image' | 'video') =>
      quantile(done.filter((js) => js.job.kind === kind).map(completionOf), 0.95);
    const feasible = this.jobs.filter((js) => js.job.deadlineS !== undefined && js.job.deadlineFeasible);
    const met = (js: JobState) =>
      js.completedAt !== null && (js.completedAt - SIM_EPOCH_MS) / MS <= js.job.deadlineS!;
    return {
      completionS,
      completionP50: quantile(completionS, 0.5),
      completionP95: quantile(completionS, 0.95),
      runP95S: quantile(
        this.jobs.map((js) => js.job.durationS),
        0.95,
      ),
      imageCompletionP95: completionP95Of('image'),
      videoCompletionP95: completionP95Of('video'),
      failed: this.jobs.filter((js) => js.failed).length,
      wrongModelSends: this.wrongModelSends,
      modelLoads: this.modelLoads,
      localModelLoads: this.localModelLoads,
      resubmissions: this.jobs.reduce((sum, js) => sum + js.resubmits, 0),
      feasibleDeadlines: feasible.length,
      feasibleDeadlinesMet: feasible.filter(met).length,
      ...(this.options.router?.history
        ? {
            missed: feasible
              .filter((js) => !met(js))
              .map((js) => ({
                jobId: js.job.id,
                kind: js.job.kind,
                ...(js.job.checkpoint === undefined ? {} : { checkpoint: js.job.checkpoint }),
                arrivalS: js.job.arrivalS,
                deadlineS: js.job.deadlineS!,
                durationS: js.job.durationS,
                completedS: js.completedAt === null ? null : (js.completedAt - SIM_EPOCH_MS) / MS,
                attempts: js.history ?? [],
              })),
          }
        : {}),
    };
  }

  private result(wallMs: number): RunResult {
    const started = this.jobs.filter((js) => js.firstStartAt !== null);
    const waitOf = (js: JobState) => (js.firstStartAt! - SIM_EPOCH_MS) / MS - js.job.arrivalS;
    const waits = started.map(waitOf);
    const imageWaits = started.filter((js) => js.job.kind === 'image').map(waitOf);
    const b = this.breakdown;
    const costUsd =
      b.podBoot +
      b.podBusy +
      b.podIdle +
      b.serverlessCold +
      b.serverlessBusy +
      b.serverlessIdle +
      b.serverlessActive;
    const lostJobs = this.jobs.filter((js) => js.status === 'lost');
    return {
      policy: this.policy.name,
      workload: this.workload.name,
      jobs: this.jobs.length,
      completed: this.jobs.filter((js) => js.status === 'done').length,
      lost: lostJobs.length,
      rejected: lostJobs.filter((js) => js.rejected).length,
      costUsd,
      breakdown: { ...b },
      waits,
      waitP50: quantile(waits, 0.5),
      waitP95: quantile(waits, 0.95),
      imageWaitP95: quantile(imageWaits, 0.95),
      waitMax: waits.length ? waits.reduce((a, w) => Math.max(a, w), 0) : NaN,
      podLaunches: this.podOrdinal,
      podBootFailures: this.bootFailures,
      coldStarts: this.coldStarts,
      utilisation: this.paidGpuS > 0 ? this.cloudBusyS / this.paidGpuS : NaN,
      serverlessShare: this.totalWorkS > 0 ? this.serverlessWorkS / this.totalWorkS : 0,
      deadlineMisses: this.jobs.filter(
        (js) =>
          js.job.deadlineS !== undefined &&
          (js.completedAt === null || (js.completedAt - SIM_EPOCH_MS) / MS > js.job.deadlineS),
      ).length,
      ...(this.options.router ? { router: this.routerStats() } : {}),
      invalidActions: this.invalidActions,
      decideCalls: this.decideTimes.length,
      decideP99Us: quantile(this.decideTimes, 0.99) * 1000,
      simulatedS: (this.now - SIM_EPOCH_MS) / MS,
      wallMs,
    };
  }
}
