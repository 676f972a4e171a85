/** What one attempt came to. `refused`: the address rules refused the receiver (it will not change). */
export type WebhookAttemptOutcome =
  | { kind: 'response'; status: number }
  | { kind: 'network'; code: string }
  | { kind: 'refused'; reason: string };

export interface WebhookRetrySettings {
  maxAttempts: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
}

export type WebhookNextStep =
  { action: 'delivered' } | { action: 'retry'; delayMs: number } | { action: 'give-up'; reason: string };

/** Statuses worth another try: the receiver is down, overloaded or asks us to come back. */
const RETRYABLE_STATUSES = new Set([408, 425, 429]);

export function describeOutcome(outcome: WebhookAttemptOutcome): string {
  switch (outcome.kind) {
    case 'response':
      return `HTTP ${outcome.status}`;
    case 'network':
      return outcome.code;
    case 'refused':
      return `refused: ${outcome.reason}`;
  }
}

/**
 * After attempt number `attemptsMade` (1 = the first send): done, again after a delay, or never again.
 * 2xx delivers. Network errors, timeouts, 408, 425, 429 and 5xx are retried with exponential back-off and
 * "equal jitter" (after attempt n, wait c/2 + random(0, c/2) with c = min(max, base * 2^(n-1))): never less than
 * half the back-off, so a receiver that is down is not hit at once, and spread so many deliveries that failed
 * together do not come back together. Up to `maxAttempts` in all; other statuses
 * (400, 401, 404, ... : the receiver refuses this delivery) and refused addresses are given up at once, as is
 * a redirect (we do not follow one: it could lead the signed body somewhere else).
 */
export function nextWebhookStep(
  outcome: WebhookAttemptOutcome,
  attemptsMade: number,
  settings: WebhookRetrySettings,
  random: () => number = Math.random,
): WebhookNextStep {
  if (outcome.kind === 'response' && outcome.status >= 200 && outcome.status < 300) {
    return { action: 'delivered' };
  }
  const retryable =
    outcome.kind === 'network' ||
    (outcome.kind === 'response' && (outcome.status >= 500 || RETRYABLE_STATUSES.has(outcome.status)));
  if (!retryable) return { action: 'give-up', reason: describeOutcome(outcome) };
  if (attemptsMade >= settings.maxAttempts) {
    return { action: 'give-up', reason: `${describeOutcome(outcome)} after ${attemptsMade} attempt(s)` };
  }
  const ceiling = Math.min(settings.retryMaxDelayMs, settings.retryBaseDelayMs * 2 ** (attemptsMade - 1));
  return { action: 'retry', delayMs: Math.round(ceiling / 2 + (random() * ceiling) / 2) };
}
