import { type DynamicModule, Global, type LoggerService, Module } from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { Test, type TestingModule } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComfyUiClientFactory } from '../../comfyui/comfyui-client.factory';
import { Clock, FakeClock } from '../../common/clock';
import { ShutdownState } from '../../common/shutdown-state';
import { type AppConfig, loadConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import type { PodEntity } from '../../persistence/entities/pod.entity';
import { PersistenceModule } from '../../persistence/persistence.module';
import { PodsRepository } from '../../persistence/pods.repository';
import { PODS_API } from '../../runpod/pods-api';
import { RunPodModule } from '../../runpod/runpod.module';
import { InMemoryPodsApi, type InMemoryPodsApiOptions } from '../../runpod/testing/in-memory-pods-api';
import { CloudControlLoop } from '../cloud-control-loop.service';
import { CLOUD_DEMAND, type CloudDemandBoard, type CloudDemandCounts } from '../cloud-demand';
import { CloudModule } from '../cloud.module';
import { PodLifecycleService } from '../pod-lifecycle.service';
import { PodSweeper, type SweepReport } from '../pod-sweeper.service';
import { ScalingDecisionLog } from '../scaling-decisions';
import { InProcessComfyUi } from './in-process-comfyui';

export interface CloudTestBedOptions {
  /**
   * Variables for `loadConfig`, over the bed's defaults (a RunPod key and image, so the cloud is on; `CLOUD_POLICY`
   * is the service's default, `breakeven`, unless given). Not merged with `process.env`.
   */
  env?: Record<string, string>;
  /** The fake's boot time, prices, volumes (its clock is the bed's). */
  pods?: Omit<InMemoryPodsApiOptions, 'clock'>;
  clock?: FakeClock;
}

/** Log lines kept for assertions; printed too with LOG=1. */
export class BedLogger implements LoggerService {
  readonly lines: string[] = [];
  private keep(level: string, message: unknown, context: unknown): void {
    const line = `${level} [${typeof context === 'string' ? context : ''}] ${String(message)}`;
    this.lines.push(line);
    if (process.env.LOG) process.stdout.write(`${line}\n`);
  }
  log(message: unknown, context?: unknown): void {
    this.keep('LOG', message, context);
  }
  warn(message: unknown, context?: unknown): void {
    this.keep('WARN', message, context);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.keep('ERROR', message, rest[rest.length - 1]);
  }
  debug(message: unknown, context?: unknown): void {
    this.keep('DEBUG', message, context);
  }
  verbose(): void {}
}

/** Config, clock and shutdown state, as CloudWorkersModule's core module provides them to the feature modules. */
@Global()
@Module({})
class BedCoreModule {
  static register(config: AppConfig, clock: Clock): DynamicModule {
    return {
      module: BedCoreModule,
      providers: [
        { provide: APP_CONFIG, useValue: config },
        { provide: Clock, useValue: clock },
        ShutdownState,
      ],
      exports: [APP_CONFIG, Clock, ShutdownState],
    };
  }
}

/**
 * The cloud control loop in-process, for service-level tests that run in milliseconds: the real CloudModule
 * (lifecycle, control loop, sweeper, budget, ledger, policies) on the real persistence (SQLite in a temp
 * DATA_DIR, migrations included), with RunPod's pods API replaced by {@link InMemoryPodsApi}, ComfyUI by
 * {@link InProcessComfyUi} and the clock by a FakeClock. No HTTP server, no dispatcher, no interval timers:
 * a test publishes demand, moves the clock and runs `tick()` / `sweep()` itself, then reads the fake's ground
 * truth and the pod rows.
 */
export class CloudTestBed {
  private constructor(
    readonly moduleRef: TestingModule,
    readonly clock: FakeClock,
    /** RunPod: pods, faults, billed USD, call log. */
    readonly runpod: InMemoryPodsApi,
    readonly comfy: InProcessComfyUi,
    readonly config: AppConfig,
    readonly logs: BedLogger,
    private readonly dataDir: string,
  ) {}

  static async create(options: CloudTestBedOptions = {}): Promise<CloudTestBed> {
    const dataDir = mkdtempSync(join(tmpdir(), 'cloud-test-bed-'));
    const clock = options.clock ?? new FakeClock();
    const config = loadConfig({
      DATA_DIR: dataDir,
      RUNPOD_API_KEY: 'test-bed-key',
      RUNPOD_DOCKER_IMAGE: 'example/comfyui:latest',
      // The loops' timers never fire within a test; the bed deletes them anyway after boot.
      CLOUD_TICK_INTERVAL: '3600000',
      CLOUD_SWEEP_INTERVAL: '3600000',
      ...options.env,
    });
    const runpod = new InMemoryPodsApi({ ...options.pods, clock });
    const comfy = new InProcessComfyUi();
    const logs = new BedLogger();
    const moduleRef = await Test.createTestingModule({
      imports: [
        BedCoreModule.register(config, clock),
        EventEmitterModule.forRoot(),
        PersistenceModule,
        RunPodModule,
        CloudModule,
      ],
    })
      .overrideProvider(PODS_API)
      .useValue(runpod)
      .overrideProvider(ComfyUiClientFactory)
      .useValue(comfy)
      .setLogger(logs)
      .compile();
    moduleRef.useLogger(logs);
    try {
      // Bootstrap hooks: leadership (always, on SQLite), the loops' registration, the sweeper's startup sweep.
      await moduleRef.init();
      const scheduler = moduleRef.get(SchedulerRegistry);
      for (const name of scheduler.getIntervals()) scheduler.deleteInterval(name);
      await moduleRef.get(PodSweeper).settled();
    } catch (error) {
      await moduleRef.close().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
      throw error;
    }
    return new CloudTestBed(moduleRef, clock, runpod, comfy, config, logs, dataDir);
  }

  get loop(): CloudControlLoop {
    return this.moduleRef.get(CloudControlLoop);
  }

  get sweeper(): PodSweeper {
    return this.moduleRef.get(PodSweeper);
  }

  get lifecycle(): PodLifecycleService {
    return this.moduleRef.get(PodLifecycleService);
  }

  get demand(): CloudDemandBoard {
    return this.moduleRef.get<CloudDemandBoard>(CLOUD_DEMAND);
  }

  get podRows(): PodsRepository {
    return this.moduleRef.get(PodsRepository);
  }

  get decisions(): ScalingDecisionLog {
    return this.moduleRef.get(ScalingDecisionLog);
  }

  /** One reconcile pass of the control loop (boot progress, boot deadline, cost, autoscale, reaping). */
  tick(): Promise<void> {
    return this.loop.tick();
  }

  /** Moves the clock, then runs one pass. */
  async advanceAndTick(ms: number): Promise<void> {
    this.clock.advance(ms);
    await this.tick();
  }

  /** One drift sweep (listing RunPod, diffing with the rows). */
  sweep(): Promise<SweepReport> {
    return this.sweeper.sweep();
  }

  /** What the dispatcher would publish after a pass (the fields not given stay as they were). */
  publishDemand(counts: Partial<CloudDemandCounts>): void {
    this.demand.publish(counts);
  }

  /** Every pod row, oldest first. */
  async rows(): Promise<PodEntity[]> {
    return (await this.podRows.findRecent(10_000)).reverse();
  }

  async close(): Promise<void> {
    try {
      await this.moduleRef.close();
    } finally {
      rmSync(this.dataDir, { recursive: true, force: true });
    }
  }
}
