import { DynamicModule, Global, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { ScheduleModule } from '@nestjs/schedule';
import { CloudModule } from './cloud/cloud.module';
import { ApiKeyGuard } from './common/api-key.guard';
import { Clock, SystemClock } from './common/clock';
import { HttpErrorFilter } from './common/http-error.filter';
import { ShutdownState } from './common/shutdown-state';
import type { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { HealthController } from './health/health.controller';
import { PersistenceModule } from './persistence/persistence.module';
import { RoutingModule } from './routing/routing.module';
import { RunPodModule } from './runpod/runpod.module';

export interface AppModuleOptions {
  config: AppConfig;
  /** Tests pass a FakeClock; production uses the system clock. */
  clock?: Clock;
}

@Global()
@Module({})
class ClockModule {
  static forRoot(clock: Clock): DynamicModule {
    return {
      module: ClockModule,
      providers: [{ provide: Clock, useValue: clock }, ShutdownState],
      exports: [Clock, ShutdownState],
    };
  }
}

@Module({})
export class AppModule {
  static forRoot({ config, clock = new SystemClock() }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        ClockModule.forRoot(clock),
        EventEmitterModule.forRoot(),
        ScheduleModule.forRoot(),
        PersistenceModule,
        RunPodModule,
        CloudModule,
        RoutingModule,
      ],
      controllers: [HealthController],
      providers: [
        { provide: APP_GUARD, useFactory: () => new ApiKeyGuard(config.apiKey) },
        { provide: APP_FILTER, useClass: HttpErrorFilter },
      ],
    };
  }
}
