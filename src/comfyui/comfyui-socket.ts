import WebSocket from 'ws';
import type { OutboundAddressPolicy } from '../common/net/outbound-address-policy';
import { DEFAULT_COMFY_ADDRESS_POLICY } from './comfyui-http';

/** A text frame from `/ws`: `{"type": <event>, "data": {...}}` (reference §4). */
export interface ComfyWsMessage {
  type: string;
  data: Record<string, unknown>;
}

/** What a prompt watch needs of a websocket: a ComfySocket of its own, or its share of a hub's. */
export interface ComfyEventSource {
  /** True once open; false if the handshake failed or timed out. */
  readonly ready: Promise<boolean>;
  readonly isOpen: boolean;
  /** Sets the handler and hands it what arrived before. */
  onMessage(handler: (message: ComfyWsMessage) => void): void;
  /** Called once when the socket closes for any reason other than this source's own `close()`. */
  onClose(handler: () => void): void;
  close(): void;
}

/**
 * One websocket to `/ws?clientId=<id>`. It never throws: `ready` resolves true once open, false if the
 * handshake failed or took longer than `connectTimeoutMs`. Messages that arrive before a handler is set are
 * kept and handed over when it is (so nothing is lost between opening the socket and submitting the prompt).
 * Binary frames (previews) are ignored. `close()` is idempotent and leaves no timer or socket behind.
 * The URL goes through the address policy (ws:// and wss:// are checked as http:// and https://): a refused
 * literal IP is never contacted, a host name is checked in the connection's `lookup`.
 */
export class ComfySocket implements ComfyEventSource {
  readonly ready: Promise<boolean>;
  private ws?: WebSocket;
  private open = false;
  private closed = false;
  private connectTimer?: NodeJS.Timeout;
  private buffered: ComfyWsMessage[] = [];
  private messageHandler?: (message: ComfyWsMessage) => void;
  private closeHandler?: () => void;

  constructor(
    url: string,
    connectTimeoutMs: number,
    addressPolicy: OutboundAddressPolicy = DEFAULT_COMFY_ADDRESS_POLICY,
  ) {
    let settle: (ok: boolean) => void = () => undefined;
    this.ready = new Promise<boolean>((resolve) => {
      settle = resolve;
    });
    try {
      addressPolicy.checkUrl(url.replace(/^ws/i, 'http'));
      this.ws = new WebSocket(url, {
        perMessageDeflate: false,
        handshakeTimeout: connectTimeoutMs,
        lookup: addressPolicy.lookup,
      });
    } catch {
      this.closed = true;
      settle(false);
      return;
    }
    const ws = this.ws;
    this.connectTimer = setTimeout(() => {
      settle(false);
      this.close();
    }, connectTimeoutMs);
    ws.on('open', () => {
      clearTimeout(this.connectTimer);
      if (this.closed) return;
      this.open = true;
      settle(true);
    });
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary || this.closed) return;
      const message = parse(data);
      if (!message) return;
      if (this.messageHandler) this.messageHandler(message);
      else this.buffered.push(message);
    });
    // 'error' is always followed by 'close'; without a listener it would crash the process.
    ws.on('error', () => undefined);
    ws.on('close', () => {
      clearTimeout(this.connectTimer);
      settle(false);
      this.markClosed();
    });
  }

  get isOpen(): boolean {
    return this.open && !this.closed;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Sets the handler and flushes what arrived before. */
  onMessage(handler: (message: ComfyWsMessage) => void): void {
    this.messageHandler = handler;
    const pending = this.buffered;
    this.buffered = [];
    for (const m of pending) handler(m);
  }

  /** Called once when the socket closes for any reason other than our own `close()`. */
  onClose(handler: () => void): void {
    this.closeHandler = handler;
    if (this.closed) handler();
  }

  close(): void {
    if (this.closed) return;
    this.closeHandler = undefined;
    this.messageHandler = undefined;
    this.markClosed();
    // terminate(), not close(): a close handshake with a dead server would keep a 30 s timer alive.
    this.ws?.terminate();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    clearTimeout(this.connectTimer);
    this.buffered = [];
    const handler = this.closeHandler;
    this.closeHandler = undefined;
    handler?.();
  }
}

function parse(data: WebSocket.RawData): ComfyWsMessage | undefined {
  try {
    const text = Array.isArray(data)
      ? Buffer.concat(data).toString('utf8')
      : Buffer.from(data as ArrayBuffer).toString('utf8');
    const message = JSON.parse(text) as { type?: unknown; data?: unknown };
    if (typeof message?.type !== 'string') return undefined;
    const payload = typeof message.data === 'object' && message.data !== null ? message.data : {};
    return { type: message.type, data: payload as Record<string, unknown> };
  } catch {
    return undefined;
  }
}
