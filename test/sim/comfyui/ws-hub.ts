import { randomUUID } from 'node:crypto';
import { type IncomingMessage } from 'node:http';
import { type Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import { pyJson } from './py-compat';

/**
 * The `/ws` side of ComfyUI (reference §4.1-4.3, §4.5).
 * - `sid = clientId` (or a 32-hex uuid when absent); a newer socket with the same sid replaces the older one
 *   in the routing map (the old one is not closed).
 * - On connect: `status` with `sid` to that socket only, then `executing {node}` (no prompt_id) if this sid
 *   owns the running prompt.
 * - Only the FIRST client text message is understood, and only if it is `feature_flags`; it is stored and
 *   answered with the server flags.
 * - `send(event, data, sid)`: sid null → every socket; sid given → that socket if connected, else dropped.
 *
 * Tolerant choice: real ComfyUI pops the sid on the old socket's close even if a newer socket took the sid
 * (inferred in the reference, unverified); we only unregister a socket that is still the registered one.
 */
export interface SentMessage {
  type: string;
  data: unknown;
  /** null = broadcast */
  sid: string | null;
  /** how many sockets actually got it */
  delivered: number;
  binary?: number;
}

export interface HubCallbacks {
  queueRemaining(): number;
  /** [client_id of the running prompt, last executing display node] */
  running(): { clientId: string | null; lastNodeId: string | null };
  serverFeatures(): Record<string, unknown>;
}

interface SocketMeta {
  sid: string;
  featureFlags: Record<string, unknown>;
  firstMessage: boolean;
}

export interface DropPlan {
  /** drop every socket once this many more text messages have been sent */
  afterMessages?: number;
  /** ...or right after the first message of this type (optionally for this node) */
  afterEvent?: string;
  node?: string;
}

const MAX_LOG = 20000;

export class WsHub {
  private readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  private readonly sockets = new Map<string, WebSocket>();
  private readonly meta = new WeakMap<WebSocket, SocketMeta>();
  private drop?: DropPlan & { sent: number };
  readonly log: SentMessage[] = [];

  constructor(private readonly cb: HubCallbacks) {}

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://x');
    const clientId = url.searchParams.get('clientId');
    const sid = clientId ? clientId : randomUUID().replace(/-/g, '');
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, sid));
  }

  private onConnection(ws: WebSocket, sid: string): void {
    this.sockets.set(sid, ws);
    this.meta.set(ws, { sid, featureFlags: {}, firstMessage: true });
    ws.on('close', () => {
      if (this.sockets.get(sid) === ws) this.sockets.delete(sid);
    });
    ws.on('error', () => undefined);
    ws.on('message', (data: RawData, isBinary: boolean) => this.onClientMessage(ws, data, isBinary));
    this.send('status', { status: { exec_info: { queue_remaining: this.cb.queueRemaining() } }, sid }, sid);
    const { clientId, lastNodeId } = this.cb.running();
    if (clientId === sid && lastNodeId !== null) this.send('executing', { node: lastNodeId }, sid);
  }

  private onClientMessage(ws: WebSocket, data: RawData, isBinary: boolean): void {
    const m = this.meta.get(ws);
    if (!m || isBinary) return;
    try {
      const text = Array.isArray(data)
        ? Buffer.concat(data).toString('utf8')
        : Buffer.from(data as ArrayBuffer).toString('utf8');
      const msg = JSON.parse(text) as { type?: unknown; data?: unknown };
      if (m.firstMessage && msg.type === 'feature_flags') {
        m.featureFlags = (msg.data && typeof msg.data === 'object' ? msg.data : {}) as Record<
          string,
          unknown
        >;
        this.send('feature_flags', this.cb.serverFeatures(), m.sid);
      }
    } catch {
      // ComfyUI logs and ignores undecodable client messages
    }
    m.firstMessage = false;
  }

  supportsPreviewMetadata(sid: string | null): boolean {
    if (sid === null) return false;
    const ws = this.sockets.get(sid);
    return !!ws && this.meta.get(ws)?.featureFlags.supports_preview_metadata === true;
  }

  private targets(sid: string | null): WebSocket[] {
    const list =
      sid === null ? [...this.sockets.values()] : this.sockets.has(sid) ? [this.sockets.get(sid)!] : [];
    return list.filter((ws) => ws.readyState === WebSocket.OPEN);
  }

  send(type: string, data: unknown, sid: string | null): void {
    const text = pyJson({ type, data });
    const targets = this.targets(sid);
    for (const ws of targets) ws.send(text);
    if (this.log.length < MAX_LOG) this.log.push({ type, data, sid, delivered: targets.length });
    this.checkDrop(type, data);
  }

  /** `[u32 BE event type][payload]` binary frame. */
  sendBinary(eventType: number, payload: Buffer, sid: string | null): void {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(eventType);
    const frame = Buffer.concat([head, payload]);
    const targets = this.targets(sid);
    for (const ws of targets) ws.send(frame);
    if (this.log.length < MAX_LOG)
      this.log.push({
        type: `binary:${eventType}`,
        data: null,
        sid,
        delivered: targets.length,
        binary: eventType,
      });
  }

  armDrop(plan: DropPlan): void {
    this.drop = { ...plan, sent: 0 };
  }

  private checkDrop(type: string, data: unknown): void {
    const d = this.drop;
    if (!d) return;
    d.sent++;
    const byCount = d.afterMessages !== undefined && d.sent >= d.afterMessages;
    const byEvent =
      d.afterEvent !== undefined &&
      d.afterEvent === type &&
      (d.node === undefined || (data as { node?: unknown } | null)?.node === d.node);
    if (byCount || byEvent) {
      this.drop = undefined;
      this.dropAll();
    }
  }

  /** Abruptly destroys every websocket (no close frame), like a network cut. */
  dropAll(): void {
    for (const ws of this.wss.clients) ws.terminate();
    this.sockets.clear();
  }

  get connectedSids(): string[] {
    return [...this.sockets.keys()];
  }

  async close(): Promise<void> {
    this.dropAll();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
