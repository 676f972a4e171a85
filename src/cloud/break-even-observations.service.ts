import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { JobEvents, type JobCompletedEvent } from '../jobs/job.events';
import { JobsRepository } from '../persistence/jobs.repository';
import { PodsRepository } from '../persistence/pods.repository';
import { SERVERLESS_ENDPOINT_API, type ServerlessEndpointApi } from '../runpod/serverless-endpoint-api';
import { BudgetService } from './budget.service';
import { CloudSettingsService } from './cloud-settings.service';
import type { MeasuredParameters } from './measured-parameters';
import { breakEvenParameters, jobClassOf, type JobClass } from './policy/breakeven.policy';

/** Completed cloud jobs whose run times the policy averages (the simulator's adapter keeps as many). */
const JOB_SAMPLES = 200;
/** Pod boots averaged. */
const BOOT_SAMPLES = 20;
/** Serverless start delays averaged. */
const DELAY_SAMPLES = 100;
/**
 * Run times are re-read from the database this often: between reads the leader adds each completion it sees
 * (events), and a new leader starts from what every instance recorded.
 */
const RELOAD_MS = 5 * 60 * 1000;
/** The endpoint's max workers are re-read from RunPod this often (an operator may change them in its console). */
const ENDPOINT_REFRESH_MS = 10 * 60 * 1000;

/**
 * What the break-even policy needs to know about this fleet, measured from the service's own records: pod boot
 * times (creation to ready, from the pods table), job run times on pods and serverless (from the jobs table,
 * then from each completion), serverless start delays (RunPod's delayTime), and the prices (RunPod's catalogue
 * or our last pod of the configured GPU type; RUNPOD_SERVERLESS_PRICE_PER_SECOND). Inputs it cannot measure
 * (serverless's billed overhead, the endpoint's max workers) and the values used before the first measurement
 * come from config (CLOUD_SERVERLESS_OVERHEAD_SECONDS, RUNPOD_SERVERLESS_MAX_WORKERS,
 * CLOUD_POLICY_DEFAULT_BOOT_SECONDS, CLOUD_POLICY_DEFAULT_JOB_SECONDS).
 */
@Injectable()
export class BreakEvenObservations {
  /** Completed cloud runs, oldest first, with the class (kind) of each. */
  private runTimes: Array<{ jobClass: JobClass; durationS: number }> = [];
  private readonly startDelaysS: number[] = [];
  private loadedAt = -Infinity;
  private endpoint: { at: number; workersMax: number | null } | null = null;
  private readonly logger = new Logger('BreakEvenObservations');

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly jobs: JobsRepository,
    private readonly pods: PodsRepository,
    private readonly budget: BudgetService,
    private readonly settings: CloudSettingsService,
    private readonly clock: Clock,
    @Optional()
    @Inject(SERVERLESS_ENDPOINT_API)
    private readonly endpointApi: ServerlessEndpointApi | null = null,
  ) {}

  @OnEvent(JobEvents.Completed)
  onCompleted(event: JobCompletedEvent): void {
    if (event.backend !== 'pod' && event.backend !== 'serverless') return;
    pushBounded(
      this.runTimes,
      { jobClass: jobClassOf(event.workloadKind), durationS: event.durationMs / 1000 },
      JOB_SAMPLES,
    );
    if (event.serverlessStartDelayMs !== undefined)
      pushBounded(this.startDelaysS, event.serverlessStartDelayMs / 1000, DELAY_SAMPLES);
  }

  async parameters(): Promise<MeasuredParameters> {
    await this.reloadRunTimes();
    const policy = this.config.cloud.breakEven;
    const podPricePerHour = await this.budget.pricePerHour(this.settings.get().gpuTypeId);
    const bootSamplesS = (await this.pods.findRecent(BOOT_SAMPLES * 2))
      .filter((pod) => pod.readyAt !== null && pod.origin !== 'adopted')
      .slice(0, BOOT_SAMPLES)
      .map((pod) => (pod.readyAt! - (pod.createdAt ?? pod.requestedAt)) / 1000);
    const parameters = breakEvenParameters({
      podPricePerS: podPricePerHour / 3600,
      serverlessPricePerS: this.config.runpod.serverlessPricePerSecond,
      serverlessOverheadPerJobS: policy.serverlessOverheadS,
      bootSamplesS,
      defaultBootS: policy.defaultBootS,
      completed: this.runTimes,
      defaultDurationS: policy.defaultJobS,
    });
    const delays = this.startDelaysS;
    const fromRunPod = policy.serverlessMaxWorkers === undefined ? await this.endpointWorkersMax() : null;
    return {
      ...parameters,
      podPricePerHour,
      serverlessStartDelayS: delays.length > 0 ? delays.reduce((a, b) => a + b, 0) / delays.length : null,
      serverlessStartDelaySamples: delays.length,
      serverlessMaxWorkers: policy.serverlessMaxWorkers ?? fromRunPod ?? Infinity,
      serverlessMaxWorkersSource:
        policy.serverlessMaxWorkers !== undefined ? 'config' : fromRunPod !== null ? 'runpod' : 'unknown',
    };
  }

  /**
   * The endpoint's `workers.max` from RunPod (cached; a failed read is retried on the next refresh and counts as
   * unknown meanwhile, so serverless is not capped by a guess).
   */
  private async endpointWorkersMax(): Promise<number | null> {
    const endpointId = this.config.runpod.serverlessEndpointId;
    if (!endpointId || !this.endpointApi) return null;
    const now = this.clock.now();
    if (this.endpoint && now - this.endpoint.at < ENDPOINT_REFRESH_MS) return this.endpoint.workersMax;
    let workersMax: number | null;
    try {
      const read = (await this.endpointApi.get(endpointId))?.workersMax ?? null;
      workersMax = read !== null && read > 0 ? Math.floor(read) : null;
    } catch (error) {
      // Keep the last value RunPod gave: a failed read must not lift the cap and flood RunPod's queue.
      this.logger.warn(`Could not read the serverless endpoint's max workers: ${(error as Error).message}`);
      workersMax = this.endpoint?.workersMax ?? null;
    }
    this.endpoint = { at: now, workersMax };
    return workersMax;
  }

  private async reloadRunTimes(): Promise<void> {
    const now = this.clock.now();
    if (now - this.loadedAt < RELOAD_MS) return;
    this.loadedAt = now;
    const runs = await this.jobs.recentCloudRuns(JOB_SAMPLES);
    // Oldest first, as completions are appended.
    this.runTimes = runs
      .filter((run) => run.startedAt !== null && run.completedAt !== null)
      .map((run) => ({
        jobClass: jobClassOf(run.workloadKind),
        durationS: Math.max(0, run.completedAt! - run.startedAt!) / 1000,
      }))
      .reverse();
  }
}

function pushBounded<T>(values: T[], value: T, max: number): void {
  values.push(value);
  if (values.length > max) values.splice(0, values.length - max);
}
