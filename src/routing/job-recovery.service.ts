import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
} from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { Clock } from '../common/clock';
import { ShutdownState } from '../common/shutdown-state';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { LocalWorkersService } from '../local/local-workers.service';
import type { JobEntity } from '../persistence/entities/job.entity';
import { JobsRepository } from '../persistence/jobs.repository';
import { LeaderElection, LeaderEvents } from '../persistence/leader-election.service';
import { PodTransitions } from '../persistence/pod-transitions';
import { PodsRepository } from '../persistence/pods.repository';
import { Dispatcher } from './dispatcher.service';
import { ExecutionError } from './executors/execution';
import { ServerlessExecutor } from './executors/serverless-executor';
import { JobRunner, type Placement } from './job-runner.service';

/**
 * Recovery around the dispatcher's life: on becoming the leader it re-attaches the jobs left `running` (or
 * retries them) and opens dispatching; at shutdown it stops the passes and drains the jobs in flight.
 */
@Injectable()
export class JobRecovery implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Dispatcher');
  private stopped = false;
  private recovered = false;
  private bootstrapped = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobsRepository,
    private readonly local: LocalWorkersService,
    private readonly pods: PodsRepository,
    private readonly podTransitions: PodTransitions,
    private readonly serverless: ServerlessExecutor,
    private readonly clock: Clock,
    private readonly leader: LeaderElection,
    private readonly shutdown: ShutdownState,
    private readonly dispatcher: Dispatcher,
    private readonly runner: JobRunner,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    // Local workers are loaded by now (their module boots first), so re-attaching can find them.
    this.bootstrapped = true;
    if (this.leader.isLeader()) await this.takeOver();
  }

  /**
   * Stops dispatching and the waits of in-flight jobs. Their rows stay `running` with the remote prompt / job
   * id, so the next start re-attaches to them (or retries them if their worker lost them).
   */
  async beforeApplicationShutdown(signal?: string): Promise<void> {
    this.shutdown.beginDraining();
    this.stopped = true;
    await this.dispatcher.stop();
    if (signal && this.runner.runningCount() > 0) {
      this.logger.log(
        `${signal}: waiting up to ${this.config.jobs.shutdownGraceMs} ms for ${this.runner.runningCount()} running job(s)`,
      );
      await this.settledWithin(this.runner.allSettled(), this.config.jobs.shutdownGraceMs);
    }
    this.runner.abortAll('shutdown');
    await this.runner.allSettled();
    this.shutdown.jobsDrained();
  }

  private async settledWithin(settled: Promise<unknown>, ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
    clearTimeout(timer);
  }

  /**
   * Becoming the leader (at start, or when the previous leader died): re-attach or retry the jobs it left
   * running, then dispatch.
   */
  @OnEvent(LeaderEvents.Acquired)
  async takeOver(): Promise<void> {
    if (!this.bootstrapped || this.recovered || this.stopped) return;
    this.recovered = true;
    this.dispatcher.open();
    await this.recoverRunningJobs().catch((error: Error) =>
      this.logger.error(`Recovery failed: ${error.message}`),
    );
    void this.dispatcher.dispatch();
  }

  /**
   * After a restart: jobs still `running` are re-attached to their worker's prompt (or serverless job) when
   * we know it, otherwise put back in the queue. Nothing is lost and nothing runs twice to completion.
   */
  private async recoverRunningJobs(): Promise<void> {
    for (const job of await this.jobs.findByStatus('running')) {
      const placement = await this.placementForReattach(job);
      if (placement) {
        this.logger.log(
          `Re-attaching job ${job.id} to ${placement.backend} ${placement.workerId} (${job.remoteId})`,
        );
        this.runner.launch(job, placement, true);
        continue;
      }
      const placementForRelease = {
        backend: job.backend ?? 'local',
        workerId: job.workerId ?? '',
        url: null,
      } as Placement;
      await this.runner.handleFailure(
        job,
        placementForRelease,
        new ExecutionError('lost in a service restart before it reached a worker', 'infrastructure'),
      );
    }
  }

  private async placementForReattach(job: JobEntity): Promise<Placement | null> {
    if (!job.remoteId || !job.workerId) return null;
    switch (job.backend) {
      case 'local': {
        const worker = this.local.get(job.workerId);
        if (!worker || !this.local.reserveForReattach(worker.id)) return null;
        return { backend: 'local', workerId: worker.id, url: worker.url };
      }
      case 'pod': {
        const pod = await this.pods.findByName(job.workerId);
        if (
          !pod ||
          (pod.state !== 'busy' && !(await this.podTransitions.reattach(pod.name, this.clock.now())))
        ) {
          return null;
        }
        return { backend: 'pod', workerId: pod.name, url: pod.url, pricePerHour: pod.costPerHour };
      }
      case 'serverless':
        return this.serverless.available
          ? { backend: 'serverless', workerId: job.workerId, url: null }
          : null;
      case null:
        return null;
    }
  }
}
