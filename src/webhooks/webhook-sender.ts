import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { OutboundAddressError, type OutboundAddressPolicy } from '../common/net/outbound-address-policy';
import type { WebhookAttemptOutcome } from './webhook-retry.policy';

export interface WebhookRequest {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
  policy: OutboundAddressPolicy;
  /** Aborts the attempt (shutdown). */
  signal?: AbortSignal;
}

/** A receiver's answer is read up to this much and dropped: we only need its status. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * One POST of one delivery. Never throws: every way it can end is an outcome for the retry policy. The URL is
 * checked by the address rules first (scheme, credentials, literal IPs) and the host name is resolved and
 * checked in the connection's own `lookup`, so the address checked is the one connected to. No keep-alive (a
 * receiver is called rarely), no redirects (node:http follows none), a deadline over the whole exchange.
 */
export function sendWebhook(request: WebhookRequest): Promise<WebhookAttemptOutcome> {
  let url: URL;
  try {
    url = request.policy.checkUrl(request.url);
  } catch (error) {
    return Promise.resolve({ kind: 'refused', reason: (error as Error).message });
  }
  return new Promise<WebhookAttemptOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: WebhookAttemptOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const transport = url.protocol === 'https:' ? https : http;
    const body = Buffer.from(request.body);
    const outgoing = transport.request(url, {
      method: 'POST',
      headers: {
        ...request.headers,
        'content-type': 'application/json',
        'content-length': body.length,
        'user-agent': 'comfyui-cloud-workers-webhooks',
      },
      agent: false,
      lookup: request.policy.lookup,
    });
    const timer = setTimeout(() => {
      outgoing.destroy();
      finish({ kind: 'network', code: 'TIMEOUT' });
    }, request.timeoutMs);
    const onAbort = () => {
      outgoing.destroy();
      finish({ kind: 'network', code: 'ABORTED' });
    };
    request.signal?.addEventListener('abort', onAbort, { once: true });
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      const refusal = findRefusal(error);
      if (refusal) finish({ kind: 'refused', reason: refusal.message });
      else
        finish({
          kind: 'network',
          code: /^[A-Z0-9_]{2,40}$/.test(error.code ?? '') ? error.code! : 'NETWORK_ERROR',
        });
    });
    outgoing.on('response', (answer: IncomingMessage) => {
      const status = answer.statusCode ?? 0;
      let read = 0;
      answer.on('data', (chunk: Buffer) => {
        read += chunk.length;
        if (read > MAX_ANSWER_BYTES) answer.destroy();
      });
      answer.on('error', () => undefined);
      answer.on('close', () => finish({ kind: 'response', status }));
      answer.on('end', () => finish({ kind: 'response', status }));
    });
    outgoing.end(body);
  });
}

function findRefusal(error: unknown): OutboundAddressError | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current; depth++) {
    if (current instanceof OutboundAddressError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}
