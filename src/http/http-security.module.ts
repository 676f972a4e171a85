import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { ApiKeyGuard } from './api-key.guard';
import { createRateLimitOptions } from './create-rate-limit';

/**
 * Authentication, roles and rate limits of the HTTP service, as app-wide guards. Only the HTTP host (AppModule)
 * imports it: a Nest app that embeds CloudWorkersModule must not get our global guards.
 *
 * The guards run in the order listed: authentication first, so requests without a valid key are answered 401
 * and never use up a client's allowance of creations.
 */
@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG, Clock],
      useFactory: (config: AppConfig, clock: Clock) => createRateLimitOptions(config, clock),
    }),
  ],
  providers: [
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: ThrottlerGuard },
  ],
})
export class HttpSecurityModule {}
