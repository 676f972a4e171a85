import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { CloudWorkersModule } from './cloud-workers.module';
import type { Clock } from './common/clock';
import { HttpErrorFilter } from './http/http-error.filter';
import type { AppConfig } from './config/app-config';
import { ApiControllersModule } from './http/api-controllers.module';
import { DashboardModule } from './http/dashboard.module';
import { HttpSecurityModule } from './http/http-security.module';

export interface AppModuleOptions {
  config: AppConfig;
  /** Tests pass a FakeClock; production uses the system clock. */
  clock?: Clock;
}

/**
 * The HTTP service: the embeddable core (CloudWorkersModule) plus what only an HTTP host has: our controllers,
 * the app-wide guard and error filter, and the web dashboard at `/`.
 */
@Module({})
export class AppModule {
  static forRoot({ config, clock }: AppModuleOptions): DynamicModule {
    return {
      module: AppModule,
      imports: [
        CloudWorkersModule.forRoot({ config, clock }),
        ApiControllersModule,
        HttpSecurityModule,
        DashboardModule.forRoot(),
      ],
      providers: [{ provide: APP_FILTER, useClass: HttpErrorFilter }],
    };
  }
}
