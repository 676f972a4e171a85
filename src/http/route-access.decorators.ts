import { SetMetadata, type Type } from '@nestjs/common';

/**
 * Who may call a route. Decided by metadata on the handler (or its controller), never by the request's path,
 * so no spelling of a URL (case, slashes, encodings) can change the answer: if Nest routes the request to a
 * handler, that handler's level applies.
 *
 * - `public`: no key (health, and anything a browser must load before it has a key).
 * - `read`: the read-only key (API_READ_KEY) or the admin key (API_KEY).
 * - `admin`: the admin key only. The default: a route nobody marked is admin-only.
 */
export type RouteAccessLevel = 'public' | 'read' | 'admin';

export const ROUTE_ACCESS_METADATA = 'cloud-workers:route-access';
export const CREATE_RATE_LIMIT_METADATA = 'cloud-workers:create-rate-limit';
export const SIGNED_LINK_METADATA = 'cloud-workers:signed-link';

/** Answers without any key. Use only for what must be open: health checks, the page that asks for a key. */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(ROUTE_ACCESS_METADATA, 'public');

/** The read-only key may call it: only for GETs that change nothing and spend nothing. */
export const ReadAccess = (): MethodDecorator & ClassDecorator => SetMetadata(ROUTE_ACCESS_METADATA, 'read');

/** Admin key only. The default already; useful on one method of a controller marked `@ReadAccess()`. */
export const AdminOnly = (): MethodDecorator & ClassDecorator => SetMetadata(ROUTE_ACCESS_METADATA, 'admin');

/**
 * The route creates something (a job, a pod, a worker registration): a per-client-address limit per minute
 * applies (RATE_LIMIT_CREATE_PER_MINUTE), answered with 429 and Retry-After.
 */
export const CreateRateLimit = (): MethodDecorator => SetMetadata(CREATE_RATE_LIMIT_METADATA, true);

/**
 * Besides the key of its level, the route takes a signed link (`?expires=&signature=`, see output-link-signer.ts)
 * in place of the key. Only for the job output route: the guard builds the signed path from its `:id` and
 * `:filename` parameters, so on any other route no signature could ever match.
 */
export const SignedLinkAccess = (): MethodDecorator => SetMetadata(SIGNED_LINK_METADATA, true);

export interface RouteAccess {
  level: RouteAccessLevel;
  /** Under the per-client limit of routes that create things. */
  createRateLimited: boolean;
  /** A signed output link may stand in for the key (method metadata only). */
  signedLink: boolean;
}

/**
 * The access rules of one route, from the same metadata the guards read (method first, then controller). The
 * OpenAPI document and the route-matrix test read it here, so they cannot drift from what the guards do.
 */
export function routeAccessOf(controller: Type<unknown>, handler: object): RouteAccess {
  const level =
    (Reflect.getMetadata(ROUTE_ACCESS_METADATA, handler) as RouteAccessLevel | undefined) ??
    (Reflect.getMetadata(ROUTE_ACCESS_METADATA, controller) as RouteAccessLevel | undefined) ??
    'admin';
  const createRateLimited = Reflect.getMetadata(CREATE_RATE_LIMIT_METADATA, handler) === true;
  const signedLink = Reflect.getMetadata(SIGNED_LINK_METADATA, handler) === true;
  return { level, createRateLimited, signedLink };
}
