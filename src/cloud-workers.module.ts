import {
  type DynamicModule,
  type FactoryProvider,
  Global,
  Module,
  type ModuleMetadata,
  type Provider,
} from '@nestjs/common';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { CloudModule } from './cloud/cloud.module';
import { Clock, SystemClock } from './common/clock';
import { ShutdownState } from './common/shutdown-state';
import { type AppConfig, loadConfig } from './config/app-config';
import { FleetEventsModule } from './events/fleet-events.module';
import { APP_CONFIG } from './config/config.module';
import type { Env } from './config/env-parsers';
import { MetricsModule } from './metrics/metrics.module';
import { PersistenceModule } from './persistence/persistence.module';
import { RoutingModule } from './routing/routing.module';
import { RunPodModule } from './runpod/runpod.module';
import { WebhooksModule } from './webhooks/webhooks.module';

/** How a host configures the core. Every field is optional: `forRoot()` alone reads `process.env`. */
export interface CloudWorkersOptions {
  /**
   * A configuration already built (e.g. `loadConfig({...})` with overrides). When given, `env` is not read.
   */
  config?: AppConfig;
  /**
   * The variables to read, with the same names and rules as the service (`LOCAL_COMFYUI_URLS`, `DATA_DIR`,
   * `RUNPOD_API_KEY`, ...). Replaces `process.env` rather than adding to it, so a host decides exactly what the
   * core sees; spread `process.env` into it to add to it. Default: `process.env`.
   */
  env?: Env;
  /** "Now" for every time-based decision. Default: the system clock; tests pass a FakeClock. */
  clock?: Clock;
}

export interface CloudWorkersAsyncOptions {
  /** Modules whose providers `useFactory` needs (e.g. the host's ConfigModule). */
  imports?: ModuleMetadata['imports'];
  inject?: FactoryProvider['inject'];
  // Nest hands the `inject` providers in order; their types are the host's to state in its factory.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  useFactory: (...args: any[]) => CloudWorkersOptions | Promise<CloudWorkersOptions>;
}

const CLOUD_WORKERS_OPTIONS = Symbol('CLOUD_WORKERS_OPTIONS');

/**
 * Config, clock and shutdown state for every module of the core. Global so the feature modules can inject them
 * without each importing this; the tokens are ours alone, so nothing of the host's is shadowed.
 */
@Global()
@Module({})
class CloudWorkersCoreModule {
  static register(options: Provider, imports: ModuleMetadata['imports'] = []): DynamicModule {
    return {
      module: CloudWorkersCoreModule,
      imports,
      providers: [
        options,
        {
          provide: APP_CONFIG,
          inject: [CLOUD_WORKERS_OPTIONS],
          useFactory: (resolved: CloudWorkersOptions): AppConfig =>
            resolved.config ?? loadConfig(resolved.env ?? process.env),
        },
        {
          provide: Clock,
          inject: [CLOUD_WORKERS_OPTIONS],
          useFactory: (resolved: CloudWorkersOptions): Clock => resolved.clock ?? new SystemClock(),
        },
        ShutdownState,
      ],
      exports: [APP_CONFIG, Clock, ShutdownState],
    };
  }
}

/**
 * The embeddable core: job queue, routing (`WorkerRouter`), local workers, RunPod pods and serverless, cost
 * ledger and budget, with their background work (dispatcher, autoscaler, reaper, sweeper, health ticks, leader
 * election), which starts when the host app starts and stops on `app.close()`.
 *
 * It registers no controller, guard, pipe or filter and opens no port: the HTTP service (`AppModule`) is one
 * host of it that adds those. Global, so any module of the host can inject `WorkerRouter`; import it once.
 */
@Module({})
export class CloudWorkersModule {
  static forRoot(options: CloudWorkersOptions = {}): DynamicModule {
    return CloudWorkersModule.build(
      CloudWorkersCoreModule.register({ provide: CLOUD_WORKERS_OPTIONS, useValue: options }),
    );
  }

  static forRootAsync(options: CloudWorkersAsyncOptions): DynamicModule {
    return CloudWorkersModule.build(
      CloudWorkersCoreModule.register(
        { provide: CLOUD_WORKERS_OPTIONS, inject: options.inject ?? [], useFactory: options.useFactory },
        options.imports,
      ),
    );
  }

  private static build(core: DynamicModule): DynamicModule {
    return {
      module: CloudWorkersModule,
      global: true,
      imports: [
        core,
        // Global, and before persistence: its listeners must be subscribed before the leader election (which
        // boots with persistence) announces leadership at startup. A host's own EventEmitterModule may coexist:
        // each emitter gets every @OnEvent handler, so a handler still runs once per event.
        EventEmitterModule.forRoot(),
        PersistenceModule,
        RunPodModule,
        CloudModule,
        RoutingModule,
        FleetEventsModule,
        // Metrics collection and webhook deliveries; the /metrics route is the HTTP layer's (MetricsController).
        MetricsModule,
        WebhooksModule,
      ],
      exports: [RoutingModule, FleetEventsModule],
    };
  }
}
