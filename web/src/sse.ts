/**
 * The fleet's event stream (GET /api/events) read with fetch(), because EventSource cannot send the
 * Authorization header. Parses Server-Sent Events itself, reconnects with Last-Event-ID and a growing back-off,
 * and gives up on a silent connection (no message, no `: ping`) after a while so a dead proxy cannot freeze it.
 */
import { authHeaders } from './api';
import { type SseMessage, SseParser } from './sse-parser';

export type { SseMessage };

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'unavailable' | 'unauthorized';

export interface EventStreamOptions {
  url: string;
  onMessage: (message: SseMessage) => void;
  onState: (state: StreamState) => void;
  /** Longest silence before the connection is treated as dead (the server pings every 15 s). */
  silenceMs?: number;
  maxBackoffMs?: number;
}

export class EventStream {
  private stopped = false;
  private controller: AbortController | null = null;
  private lastEventId: string | null = null;
  private backoffMs = 500;

  constructor(private readonly options: EventStreamOptions) {}

  start(): void {
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
  }

  private async run(): Promise<void> {
    const maxBackoff = this.options.maxBackoffMs ?? 30_000;
    while (!this.stopped) {
      const outcome = await this.connectOnce();
      if (this.stopped || outcome === 'unauthorized') return;
      this.options.onState(outcome === 'missing' ? 'unavailable' : 'reconnecting');
      // Full jitter, so a restarted service is not hit by every dashboard at the same instant.
      const wait = Math.round(this.backoffMs / 2 + Math.random() * (this.backoffMs / 2));
      this.backoffMs = Math.min(this.backoffMs * 2, outcome === 'missing' ? 60_000 : maxBackoff);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  private async connectOnce(): Promise<'ended' | 'failed' | 'missing' | 'unauthorized'> {
    const controller = new AbortController();
    this.controller = controller;
    const silenceMs = this.options.silenceMs ?? 45_000;
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const feedWatchdog = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => controller.abort(), silenceMs);
    };
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream', ...authHeaders() };
      if (this.lastEventId !== null) headers['Last-Event-ID'] = this.lastEventId;
      feedWatchdog();
      const response = await fetch(this.options.url, {
        headers,
        signal: controller.signal,
        cache: 'no-store',
      });
      if (response.status === 401 || response.status === 403) {
        this.options.onState('unauthorized');
        return 'unauthorized';
      }
      if (response.status === 404) return 'missing';
      if (!response.ok || !response.body) return 'failed';
      this.options.onState('live');
      const parser = new SseParser((message) => {
        this.backoffMs = 500;
        this.options.onMessage(message);
      });
      parser.lastEventId = this.lastEventId;
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        feedWatchdog();
        parser.push(value);
        this.lastEventId = parser.lastEventId;
      }
      return 'ended';
    } catch {
      return 'failed';
    } finally {
      clearTimeout(watchdog);
    }
  }
}
