import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { ErrorResponseDto } from '../../common/error-response.dto';
import { type ErrorCase, errorBody } from './error-examples';

export type ErrorCases = Partial<Record<number, ErrorCase | ErrorCase[]>>;

/** Example keys must be unique per response; Swagger UI shows `summary`, the key only in the JSON. */
function exampleKey(summary: string): string {
  return summary
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

/** The OpenAPI response object for one error status: the one error schema and one example per case. */
export function errorResponseExamples(status: number, cases: ErrorCase[]) {
  return Object.fromEntries(
    cases.map((errorCase) => [
      exampleKey(errorCase.summary),
      { summary: errorCase.summary, value: errorBody(status, errorCase) },
    ]),
  );
}

/**
 * Documents the error statuses of a route, each with its own example bodies (Swagger UI shows a dropdown when a
 * status has several causes), all in the one error shape of HttpErrorFilter.
 */
export function ApiErrorResponses(cases: ErrorCases): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(cases).map(([status, value]) => {
      const list = Array.isArray(value) ? value : [value!];
      return ApiResponse({
        status: Number(status),
        description: list.map((errorCase) => errorCase.summary).join('; '),
        type: ErrorResponseDto,
        examples: errorResponseExamples(Number(status), list),
      });
    }),
  );
}
