import { nextWebhookStep } from './webhook-retry.policy';
import { signWebhook, verifyWebhookSignature } from './webhook-signature';

const SETTINGS = { maxAttempts: 4, retryBaseDelayMs: 1000, retryMaxDelayMs: 5000 };

describe('webhook signature (t=<unix s>,v1=<hex HMAC-SHA256 of `${t}.${body}`>)', () => {
  const body = '{"id":"evt_1","type":"jobCompleted"}';
  it('verifies what it signed, and nothing else', () => {
    const header = signWebhook('a-secret-of-16-chars', 1_700_000_000, body);
    expect(header).toMatch(/^t=1700000000,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature('a-secret-of-16-chars', header, body, 1_700_000_010)).toBe(true);
    expect(verifyWebhookSignature('another-secret-1234', header, body, 1_700_000_010)).toBe(false);
    expect(verifyWebhookSignature('a-secret-of-16-chars', header, `${body} `, 1_700_000_010)).toBe(false);
    expect(verifyWebhookSignature('a-secret-of-16-chars', 'v1=00', body, 1_700_000_010)).toBe(false);
  });
  it('refuses a signature older than the tolerance (a replay)', () => {
    const header = signWebhook('a-secret-of-16-chars', 1_700_000_000, body);
    expect(verifyWebhookSignature('a-secret-of-16-chars', header, body, 1_700_000_000 + 301)).toBe(false);
  });
});

describe('nextWebhookStep', () => {
  it('delivers on 2xx', () => {
    expect(nextWebhookStep({ kind: 'response', status: 204 }, 1, SETTINGS)).toEqual({ action: 'delivered' });
  });
  it('retries 5xx, 429 and network errors with exponential back-off and equal jitter, capped', () => {
    expect(nextWebhookStep({ kind: 'response', status: 500 }, 1, SETTINGS, () => 0)).toEqual({
      action: 'retry',
      delayMs: 500,
    });
    expect(nextWebhookStep({ kind: 'response', status: 429 }, 2, SETTINGS, () => 0.999)).toEqual({
      action: 'retry',
      delayMs: 1999,
    });
    expect(nextWebhookStep({ kind: 'network', code: 'TIMEOUT' }, 3, SETTINGS, () => 1)).toEqual({
      action: 'retry',
      delayMs: 4000,
    });
    expect(
      nextWebhookStep(
        { kind: 'network', code: 'ECONNREFUSED' },
        3,
        { ...SETTINGS, retryMaxDelayMs: 3000 },
        () => 1,
      ),
    ).toEqual({ action: 'retry', delayMs: 3000 });
  });
  it('gives up after maxAttempts, on a 4xx refusal, a redirect and a refused address', () => {
    expect(nextWebhookStep({ kind: 'response', status: 500 }, 4, SETTINGS).action).toBe('give-up');
    expect(nextWebhookStep({ kind: 'response', status: 401 }, 1, SETTINGS).action).toBe('give-up');
    expect(nextWebhookStep({ kind: 'response', status: 302 }, 1, SETTINGS).action).toBe('give-up');
    expect(nextWebhookStep({ kind: 'refused', reason: 'link-local' }, 1, SETTINGS).action).toBe('give-up');
  });
});
