import { randomUUID } from 'node:crypto';
import type { OutboundAddressPolicy } from '../common/net/outbound-address-policy';
import { type ComfyEventSource, ComfySocket, type ComfyWsMessage } from './comfyui-socket';

/** Free an idle hub's socket after this long without a prompt to follow. */
const IDLE_CLOSE_MS = 30_000;

/**
 * One websocket to one ComfyUI server, shared by every prompt this process submits there. ComfyUI sends a
 * prompt's events to the socket registered for the prompt's client_id (reference §4), so every prompt sent
 * through the hub carries the hub's `clientId`, and each watch picks its own prompt's events by prompt_id.
 * One socket per server instead of one per job saves a connection and handshake per job (through RunPod's
 * proxy for pods) and CPU: bench:dispatch measured 930 -> 580 µs of event loop per executed job.
 *
 * When the socket drops, every subscription closes (their watches fall back to polling) and the next
 * `subscribe()` opens a new socket under the same clientId. With no subscriber for IDLE_CLOSE_MS the socket
 * is closed; the next `subscribe()` opens it again.
 */
export class ComfySocketHub {
  readonly clientId = randomUUID();
  private socket?: ComfySocket;
  private readonly subscriptions = new Set<HubSubscription>();
  private idleTimer?: NodeJS.Timeout;
  private closed = false;

  constructor(
    private readonly websocketBase: string,
    private readonly connectTimeoutMs: number,
    private readonly idleCloseMs = IDLE_CLOSE_MS,
    private readonly addressPolicy?: OutboundAddressPolicy,
  ) {}

  /** A share of the hub's socket (opened now if there is none). */
  subscribe(): ComfyEventSource {
    clearTimeout(this.idleTimer);
    if (this.closed) return closedSource();
    const socket = this.socket && !this.socket.isClosed ? this.socket : this.open();
    const subscription = new HubSubscription(socket, (ended) => this.unsubscribe(ended));
    this.subscriptions.add(subscription);
    return subscription;
  }

  /** Closes the socket and every subscription; later `subscribe()` calls get closed sources. */
  close(): void {
    this.closed = true;
    clearTimeout(this.idleTimer);
    const socket = this.socket;
    this.socket = undefined;
    socket?.close();
    for (const subscription of [...this.subscriptions]) subscription.socketClosed();
    this.subscriptions.clear();
  }

  private open(): ComfySocket {
    const socket = new ComfySocket(
      `${this.websocketBase}/ws?clientId=${encodeURIComponent(this.clientId)}`,
      this.connectTimeoutMs,
      this.addressPolicy,
    );
    this.socket = socket;
    socket.onMessage((message) => {
      for (const subscription of this.subscriptions) subscription.deliver(socket, message);
    });
    socket.onClose(() => {
      if (this.socket === socket) this.socket = undefined;
      for (const subscription of [...this.subscriptions]) {
        if (subscription.socket === socket) subscription.socketClosed();
      }
    });
    return socket;
  }

  private unsubscribe(subscription: HubSubscription): void {
    this.subscriptions.delete(subscription);
    if (this.subscriptions.size > 0 || this.closed) return;
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.subscriptions.size > 0) return;
      const socket = this.socket;
      this.socket = undefined;
      socket?.close();
    }, this.idleCloseMs);
    this.idleTimer.unref();
  }
}

class HubSubscription implements ComfyEventSource {
  readonly ready: Promise<boolean>;
  private ended = false;
  private buffered: ComfyWsMessage[] = [];
  private messageHandler?: (message: ComfyWsMessage) => void;
  private closeHandler?: () => void;

  constructor(
    readonly socket: ComfySocket,
    private readonly onEnd: (subscription: HubSubscription) => void,
  ) {
    this.ready = socket.ready;
  }

  get isOpen(): boolean {
    return !this.ended && this.socket.isOpen;
  }

  onMessage(handler: (message: ComfyWsMessage) => void): void {
    this.messageHandler = handler;
    const pending = this.buffered;
    this.buffered = [];
    for (const message of pending) handler(message);
  }

  onClose(handler: () => void): void {
    this.closeHandler = handler;
    if (this.ended) handler();
  }

  /** Leaves the hub; the shared socket stays open for the others. */
  close(): void {
    if (this.ended) return;
    this.ended = true;
    this.closeHandler = undefined;
    this.messageHandler = undefined;
    this.buffered = [];
    this.onEnd(this);
  }

  deliver(from: ComfySocket, message: ComfyWsMessage): void {
    if (this.ended || from !== this.socket) return;
    if (this.messageHandler) this.messageHandler(message);
    // Only what arrives between subscribing and the watch attaching (one /prompt round trip) is kept.
    else this.buffered.push(message);
  }

  socketClosed(): void {
    if (this.ended) return;
    this.ended = true;
    this.buffered = [];
    this.onEnd(this);
    const handler = this.closeHandler;
    this.closeHandler = undefined;
    handler?.();
  }
}

function closedSource(): ComfyEventSource {
  return {
    ready: Promise.resolve(false),
    isOpen: false,
    onMessage: () => undefined,
    onClose: (handler) => handler(),
    close: () => undefined,
  };
}

/**
 * The hubs of a process, one per websocket base URL and address policy (a socket opened under one set of
 * address rules is not shared with clients held to others); `closeAll()` at shutdown.
 */
export class ComfySocketHubs {
  private readonly hubs = new Map<string, Map<OutboundAddressPolicy | undefined, ComfySocketHub>>();

  constructor(private readonly idleCloseMs = IDLE_CLOSE_MS) {}

  get(
    websocketBase: string,
    connectTimeoutMs: number,
    addressPolicy?: OutboundAddressPolicy,
  ): ComfySocketHub {
    let byPolicy = this.hubs.get(websocketBase);
    if (!byPolicy) {
      byPolicy = new Map();
      this.hubs.set(websocketBase, byPolicy);
    }
    let hub = byPolicy.get(addressPolicy);
    if (!hub) {
      hub = new ComfySocketHub(websocketBase, connectTimeoutMs, this.idleCloseMs, addressPolicy);
      byPolicy.set(addressPolicy, hub);
    }
    return hub;
  }

  closeAll(): void {
    for (const byPolicy of this.hubs.values()) for (const hub of byPolicy.values()) hub.close();
    this.hubs.clear();
  }
}
