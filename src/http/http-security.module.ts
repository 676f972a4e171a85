import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard';
import { CreateRateLimitGuard } from './create-rate-limit.guard';

/**
 * Authentication, roles and rate limits of the HTTP service, as app-wide guards. Only the HTTP host (AppModule)
 * imports it: a Nest app that embeds CloudWorkersModule must not get our global guards.
 *
 * The guards run in the order listed: authentication first, so requests without a valid key are answered 401
 * and never use up a client's allowance of creations.
 */
@Module({
  providers: [
    { provide: APP_GUARD, useClass: ApiKeyGuard },
    { provide: APP_GUARD, useClass: CreateRateLimitGuard },
  ],
})
export class HttpSecurityModule {}
