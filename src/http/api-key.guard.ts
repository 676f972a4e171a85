import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  HttpException,
  HttpStatus,
  Inject,
  Injectable,
  Logger,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { EnrolmentAuthority } from '../local/enrolment/enrolment-access';
import { EnrolmentTokensRepository } from '../persistence/enrolment-tokens.repository';
import { LocalWorkersRepository } from '../persistence/local-workers.repository';
import { ApiKeyCredentials, presentedKey } from './api-key-credentials';
import { AuthFailureLimiter } from './auth-failure-limiter';
import { rateLimitClient } from './client-address';
import { OutputLinkSigner, outputPath } from './output-link-signer';
import { routeAccessOf } from './route-access.decorators';

/**
 * The one authentication rule, deny by default: every route Nest dispatches needs a key unless its handler or
 * controller is marked `@Public()`. The decision reads the route's metadata, never the path, so `/API/...`,
 * `/api/x/` or any other spelling Express routes to a handler meets the same check.
 *
 * - API_KEY (admin) may call everything; API_READ_KEY only routes marked `@ReadAccess()` (else 403).
 * - Without API_KEY the service is unauthenticated and listens on loopback only (see loadConfig).
 * - Wrong keys are counted per client address (AuthFailureLimiter): past the limit, 429 with Retry-After.
 * - A route marked `@SignedLinkAccess()` (the job output route only) also takes a signed link in place of a key:
 *   `?expires=&signature=` over that route's own `:id`/`:filename` (OutputLinkSigner). A request that carries a
 *   key is judged by the key alone; a bad or expired signature counts as a wrong key.
 * - A route marked `@EnrolmentTokenAccess()` or `@WorkerKeyAccess()` also takes that one credential in place of a
 *   key (src/local/enrolment/enrolment-access.ts: a studio machine's installer); a bad one counts as a wrong key.
 *
 * Routes Express serves outside Nest's router (the Swagger UI and its JSON, static files) never reach a guard:
 * they are public by construction, so only public things may be mounted that way.
 */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  private readonly logger = new Logger('Auth');
  private readonly credentials: ApiKeyCredentials;
  private readonly failures: AuthFailureLimiter;
  private readonly links: OutputLinkSigner;
  private readonly enrolment: EnrolmentAuthority;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly clock: Clock,
    enrolmentTokens: EnrolmentTokensRepository,
    workers: LocalWorkersRepository,
  ) {
    this.enrolment = new EnrolmentAuthority(enrolmentTokens, workers, clock);
    this.credentials = new ApiKeyCredentials(config.apiKey, config.apiReadKey);
    this.links = new OutputLinkSigner(config.apiKey);
    this.failures = new AuthFailureLimiter(clock, config.rateLimits.authFailuresPerMinute);
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    if (!this.credentials.enabled) return true;
    const { level, signedLink } = routeAccessOf(context.getClass<unknown>(), context.getHandler());
    if (level === 'public') return true;

    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const address = rateLimitClient(request);
    const blockedFor = this.failures.blockedForSeconds(address);
    if (blockedFor > 0) {
      http.getResponse<Response>().setHeader('Retry-After', String(blockedFor));
      throw new HttpException(
        `Too many requests with a wrong API key from this address; try again in ${blockedFor} s`,
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }

    const key = presentedKey(request.headers);
    if (signedLink && key === undefined && request.query?.signature !== undefined) {
      if (this.validSignedLink(request)) return true;
      if (this.failures.recordFailure(address)) {
        this.logger.warn(`Too many bad signed links from ${address}: its requests answer 429 for up to a minute`);
      }
      throw new UnauthorizedException('Invalid or expired signed link: ask for a new one (POST output-links)');
    }

    const match = this.credentials.match(key);
    if (match === 'admin') return true;
    if (match === 'read') {
      if (level === 'read') return true;
      throw new ForbiddenException(
        `The read-only key (API_READ_KEY) cannot do this: ${request.method} ${routePattern(request)} ` +
          'needs the admin key (API_KEY)',
      );
    }
    const enrolment =
      match === 'wrong' ? this.enrolment.credentialFor(context.getHandler(), key!) : undefined;
    if (enrolment) {
      return this.enrolment.allows(enrolment, key!, request).then((allowed) => {
        if (allowed) return true;
        if (this.failures.recordFailure(address))
          this.logger.warn(
            `Too many bad enrolment credentials from ${address}: its requests answer 429 for up to a minute`,
          );
        throw new UnauthorizedException(this.enrolment.refusal(enrolment));
      });
    }
    if (match === 'wrong' && this.failures.recordFailure(address)) {
      this.logger.warn(`Too many wrong API keys from ${address}: its requests answer 429 for up to a minute`);
    }
    throw new UnauthorizedException(
      'Missing or invalid API key: send Authorization: Bearer <API_KEY> or X-API-Key',
    );
  }

  /**
   * `?expires=&signature=` signed for exactly this job and file. The path is rebuilt from the route's parameters
   * as Express decoded them, never taken from the URL as spelled, so no spelling of a URL changes what is checked.
   */
  private validSignedLink(request: Request): boolean {
    const { id, filename } = request.params as Record<string, string | undefined>;
    if (typeof id !== 'string' || typeof filename !== 'string') return false;
    const { expires, signature } = request.query as Record<string, unknown>;
    return this.links.verify(request.method, outputPath(id, filename), expires, signature, this.clock.now());
  }
}

/** The route as declared (`/api/jobs/:id`), not as the client spelled it. */
function routePattern(request: Request): string {
  const route = request.route as { path?: unknown } | undefined;
  return typeof route?.path === 'string' ? route.path : request.path;
}
