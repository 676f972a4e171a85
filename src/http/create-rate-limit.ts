import type { ExecutionContext } from '@nestjs/common';
import type { ThrottlerModuleOptions } from '@nestjs/throttler';
import type { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { ClockThrottlerStorage } from './clock-throttler-storage';
import { routeAccessOf } from './route-access.decorators';

const MINUTE_MS = 60_000;

/**
 * @nestjs/throttler set up for the routes marked `@CreateRateLimit()` only (everything else is skipped):
 * RATE_LIMIT_CREATE_PER_MINUTE requests per minute per client address and per route, 0 = off. The counts live
 * in memory, per instance (see ClockThrottlerStorage).
 */
export function createRateLimitOptions(config: AppConfig, clock: Clock): ThrottlerModuleOptions {
  const limit = config.rateLimits.createPerMinute;
  return {
    throttlers: [{ ttl: MINUTE_MS, limit }],
    storage: new ClockThrottlerStorage(clock),
    skipIf: (context: ExecutionContext) =>
      limit === 0 ||
      context.getType() !== 'http' ||
      !routeAccessOf(context.getClass<unknown>(), context.getHandler()).createRateLimited,
    errorMessage: (_context, detail) =>
      `Too many requests: at most ${detail.limit} a minute to this route from one client ` +
      `(RATE_LIMIT_CREATE_PER_MINUTE); try again in ${detail.timeToBlockExpire} s`,
  };
}
