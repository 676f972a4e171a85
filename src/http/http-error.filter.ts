import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { Response } from 'express';
import {
  GpuCapacityError,
  RunPodAuthError,
  RunPodError,
  RunPodRateLimitError,
  RunPodUnavailableError,
} from '../runpod/runpod.errors';
import {
  ConflictError,
  DomainError,
  InvalidInputError,
  NotFoundError,
  TimedOutError,
  UnavailableError,
} from '../common/domain-errors';

/** The one error shape every route answers with. */
export interface ErrorBody {
  statusCode: number;
  error: string;
  message: string;
  details?: Record<string, unknown>;
}

function statusFor(error: unknown): number {
  if (error instanceof NotFoundError) return HttpStatus.NOT_FOUND;
  if (error instanceof ConflictError) return HttpStatus.CONFLICT;
  if (error instanceof InvalidInputError) return HttpStatus.BAD_REQUEST;
  if (error instanceof UnavailableError) return HttpStatus.SERVICE_UNAVAILABLE;
  if (error instanceof TimedOutError) return HttpStatus.GATEWAY_TIMEOUT;
  if (error instanceof GpuCapacityError || error instanceof RunPodRateLimitError)
    return HttpStatus.SERVICE_UNAVAILABLE;
  if (error instanceof RunPodUnavailableError) return HttpStatus.BAD_GATEWAY;
  if (error instanceof RunPodAuthError || error instanceof RunPodError) return HttpStatus.BAD_GATEWAY;
  return HttpStatus.INTERNAL_SERVER_ERROR;
}

function messageFor(error: unknown): string {
  if (error instanceof RunPodAuthError)
    return `RunPod rejected the API key (check RUNPOD_API_KEY): ${error.message}`;
  if (error instanceof RunPodError || error instanceof DomainError) return error.message;
  return 'Internal server error';
}

/** Longest single message echoed back; a property name in a message is whatever the caller sent. */
const MAX_MESSAGE_CHARS = 300;
/** Messages listed one by one; a body with thousands of unknown properties gets a count for the rest. */
const MAX_LISTED_MESSAGES = 10;

const clip = (message: string): string =>
  message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message;

function summarizeMessages(messages: string[]): string {
  const listed = messages.slice(0, MAX_LISTED_MESSAGES).map(clip).join('; ');
  const rest = messages.length - MAX_LISTED_MESSAGES;
  return rest > 0 ? `${listed}; and ${rest} more` : listed;
}

/** Maps HttpExceptions (validation, guards) and domain errors to `{statusCode, error, message, details?}`. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const body = this.toBody(exception);
    if (body.statusCode >= 500) {
      const stack = exception instanceof Error ? exception.stack : String(exception);
      this.logger.error(`${body.statusCode} ${body.message}`, body.statusCode === 500 ? stack : undefined);
    }
    if (response.headersSent) return;
    response.status(body.statusCode).json(body);
  }

  private toBody(exception: unknown): ErrorBody {
    if (exception instanceof HttpException) {
      const statusCode = exception.getStatus();
      const payload = exception.getResponse();
      let message = exception.message;
      if (typeof payload === 'object' && payload !== null && 'message' in payload) {
        const raw = payload.message;
        message = Array.isArray(raw) ? summarizeMessages(raw.map(String)) : clip(String(raw));
      }
      return { statusCode, error: STATUS_CODES[statusCode] ?? 'Error', message };
    }
    const statusCode = statusFor(exception);
    const body: ErrorBody = {
      statusCode,
      error: STATUS_CODES[statusCode] ?? 'Error',
      message: messageFor(exception),
    };
    if (exception instanceof DomainError && exception.details) body.details = exception.details;
    return body;
  }
}
