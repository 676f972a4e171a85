import type { OpenAPIObject, OperationObject, ResponseObject } from '@nestjs/swagger';
import { errorResponseExamples } from './api-error-responses.decorator';
import { CommonErrors, type ErrorCase } from './error-examples';
import type { RouteAccess } from '../route-access.decorators';

const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const;

export interface DocumentedOperation {
  method: string;
  path: string;
  operation: OperationObject;
}

export function documentOperations(document: OpenAPIObject): DocumentedOperation[] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    HTTP_METHODS.filter((method) => item[method]).map((method) => ({
      method,
      path,
      operation: item[method] as OperationObject,
    })),
  );
}

/** Adds `cases` to the operation's `status` response, creating it in the one error shape if missing. */
export function addErrorCases(operation: OperationObject, status: number, cases: ErrorCase[]): void {
  const existing = operation.responses[status] as ResponseObject | undefined;
  const examples = errorResponseExamples(status, cases);
  if (!existing) {
    operation.responses[status] = {
      description: cases.map((errorCase) => errorCase.summary).join('; '),
      content: {
        'application/json': { schema: { $ref: '#/components/schemas/ErrorResponseDto' }, examples },
      },
    };
    return;
  }
  const media = existing.content?.['application/json'];
  if (!media) throw new Error(`response ${status} of ${operation.operationId} is not JSON`);
  media.examples = { ...media.examples, ...examples };
  existing.description = [existing.description, ...cases.map((errorCase) => errorCase.summary)]
    .filter(Boolean)
    .join('; ');
}

/**
 * Every route that takes a JSON body goes through the body parser first, which answers 400 for malformed JSON
 * and 413 over MAX_REQUEST_BODY_MB (bootstrap.ts), before any route-specific code.
 */
export function addBodyParserResponses(document: OpenAPIObject, maxBodyBytes: number): void {
  const limitMb = Math.round(maxBodyBytes / 1024 / 1024);
  const tooLarge: ErrorCase = {
    ...CommonErrors.bodyTooLarge,
    message: CommonErrors.bodyTooLarge.message.replace('25 MB', `${limitMb} MB`),
  };
  for (const { operation } of documentOperations(document)) {
    if (!operation.requestBody) continue;
    addErrorCases(operation, 400, [CommonErrors.invalidJson]);
    addErrorCases(operation, 413, [tooLarge]);
  }
}

const RETRY_AFTER = {
  'Retry-After': { description: 'Seconds until the client may try again', schema: { type: 'integer' } },
};

/**
 * 401 / 403 / 429 where the guards answer them (see ApiKeyGuard and createRateLimitOptions), and no security
 * requirement on public routes. The 401/403/429 of the key apply when API_KEY is set.
 */
export function addAccessResponses(
  document: OpenAPIObject,
  accessOf: (operation: OperationObject) => RouteAccess,
): void {
  for (const { method, path, operation } of documentOperations(document)) {
    const access = accessOf(operation);
    const tooMany: ErrorCase[] = [];
    if (access.level === 'public') {
      operation.security = [];
    } else {
      addErrorCases(operation, 401, [CommonErrors.unauthorized]);
      if (access.level === 'admin') {
        const route = `${method.toUpperCase()} ${path.replace(/\{([^}]+)\}/g, ':$1')}`;
        addErrorCases(operation, 403, [CommonErrors.readOnlyKey(route)]);
      }
      tooMany.push(CommonErrors.tooManyWrongKeys);
    }
    if (access.createRateLimited) tooMany.push(CommonErrors.createRateLimit);
    if (tooMany.length > 0) {
      addErrorCases(operation, 429, tooMany);
      (operation.responses[429] as ResponseObject).headers = RETRY_AFTER;
    }
  }
}
