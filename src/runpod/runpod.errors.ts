/**
 * Typed errors for everything RunPod can say. Callers branch on the class (or the `isX()` helpers), never on
 * message text. Messages quote RunPod's own explanation (problem+json `detail`, GraphQL `errors[].message`)
 * after it has been scrubbed of the API key by the transport; no error carries a request config, headers or
 * the underlying axios error, so nothing here can echo the key.
 */
export class RunPodError extends Error {
  /** HTTP status RunPod answered with, when there was an answer. */
  readonly status?: number;

  constructor(message: string, status?: number) {
    super(message);
    this.name = new.target.name;
    if (status !== undefined) this.status = status;
  }
}

/** 401 (missing/invalid key) or 403 (key lacks access), or a GraphQL "Unauthorized" error message. */
export class RunPodAuthError extends RunPodError {}

/**
 * RunPod has no machine with the requested GPU type right now. Try the next GPU type or later. REST v2 says
 * this as HTTP 400 with the text in `detail` (it has no machine-readable code); GraphQL as an `errors[]` message.
 */
export class GpuCapacityError extends RunPodError {
  constructor(
    message: string,
    readonly gpuTypeId?: string,
    status?: number,
  ) {
    super(message, status);
  }
}

/** Something RunPod does not know (404). Methods whose contract says "null/ok when missing" never throw it. */
export class RunPodNotFoundError extends RunPodError {}

export class PodNotFoundError extends RunPodNotFoundError {
  constructor(
    readonly podId: string,
    status?: number,
  ) {
    super(`RunPod pod ${podId} not found`, status);
  }
}

/** A serverless job RunPod no longer knows: never existed, or its result expired (30 min after /run completes). */
export class ServerlessJobNotFoundError extends RunPodNotFoundError {
  constructor(
    readonly jobId: string,
    status?: number,
  ) {
    super(`RunPod serverless job ${jobId} not found (unknown or expired)`, status);
  }
}

/** 429 that persisted after all retries. `retryAfterMs` is RunPod's last `Retry-After`, when it sent one. */
export class RunPodRateLimitError extends RunPodError {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message, 429);
  }
}

/**
 * RunPod could not be reached or kept failing: network error, timeout or 5xx after all retries (or at once, for
 * a call that is unsafe to repeat). `code` is the network error code (e.g. ECONNRESET, TIMEOUT) when there was
 * no HTTP answer. For a create, the pod may or may not exist: look it up by its unique name before retrying.
 */
export class RunPodUnavailableError extends RunPodError {
  constructor(
    message: string,
    status?: number,
    readonly code?: string,
  ) {
    super(message, status);
  }
}

/** Any other rejected request (400, 404 where not expected, 409, 422, GraphQL errors...). */
export class RunPodRequestError extends RunPodError {
  constructor(
    message: string,
    status?: number,
    /** RunPod's explanation: problem+json `detail` or the GraphQL error message. */
    readonly detail?: string,
    /** problem+json `errors[]` (validation failures), when present. */
    readonly errors?: string[],
  ) {
    super(message, status);
  }
}

/** 402: the account balance cannot pay for this. Retrying another GPU type will not help. */
export class RunPodInsufficientBalanceError extends RunPodRequestError {}

export const isRunPodError = (e: unknown): e is RunPodError => e instanceof RunPodError;
export const isRunPodAuthError = (e: unknown): e is RunPodAuthError => e instanceof RunPodAuthError;
export const isGpuCapacityError = (e: unknown): e is GpuCapacityError => e instanceof GpuCapacityError;
export const isRunPodNotFoundError = (e: unknown): e is RunPodNotFoundError =>
  e instanceof RunPodNotFoundError;
export const isRunPodRateLimitError = (e: unknown): e is RunPodRateLimitError =>
  e instanceof RunPodRateLimitError;
export const isRunPodUnavailableError = (e: unknown): e is RunPodUnavailableError =>
  e instanceof RunPodUnavailableError;

/** Worth trying again later (same request): rate limits and outages. Capacity is its own decision. */
export const isTransientRunPodError = (e: unknown): boolean =>
  e instanceof RunPodRateLimitError || e instanceof RunPodUnavailableError;

/**
 * The "no capacity" texts RunPod is known to use (reference/runpod.md §1.9). Matched loosely: the wording varies
 * ("requested"/"request specifications", "enough disk space", a trailing newline).
 */
const CAPACITY_PATTERNS: readonly RegExp[] = [
  /there are no longer any instances available/i,
  /no compatible cuda host is currently available/i,
];

export function isCapacityMessage(text: string | undefined | null): boolean {
  return !!text && CAPACITY_PATTERNS.some((p) => p.test(text));
}

/** GraphQL reports a key without enough scope as the message "Unauthorized" (skypilot#8411), HTTP status UNVERIFIED. */
export function isUnauthorizedMessage(text: string | undefined | null): boolean {
  return !!text && /\bunauthori[sz]ed\b|\bforbidden\b|\bpermission denied\b|\binvalid api key\b/i.test(text);
}

/**
 * RunPod's GraphQL wording for an unknown pod is UNVERIFIED; these are the plausible forms ("Pod not found",
 * "pod does not exist", "Could not find pod ..."). Used only where "not found" is a normal answer (get/terminate).
 */
export function isNotFoundMessage(text: string | undefined | null): boolean {
  return (
    !!text && /\bnot found\b|\bdoes not exist\b|\bdoesn't exist\b|\bcould not find\b|\bno pod\b/i.test(text)
  );
}
