import {
  type CanActivate,
  type ExecutionContext,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { rateLimitClient } from './client-address';
import { FixedWindowCounter } from './fixed-window-counter';
import { routeAccessOf } from './route-access.decorators';

const MINUTE_MS = 60_000;

/**
 * The limit on routes marked `@CreateRateLimit()` (jobs, pod spawns, worker registrations):
 * RATE_LIMIT_CREATE_PER_MINUTE requests per minute per client and per route (0 = off); past it, 429 with
 * Retry-After until the minute ends. Answers carry X-RateLimit-Limit/-Remaining/-Reset as @nestjs/throttler's do.
 *
 * Why not @nestjs/throttler's guard: it is CommonJS and requires @nestjs/common, which is ESM-only in Nest 12;
 * Node loads that (require of ESM), but Jest's module runtime cannot, so no test could boot the app with it.
 *
 * Counts are kept in memory, per instance: with N instances behind a load balancer a client gets up to N times
 * the limit, and a restart forgets them. Good enough to stop a runaway script; an exact cluster-wide limit
 * would need a shared store.
 */
@Injectable()
export class CreateRateLimitGuard implements CanActivate {
  private readonly limit: number;
  private readonly counter: FixedWindowCounter;

  constructor(@Inject(APP_CONFIG) config: AppConfig, clock: Clock) {
    this.limit = config.rateLimits.createPerMinute;
    this.counter = new FixedWindowCounter(clock, MINUTE_MS);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.limit === 0 || context.getType() !== 'http') return true;
    const controller = context.getClass<unknown>();
    const handler = context.getHandler();
    if (!routeAccessOf(controller, handler).createRateLimited) return true;

    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const key = `${controller.name}.${handler.name} ${rateLimitClient(request)}`;
    const { count, resetInMs } = this.counter.hit(key);
    const resetInSeconds = Math.max(1, Math.ceil(resetInMs / 1000));
    response.setHeader('X-RateLimit-Limit', String(this.limit));
    response.setHeader('X-RateLimit-Remaining', String(Math.max(0, this.limit - count)));
    response.setHeader('X-RateLimit-Reset', String(resetInSeconds));
    if (count <= this.limit) return true;
    response.setHeader('Retry-After', String(resetInSeconds));
    throw new HttpException(
      `Too many requests: at most ${this.limit} a minute to this route from one client ` +
        `(RATE_LIMIT_CREATE_PER_MINUTE); try again in ${resetInSeconds} s`,
      HttpStatus.TOO_MANY_REQUESTS,
    );
  }
}
