/**
 * Typed errors for everything one ComfyUI server can say. Callers branch on `kind` (or the `isX()` helpers),
 * never on message text:
 *
 * - `workflow`: the workflow itself is wrong (rejected by `POST /prompt`, or a node raised while executing).
 *   Running it on another server gives the same answer, so the job fails at once, everywhere.
 * - `infrastructure`: this server could not be used (unreachable, 5xx, timeout, the prompt went missing).
 *   The job may be retried on another server.
 * - `cancelled`: somebody stopped it (our cancel, an operator's interrupt, or the caller's AbortSignal).
 */
export type ComfyErrorKind = 'workflow' | 'infrastructure' | 'cancelled';

export abstract class ComfyError extends Error {
  abstract readonly kind: ComfyErrorKind;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** One `{type, message, details, extra_info}` record, as ComfyUI sends it in `error` and `node_errors[].errors[]`. */
export interface ComfyErrorRecord {
  type: string;
  message: string;
  details: string;
  extra_info: Record<string, unknown>;
}

/** `node_errors[<node id>]` of a `POST /prompt` answer (reference §2). */
export interface ComfyNodeErrors {
  errors: ComfyErrorRecord[];
  dependent_outputs: string[];
  class_type: string;
}

/**
 * `POST /prompt` answered 400 (validation failed: unknown node class, missing input, value out of range, no
 * output node, ...), or the workflow failed our client-side API-format check (`type: 'invalid_api_format'`,
 * nothing was sent). `type`/`comfyMessage`/`details`/`extraInfo` are ComfyUI's `error` object verbatim;
 * `nodeErrors` is ComfyUI's `node_errors` (may be `{}`, e.g. for `missing_node_type`).
 */
export class ComfyWorkflowError extends ComfyError {
  readonly kind = 'workflow' as const;

  constructor(
    readonly type: string,
    readonly comfyMessage: string,
    readonly details: string,
    readonly extraInfo: Record<string, unknown>,
    readonly nodeErrors: Record<string, ComfyNodeErrors>,
  ) {
    super(ComfyWorkflowError.describe(comfyMessage, details, nodeErrors));
  }

  private static describe(
    message: string,
    details: string,
    nodeErrors: Record<string, ComfyNodeErrors>,
  ): string {
    const perNode = Object.entries(nodeErrors).flatMap(([nodeId, n]) =>
      (n.errors ?? []).map(
        (e) => `node ${nodeId} (${n.class_type}): ${e.message}${e.details ? `: ${e.details}` : ''}`,
      ),
    );
    const head = details && !perNode.length ? `${message} (${details})` : message;
    return perNode.length ? `${head}: ${perNode.join('; ')}` : head;
  }
}

/** The `execution_error` message (websocket or history `status.messages`): a node raised while running. */
export interface ComfyExecutionErrorData {
  prompt_id: string;
  node_id: string;
  node_type: string;
  exception_message: string;
  exception_type: string;
  traceback: string[];
  executed?: string[];
  current_inputs?: unknown;
  current_outputs?: unknown;
  timestamp?: number;
}

/** A node raised during execution (`execution_error`). The workflow (or its inputs) is at fault: do not retry. */
export class ComfyExecutionError extends ComfyError {
  readonly kind = 'workflow' as const;
  readonly promptId: string;
  readonly nodeId: string;
  readonly nodeType: string;
  readonly exceptionMessage: string;
  readonly exceptionType: string;
  readonly traceback: string[];

  constructor(data: ComfyExecutionErrorData) {
    super(
      `ComfyUI node ${data.node_id} (${data.node_type}) failed: ${data.exception_type}: ${data.exception_message}`.trim(),
    );
    this.promptId = data.prompt_id;
    this.nodeId = data.node_id;
    this.nodeType = data.node_type;
    this.exceptionMessage = data.exception_message;
    this.exceptionType = data.exception_type;
    this.traceback = data.traceback;
  }
}

/**
 * The server could not be used: connection refused/reset, DNS, an HTTP timeout, a 5xx, an unexpected answer,
 * or it stopped answering while we waited for a prompt. `status` is the HTTP status when there was one; `code`
 * is the network error code (`ECONNREFUSED`, `TIMEOUT`, ...) when there was not.
 */
export class ComfyUnavailableError extends ComfyError {
  readonly kind = 'infrastructure' as const;

  constructor(
    message: string,
    readonly status?: number,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The overall deadline of a wait passed. The prompt may still be queued or running on the server: call
 * `cancel(promptId)` if it should not go on.
 */
export class ComfyDeadlineError extends ComfyError {
  readonly kind = 'infrastructure' as const;

  constructor(
    readonly promptId: string,
    readonly timeoutMs: number,
  ) {
    super(`ComfyUI prompt ${promptId} did not finish within ${timeoutMs} ms`);
  }
}

/**
 * The prompt is in neither the queue nor the history (checked several times, to ride out the moment between
 * queue removal and the history write): the server restarted, or someone cleared the queue. Retry elsewhere.
 */
export class ComfyPromptLostError extends ComfyError {
  readonly kind = 'infrastructure' as const;

  constructor(readonly promptId: string) {
    super(`ComfyUI prompt ${promptId} is in neither the queue nor the history: it went missing`);
  }
}

/** The prompt was interrupted while running (`execution_interrupted`) or removed from the queue by `cancel()`. */
export class ComfyInterruptedError extends ComfyError {
  readonly kind = 'cancelled' as const;

  constructor(
    readonly promptId: string,
    readonly nodeId?: string,
    readonly nodeType?: string,
    detail = 'interrupted',
  ) {
    super(
      `ComfyUI prompt ${promptId} was ${detail}${nodeId ? ` at node ${nodeId}${nodeType ? ` (${nodeType})` : ''}` : ''}`,
    );
  }
}

/** The caller's AbortSignal fired. Only the waiting stopped: the prompt (if submitted) goes on unless cancelled. */
export class ComfyAbortedError extends ComfyError {
  readonly kind = 'cancelled' as const;

  constructor(readonly reason?: unknown) {
    super('Stopped waiting for ComfyUI: aborted by the caller');
  }
}

/**
 * An HTTP answer we did not expect and that is not a server fault: e.g. 404 from `/view` (file gone), 400 from
 * `/upload/image` (bad name), 413 (upload above `--max-upload-size`), 403 (Host/Origin check). A 400/413/422 is
 * about what we sent (`workflow`); anything else says this server cannot serve us (`infrastructure`).
 */
export class ComfyRequestError extends ComfyError {
  readonly kind: ComfyErrorKind;

  constructor(
    message: string,
    readonly status: number,
    readonly body: string,
  ) {
    super(message);
    this.kind = status === 400 || status === 413 || status === 422 ? 'workflow' : 'infrastructure';
  }
}

/** A filename/subfolder from ComfyUI that would escape the output directory (`..`, absolute, backslash, NUL). */
export class ComfyUnsafePathError extends ComfyError {
  readonly kind = 'workflow' as const;

  constructor(
    readonly field: 'root' | 'subfolder' | 'filename',
    readonly value: string,
    reason: string,
  ) {
    super(`Unsafe ComfyUI output ${field} ${JSON.stringify(value)}: ${reason}`);
  }
}

export function isComfyError(error: unknown): error is ComfyError {
  return error instanceof ComfyError;
}

/** The workflow itself is wrong: fail the job everywhere, do not retry on another server. */
export function isComfyWorkflowError(error: unknown): boolean {
  return error instanceof ComfyError && error.kind === 'workflow';
}

/** This server failed us: the job may be retried on another server. */
export function isComfyInfrastructureError(error: unknown): boolean {
  return error instanceof ComfyError && error.kind === 'infrastructure';
}

export function isComfyCancelledError(error: unknown): boolean {
  return error instanceof ComfyError && error.kind === 'cancelled';
}
