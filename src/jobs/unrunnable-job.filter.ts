import { type ArgumentsHost, Catch, type ExceptionFilter, HttpStatus } from '@nestjs/common';
import type { Response } from 'express';
import { InfeasibleJobError } from './infeasible-job.error';
import { UnrunnableJobError } from './unrunnable-job.error';

/**
 * POST /api/jobs: a workflow no configured worker can run is 422 (the request is well-formed; what it asks for is
 * not there), with the missing names at the top level so a client can show them; so is a job whose deadline or
 * maxCostUsd no backend can meet, with the best option (`bestOption`).
 */
@Catch(UnrunnableJobError, InfeasibleJobError)
export class UnrunnableJobFilter implements ExceptionFilter {
  catch(error: UnrunnableJobError | InfeasibleJobError, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    if (error instanceof InfeasibleJobError) {
      response.status(HttpStatus.UNPROCESSABLE_ENTITY).json({
        statusCode: HttpStatus.UNPROCESSABLE_ENTITY,
        error: 'Unprocessable Entity',
        message: error.message,
        bestOption: error.bestOption,
      });
      return;
    }
    response.status(HttpStatus.UNPROCESSABLE_ENTITY).json({
      statusCode: HttpStatus.UNPROCESSABLE_ENTITY,
      error: 'Unprocessable Entity',
      message: error.message,
      missing: error.missing,
    });
  }
}
