import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnModuleDestroy,
  type OnModuleInit,
} from '@nestjs/common';
import type { Request, Response } from 'express';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { FleetEvent } from '../events/fleet-event';
import { FleetEventHub } from '../events/fleet-events.service';

/**
 * A client this far behind (bytes its socket has not taken yet) is cut off instead of buffered without end; it
 * reconnects with Last-Event-ID and catches up from the hub's buffer, or gets a reset.
 */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'private, no-cache, no-store, must-revalidate, max-age=0, no-transform',
  Connection: 'keep-alive',
  // nginx and similar proxies: pass each message on at once.
  'X-Accel-Buffering': 'no',
};

const PING = ': ping\n\n';

/**
 * Events are written to the streams at most this often, in one write per stream. A person does not notice
 * 100 ms; the dispatcher would notice one socket write per stream per event at a few hundred events a second
 * (bench:dispatch with BENCH_EVENT_STREAMS=100: at 50 ms the writes to 100 streams cost ~13% CPU per job).
 */
const FLUSH_INTERVAL_MS = 100;

/** One SSE message. `data` is JSON already (one line: JSON.stringify escapes newlines). */
function frame(event: string, data: string, id?: number): string {
  return `${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${data}\n\n`;
}

function eventFrame(event: FleetEvent): string {
  return frame(event.type, event.json, event.id);
}

/**
 * The open GET /api/events streams of this instance, fed from the FleetEventHub.
 *
 * Cheap per dashboard: each event is serialized once (by the hub) and framed once; the emitting service (the
 * dispatcher) pays for appending a string, and the events of each FLUSH_INTERVAL_MS go out together, one socket
 * write per stream, so 100 open streams cost about 100 writes per flush whatever the event rate. One timer
 * sends the heartbeat to all streams.
 *
 * No event is lost or sent twice across the hand-over from replay to live: `flushedThrough` is the newest id
 * already written to every stream; a new stream gets its replay up to there, then the next batch with
 * everyone else.
 */
@Injectable()
export class FleetEventStreams implements OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown {
  private readonly streams = new Set<Response>();
  private pending: string[] = [];
  private pendingThrough = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private flushedThrough = 0;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private closing = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly hub: FleetEventHub,
  ) {}

  onModuleInit(): void {
    this.flushedThrough = this.hub.lastEventId;
    this.unsubscribe = this.hub.subscribe((event) => this.enqueue(event));
    this.heartbeat = setInterval(() => this.writeAll(PING), this.config.events.heartbeatIntervalMs);
    this.heartbeat.unref();
  }

  /** How many streams are open (for tests and the benchmark). */
  get openStreams(): number {
    return this.streams.size;
  }

  /**
   * Starts a stream on `response`: `hello`, then what the client missed since `lastEventId` (the
   * Last-Event-ID header) or `reset` if that cannot be told, then live events until either side closes.
   */
  open(request: Request, response: Response, lastEventId: string | undefined): void {
    request.socket.setNoDelay(true);
    request.socket.setKeepAlive(true);
    // An idle socket timeout would cut quiet streams; the heartbeat keeps proxies from doing the same.
    request.socket.setTimeout(0);
    response.writeHead(200, SSE_HEADERS);
    const through = this.flushedThrough;
    let opening = frame('hello', JSON.stringify({ instanceId: this.hub.instanceId, lastEventId: through }));
    if (lastEventId !== undefined) opening += this.catchUp(lastEventId, through);
    response.write(opening);
    if (this.closing) {
      response.end();
      return;
    }
    this.streams.add(response);
    response.on('close', () => this.streams.delete(response));
  }

  onModuleDestroy(): void {
    this.unsubscribe?.();
    clearInterval(this.heartbeat);
  }

  /** Ends every stream before the HTTP server closes, which would otherwise wait for them for ever. */
  beforeApplicationShutdown(): void {
    this.closing = true;
    this.flush();
    for (const response of this.streams) response.end();
    this.streams.clear();
  }

  private catchUp(header: string, through: number): string {
    const trimmed = header.trim();
    const id = /^\d{1,16}$/.test(trimmed) ? Number(trimmed) : NaN;
    const missed = this.hub.catchUp(id, through);
    if (missed.kind === 'replay') return missed.events.map(eventFrame).join('');
    const reason = Number.isNaN(id)
      ? `Last-Event-ID "${trimmed.slice(0, 40)}" is not an event id`
      : `Last-Event-ID ${id} is not in the last ${this.config.events.bufferSize} events of this instance ` +
        '(too old, or from another instance or an earlier run)';
    return frame('reset', JSON.stringify({ instanceId: this.hub.instanceId, lastEventId: through, reason }));
  }

  private enqueue(event: FleetEvent): void {
    if (this.streams.size === 0 && this.pending.length === 0) {
      this.flushedThrough = event.id;
      return;
    }
    this.pending.push(eventFrame(event));
    this.pendingThrough = event.id;
    this.flushTimer ??= setTimeout(() => this.flush(), FLUSH_INTERVAL_MS);
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const chunk = this.pending.length === 1 ? this.pending[0] : this.pending.join('');
    this.pending = [];
    this.flushedThrough = this.pendingThrough;
    this.writeAll(chunk);
  }

  private writeAll(chunk: string): void {
    for (const response of this.streams) {
      if (response.writableLength > MAX_BUFFERED_BYTES) {
        this.streams.delete(response);
        response.destroy();
        continue;
      }
      response.write(chunk);
    }
  }
}
