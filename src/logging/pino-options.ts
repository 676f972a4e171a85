import type { IncomingMessage, ServerResponse } from 'node:http';
import pino, { type DestinationStream, type Level, type LoggerOptions } from 'pino';
import type { Options as PinoHttpOptions } from 'pino-http';
import pretty from 'pino-pretty';
import type { LoggingConfig, LogLevelName } from '../config/app-config';

/** Nest's level names to pino's (Nest `log` is pino `info`, Nest `verbose` is pino `trace`). */
const PINO_LEVEL: Record<LogLevelName, Level> = {
  error: 'error',
  warn: 'warn',
  log: 'info',
  debug: 'debug',
  verbose: 'trace',
};

/**
 * Credentials a request may carry. Request headers are not logged at all; these paths are redacted anyway, so
 * a key can never reach the log even if someone later logs a request or its headers.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers.cookie',
];

/** Express sets `route` on the request it matched; its `path` is the pattern (`/api/jobs/:id`), not the URL. */
type RoutedRequest = IncomingMessage & { route?: { path?: unknown }; originalUrl?: string };

/** The route pattern when a route matched; else the path without its query string (a 404, a static file). */
export function routeOf(req: IncomingMessage): string {
  const pattern = (req as RoutedRequest).route?.path;
  if (typeof pattern === 'string') return pattern;
  const url = (req as RoutedRequest).originalUrl ?? req.url ?? '';
  return url.split('?')[0];
}

/** One line per request: method, route, status and duration. No headers, no query string, no body. */
function requestLine(req: IncomingMessage, res: ServerResponse, responseTime: number) {
  return { method: req.method, route: routeOf(req), status: res.statusCode, durationMs: responseTime };
}

export function resolveFormat(config: LoggingConfig, stdoutIsTty: boolean): 'json' | 'pretty' {
  if (config.format !== 'auto') return config.format;
  return stdoutIsTty ? 'pretty' : 'json';
}

/**
 * Where log lines go. `json`: one JSON object per line on stdout. `pretty`: one readable line per entry, in colour
 * only when stdout is a terminal (a file, a pipe or `docker logs` gets no ANSI codes). Both write synchronously,
 * so the last lines before `process.exit` are not lost.
 */
export function logDestination(config: LoggingConfig, stdoutIsTty: boolean): DestinationStream {
  if (resolveFormat(config, stdoutIsTty) === 'json') return pino.destination({ dest: 1, sync: true });
  return pretty({
    colorize: stdoutIsTty,
    sync: true,
    singleLine: true,
    translateTime: 'SYS:yyyy-mm-dd HH:MM:ss.l',
    ignore: 'pid,hostname',
    messageKey: 'msg',
  });
}

export function loggerOptions(config: LoggingConfig): LoggerOptions {
  return {
    level: PINO_LEVEL[config.level],
    // Level names rather than numbers: readable in `docker logs` and matchable by log shippers alike.
    formatters: { level: (label) => ({ level: label }) },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
}

/** pino-http: the request line above, at `info` (`warn` for 4xx is noise: a 404 or 401 is the caller's). */
export function requestLoggingOptions(
  config: LoggingConfig,
  stdoutIsTty: boolean,
): PinoHttpOptions<IncomingMessage, ServerResponse> {
  return {
    logger: pino(loggerOptions(config), logDestination(config, stdoutIsTty)),
    // Lines logged while handling a request carry only its id, not the request (and so never its headers).
    quietReqLogger: true,
    quietResLogger: true,
    customAttributeKeys: { reqId: 'requestId' },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    customSuccessMessage: (req, res) => `${req.method} ${routeOf(req)} ${res.statusCode}`,
    customErrorMessage: (req, res) => `${req.method} ${routeOf(req)} ${res.statusCode}`,
    customSuccessObject: (req, res, value: { responseTime: number }) =>
      requestLine(req, res, value.responseTime),
    customErrorObject: (req, res, _error, value: { responseTime: number }) =>
      requestLine(req, res, value.responseTime),
  };
}
