import type { CallHandler, ExecutionContext, INestApplication, NestInterceptor, Type } from '@nestjs/common';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { ModulesContainer } from '@nestjs/core';
import type { Request } from 'express';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Observable } from 'rxjs';
import { createApp, listen } from '../../src/bootstrap';
import { FakeClock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/app-config';
import { type RouteAccess, routeAccessOf } from '../../src/http/route-access.decorators';
import { TestDatabase } from './test-database';

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * Records every request that reached a route handler. Interceptors run only after every guard has let the
 * request through, so an empty record means no request got past authentication to a handler.
 */
export class HandlerReached implements NestInterceptor {
  readonly hits: string[] = [];

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<Request>();
    this.hits.push(`${request.method} ${request.originalUrl}`);
    return next.handle();
  }
}

/** One route as Nest's router holds it, with the access rules its metadata declares. */
export interface DiscoveredRoute extends RouteAccess {
  method: string;
  /** The declared pattern, e.g. `/api/jobs/:id`. */
  pattern: string;
  controller: string;
  handler: string;
  /** What the handler reads from the request, from its parameter decorators. */
  inputs: RouteInputs;
}

export interface RouteInputs {
  /** The class of its `@Body()` parameter (the request DTO), when it takes a body. */
  body?: Type<unknown>;
  /** Names of its `@Param(name)` parameters. */
  params: string[];
  /** Names of its `@Query(name)` parameters. */
  query: string[];
}

/** A handler's `@Body()`, `@Param()` and `@Query()` parameters, as Nest's router metadata declares them. */
function routeInputs(controller: Type<unknown>, key: string): RouteInputs {
  const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, key) ?? {}) as Record<
    string,
    { index: number; data?: unknown }
  >;
  const types = (Reflect.getMetadata('design:paramtypes', controller.prototype as object, key) ??
    []) as Array<Type<unknown> | undefined>;
  const inputs: RouteInputs = { params: [], query: [] };
  for (const [slot, arg] of Object.entries(args)) {
    const kind = Number(slot.split(':')[0]);
    if (kind === Number(RouteParamtypes.BODY)) inputs.body = types[arg.index];
    if (kind === Number(RouteParamtypes.PARAM) && typeof arg.data === 'string') inputs.params.push(arg.data);
    if (kind === Number(RouteParamtypes.QUERY) && typeof arg.data === 'string') inputs.query.push(arg.data);
  }
  return inputs;
}

function joinPath(...parts: string[]): string {
  return ('/' + parts.filter(Boolean).join('/')).replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
}

/** Every controller route of the booted app, read from Nest's module container (not from a list in a test). */
export function discoverRoutes(app: INestApplication): DiscoveredRoute[] {
  const routes: DiscoveredRoute[] = [];
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type<unknown> | null;
      if (!controller) continue;
      const base = (Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined) ?? '';
      const prototype = controller.prototype as Record<string, unknown>;
      for (const key of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[key];
        if (key === 'constructor' || typeof handler !== 'function') continue;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (path === undefined || method === undefined) continue;
        for (const prefix of [base].flat())
          for (const sub of [path].flat())
            routes.push({
              method: RequestMethod[method],
              pattern: joinPath(prefix, sub),
              controller: controller.name,
              handler: key,
              inputs: routeInputs(controller, key),
              ...routeAccessOf(controller, handler),
            });
      }
    }
  }
  return routes;
}

/** The routes Express itself holds (Nest's and anything mounted beside them, like the Swagger UI). */
export function expressRoutes(app: INestApplication): Array<{ path: string; methods: string[] }> {
  const express = app.getHttpAdapter().getInstance() as {
    router: { stack: Array<{ route?: { path: string; methods: Record<string, boolean> } }> };
  };
  return express.router.stack
    .filter((layer) => layer.route)
    .map((layer) => ({
      path: layer.route!.path,
      methods: Object.keys(layer.route!.methods).map((m) => m.toUpperCase()),
    }));
}

/**
 * The HTTP service booted for real (createApp, an ephemeral port, its own database) on a FakeClock, with a
 * recorder of requests that reached a handler. Requests go out with their path exactly as written (no client-side
 * normalisation of `..`, `//` or case), as an attacker would send them.
 */
export class SecuredService {
  readonly clock = new FakeClock();
  readonly db = new TestDatabase();
  readonly reached = new HandlerReached();
  app!: INestApplication;
  port = 0;

  static async start(env: Record<string, string>): Promise<SecuredService> {
    const service = new SecuredService();
    const config = loadConfig({ ...service.db.env(), PORT: '0', ...env });
    service.app = await createApp({ config, clock: service.clock, logger: false });
    service.app.useGlobalInterceptors(service.reached);
    const url = await listen(service.app, 0, '127.0.0.1');
    service.port = Number(new URL(url).port);
    return service;
  }

  request(
    method: string,
    path: string,
    headers: Record<string, string> = {},
    body?: unknown,
  ): Promise<RawAnswer> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          headers: payload ? { 'content-type': 'application/json', ...headers } : headers,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('end', () =>
            resolve({
              status: response.statusCode!,
              headers: response.headers,
              body: Buffer.concat(chunks).toString(),
            }),
          );
          // An event stream (SSE) that the guard let through never ends by itself.
          if (String(response.headers['content-type']).startsWith('text/event-stream')) {
            resolve({ status: response.statusCode!, headers: response.headers, body: '' });
            response.destroy();
          }
        },
      );
      // A request the server never answers is a finding, not a hung test.
      outgoing.setTimeout(5000, () => outgoing.destroy(new Error(`${method} ${path}: no answer within 5 s`)));
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.db.drop();
  }
}
