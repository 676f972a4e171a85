/**
 * Errors services throw. They know nothing of HTTP; `HttpErrorFilter` maps them to status codes in one place.
 * `details` is safe to show to API callers (never secrets).
 */
export abstract class DomainError extends Error {
  constructor(
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** The thing asked for does not exist (or is not ours). */
export class NotFoundError extends DomainError {}

/** The request is well-formed but conflicts with current state (e.g. CLOUD_MAX_PODS reached). */
export class ConflictError extends DomainError {}

/** Bad input the DTO validation could not catch (e.g. an unknown GPU type). */
export class InvalidInputError extends DomainError {}

/** A capability is switched off or not configured (e.g. no RUNPOD_API_KEY). */
export class UnavailableError extends DomainError {}

/** Waited for something that did not happen in time (e.g. a pod that never became ready). */
export class TimedOutError extends DomainError {}
