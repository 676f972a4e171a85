import { type INestApplication, Logger, type LoggerService, type LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger as PinoNestLogger } from 'nestjs-pino';
import type { NextFunction, Request, Response } from 'express';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { AppModule, type AppModuleOptions } from './app.module';
import { JSON_BOUNDS_EXCEEDED, verifyJsonBounds } from './common/http/bounded-json';
import { BoundedValidationPipe } from './common/http/bounded-validation.pipe';
import { applyTrustProxy } from './http/client-address';
import { applyHttpHardening } from './http/http-hardening';
import { setupOpenApi } from './http/openapi/openapi-document';
import { withServiceLogging } from './logging/service-logging.module';

/** Builds the configured Nest application (not yet listening). Shared by main.ts and the e2e tests. */
export async function createApp(
  options: AppModuleOptions & { logger?: false | LogLevel[] | LoggerService },
): Promise<INestApplication> {
  // No logger given (the service, the demo): pino per LOG_LEVEL/LOG_FORMAT, with one line per request. Tests
  // pass their own logger to read what the service logged.
  const usePino = options.logger === undefined;
  const root = AppModule.forRoot(options);
  const app = await NestFactory.create<NestExpressApplication>(
    usePino ? withServiceLogging(root, options.config.logging) : root,
    {
      logger: options.logger,
      // Lines logged while the app is built wait for the pino logger, so they come out in the same format.
      bufferLogs: usePino,
      bodyParser: true,
      // Report boot failures (bad database, SQLite file in use) to the caller instead of exiting the process.
      abortOnError: false,
    },
  );
  if (usePino) app.useLogger(app.get(PinoNestLogger));
  applyHttpHardening(app);
  applyTrustProxy(app, options.config.trustProxy);
  // The body's structure (depth, keys) is bounded before it is parsed, so validation sees bounded input.
  // Nest's option type omits `verify` because it uses it for `rawBody`, which this app leaves off.
  const jsonParser = { limit: options.config.jobs.maxBodyBytes, verify: verifyJsonBounds() };
  app.useBodyParser('json', jsonParser);
  // Body-parser fails before any route (and so before Nest's filters): answer in the one error shape.
  app.use(bodyParserErrors(options.config.jobs.maxBodyBytes));
  app.useGlobalPipes(
    new BoundedValidationPipe({ whitelist: true, transform: true, forbidNonWhitelisted: true }),
  );

  setupOpenApi(app, { maxBodyBytes: options.config.jobs.maxBodyBytes });
  return app;
}

function bodyParserErrors(limitBytes: number) {
  return (
    error: { status?: number; type?: string; message?: string },
    _req: Request,
    res: Response,
    next: NextFunction,
  ) => {
    if (error?.type === 'entity.too.large') {
      const limitMb = Math.round(limitBytes / 1024 / 1024);
      res.status(413).json({
        statusCode: 413,
        error: 'Payload Too Large',
        message: `Request body is larger than ${limitMb} MB (MAX_REQUEST_BODY_MB); send smaller input images`,
      });
      return;
    }
    if (error?.type === JSON_BOUNDS_EXCEEDED) {
      res.status(400).json({ statusCode: 400, error: 'Bad Request', message: error.message });
      return;
    }
    if (error?.type === 'entity.parse.failed') {
      res
        .status(400)
        .json({ statusCode: 400, error: 'Bad Request', message: `Body is not valid JSON: ${error.message}` });
      return;
    }
    next(error);
  };
}

export async function listen(app: INestApplication, port: number, host: string): Promise<string> {
  await app.listen(port, host);
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  new Logger('Bootstrap').log(`Listening on ${url} (Swagger UI: ${url}/api/docs)`);
  return url;
}
