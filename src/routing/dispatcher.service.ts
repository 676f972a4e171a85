import { Inject, Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { performance } from 'node:perf_hooks';
import { CloudEvents } from '../cloud/cloud.events';
import { CLOUD_DEMAND, type CloudDemandBoard } from '../cloud/cloud-demand';
import { POD_CAPABILITIES_READ } from '../cloud/pod-capabilities.service';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { JobEvents } from '../jobs/job.events';
import { LOCAL_WORKER_FREED } from '../local/local-workers.service';
import { LeaderElection } from '../persistence/leader-election.service';
import { DispatchPasses } from './dispatch-pass';
import { JobRunner } from './job-runner.service';

const INTERVAL_NAME = 'job-dispatcher';
/**
 * A pass in which nothing can start (no free local slot, no idle pod, no serverless) only refreshes the
 * autoscaler's demand count and the jobs' waiting reasons, reading up to a page of the queue. Such passes run at
 * most this often (wall-clock time: it bounds CPU), with a trailing pass so the last arrival is always counted.
 * The autoscaler reads the demand on its own tick, seconds apart. Without this, every submission behind a
 * backlog waiting for pods re-read 500 rows: 335 submits/s at 3 ms each with RunPod configured.
 */
const BOOKKEEPING_PASS_MS = 250;

/**
 * Schedules the dispatch passes (`DispatchPasses`: where each queued job goes, and the autoscaler's demand): when
 * a job arrives or a worker frees up, when a job ends, and on a backstop interval; one at a time (a request during
 * a pass runs exactly one more after it); only on the leader, once `JobRecovery` has opened it, and never after
 * `stop()`. A pass that can start nothing runs at most every BOOKKEEPING_PASS_MS.
 */
@Injectable()
export class Dispatcher implements OnApplicationBootstrap {
  private readonly logger = new Logger('Dispatcher');
  private pass: Promise<void> | null = null;
  private passAgain = false;
  private stopped = false;
  private recovered = false;
  private lastBookkeepingPass = -Infinity;
  private bookkeepingTimer?: NodeJS.Timeout;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(CLOUD_DEMAND) private readonly demand: CloudDemandBoard,
    private readonly scheduler: SchedulerRegistry,
    private readonly leader: LeaderElection,
    private readonly runner: JobRunner,
    private readonly passes: DispatchPasses,
  ) {
    runner.afterEachJob(() => void this.dispatch());
  }

  onApplicationBootstrap(): void {
    const interval = setInterval(() => void this.dispatch(), this.config.jobs.dispatchIntervalMs);
    this.scheduler.addInterval(INTERVAL_NAME, interval);
    void this.dispatch();
  }

  @OnEvent(JobEvents.Queued)
  @OnEvent(LOCAL_WORKER_FREED)
  @OnEvent(CloudEvents.PodReady)
  @OnEvent(POD_CAPABILITIES_READ)
  onCapacityOrWork(): void {
    void this.dispatch();
  }

  /** One dispatch pass; a call during a pass schedules exactly one more pass after it. */
  dispatch(): Promise<void> {
    if (this.stopped || !this.leader.isLeader() || !this.recovered) return Promise.resolve();
    if (this.pass) {
      this.passAgain = true;
      return this.pass;
    }
    const passEnded = this.demand.passBegins();
    this.pass = this.runPass()
      .catch((error: Error) => this.logger.error(`Dispatch pass failed: ${error.message}`))
      .finally(() => {
        passEnded();
        this.pass = null;
        if (this.passAgain) {
          this.passAgain = false;
          void this.dispatch();
        }
      });
    return this.pass;
  }

  /**
   * Passes run from now on (on the leader). `JobRecovery` opens the dispatcher when it starts recovering the
   * jobs a previous leader left running.
   */
  open(): void {
    this.recovered = true;
  }

  /** No pass starts after this; resolves when the pass under way (if any) has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.bookkeepingTimer);
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
    await this.pass;
  }

  /** Jobs this process is running now. */
  runningCount(): number {
    return this.runner.runningCount();
  }

  private runPass(): Promise<void> {
    return this.passes.run(
      () => this.stopped,
      () => this.bookkeepingDeferred(),
    );
  }

  /**
   * True when a bookkeeping pass ran less than BOOKKEEPING_PASS_MS ago: this one is skipped and one pass is
   * scheduled for when the interval is over.
   */
  private bookkeepingDeferred(): boolean {
    const now = performance.now();
    const wait = this.lastBookkeepingPass + BOOKKEEPING_PASS_MS - now;
    if (wait <= 0) {
      this.lastBookkeepingPass = now;
      return false;
    }
    this.bookkeepingTimer ??= setTimeout(() => {
      this.bookkeepingTimer = undefined;
      void this.dispatch();
    }, wait);
    return true;
  }
}
