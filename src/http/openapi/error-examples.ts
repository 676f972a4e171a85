import { STATUS_CODES } from 'node:http';

/** One documented way a route can fail: its own example body in the one error shape. */
export interface ErrorCase {
  /** Short name shown in Swagger UI's example list ("CLOUD_MAX_PODS reached"). */
  summary: string;
  /** The message the service really sends in this case (with example values filled in). */
  message: string;
  details?: Record<string, unknown>;
}

/** The body HttpErrorFilter sends for `status` and `errorCase` ({statusCode, error, message, details?}). */
export function errorBody(status: number, errorCase: ErrorCase): Record<string, unknown> {
  return {
    statusCode: status,
    error: STATUS_CODES[status] ?? 'Error',
    message: errorCase.message,
    ...(errorCase.details ? { details: errorCase.details } : {}),
  };
}

/** Failures that many routes share; messages copied from where they are raised. */
export const CommonErrors = {
  /** bootstrap.ts bodyParserErrors */
  invalidJson: {
    summary: 'Body is not valid JSON',
    message: 'Body is not valid JSON: Unexpected token } in JSON at position 12',
  },
  /** bootstrap.ts bodyParserErrors */
  bodyTooLarge: {
    summary: 'Body over MAX_REQUEST_BODY_MB',
    message: 'Request body is larger than 25 MB (MAX_REQUEST_BODY_MB); send smaller input images',
  },
  /** ValidationPipe with forbidNonWhitelisted */
  unknownProperty: {
    summary: 'Unknown property',
    message: 'property colour should not exist',
  },
  /** The API key guard */
  unauthorized: {
    summary: 'Missing or invalid API key',
    message: 'Missing or invalid API key: send Authorization: Bearer <API_KEY> or X-API-Key',
  },
  /** The API key guard: the read-only key on a route that spends money or changes config */
  readOnlyKey: (route: string): ErrorCase => ({
    summary: 'Read-only key',
    message: `The read-only key (API_READ_KEY) cannot do this: ${route} needs the admin key (API_KEY)`,
  }),
  /** The API key guard, after too many wrong keys from one address */
  tooManyWrongKeys: {
    summary: 'Too many wrong API keys',
    message: 'Too many requests with a wrong API key from this address; try again in 42 s',
  },
  /** create-rate-limit.guard.ts */
  createRateLimit: {
    summary: 'Create rate limit',
    message:
      'Too many requests: at most 30 a minute to this route from one client (RATE_LIMIT_CREATE_PER_MINUTE); ' +
      'try again in 42 s',
  },
} satisfies Record<string, ErrorCase | ((name: string) => ErrorCase)>;
