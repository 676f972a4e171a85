import { type DynamicModule, Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { LoggingConfig } from '../config/app-config';
import { requestLoggingOptions } from './pino-options';

/** Root of an app that logs through pino: the app's own module plus nestjs-pino's. */
@Module({})
class LoggedApp {}

/**
 * The service's logging (nestjs-pino): Nest's own log calls and one line per HTTP request go through one pino
 * logger configured by LOG_LEVEL and LOG_FORMAT. Wraps the app's root module, so the module itself (and an app
 * embedding the core) stays free of it.
 */
export function withServiceLogging(
  root: DynamicModule,
  config: LoggingConfig,
  stdoutIsTty = Boolean(process.stdout.isTTY),
): DynamicModule {
  return {
    module: LoggedApp,
    imports: [root, LoggerModule.forRoot({ pinoHttp: requestLoggingOptions(config, stdoutIsTty) })],
  };
}
