import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Test-only: a real local HTTP server that plays scripted RunPod answers and records what it received. */
export interface RecordedRequest {
  method: string;
  /** Path + query exactly as received. */
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  /** Parsed JSON body, or undefined. */
  body: unknown;
}

export type Reply =
  | { status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }
  /** Destroy the socket without answering (the client sees ECONNRESET / socket hang up). */
  | 'reset'
  /** Never answer (the client's timeout fires). */
  | 'hang';

export type Responder = (req: RecordedRequest) => Reply;

export const TEST_API_KEY = 'rpa_TESTKEY0123456789abcdefSECRET';

/** A logger that keeps quiet and remembers what it would have said. */
export class RecordingLogger {
  readonly warnings: string[] = [];
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  private readonly queue: Reply[] = [];
  /** Answers when the queue is empty. */
  fallback: Responder = () => ({
    status: 500,
    body: { title: 'no scripted reply', status: 500, detail: 'none' },
  });

  private constructor(private readonly server: Server) {}

  static async start(): Promise<ScriptedServer> {
    const holder: { instance?: ScriptedServer } = {};
    const server = createServer((req, res) => holder.instance?.handle(req, res));
    const instance = new ScriptedServer(server);
    holder.instance = instance;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return instance;
  }

  get url(): string {
    const { port } = this.server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  /** Queue one-shot replies, played in order before `fallback`. */
  reply(...replies: Reply[]): this {
    this.queue.push(...replies);
    return this;
  }

  reset(): void {
    this.requests.length = 0;
    this.queue.length = 0;
    this.fallback = () => ({
      status: 500,
      body: { title: 'no scripted reply', status: 500, detail: 'none' },
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      let body: unknown;
      try {
        body = rawBody ? JSON.parse(rawBody) : undefined;
      } catch {
        body = undefined;
      }
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        rawBody,
        body,
      };
      this.requests.push(recorded);
      const reply = this.queue.length ? (this.queue.shift() as Reply) : this.fallback(recorded);
      if (reply === 'reset') {
        req.socket.destroy();
        return;
      }
      if (reply === 'hang') return;
      const send = () => {
        const headers: Record<string, string> = { ...(reply.headers ?? {}) };
        let payload = '';
        if (reply.body !== undefined) {
          payload = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
          headers['content-type'] ??=
            typeof reply.body === 'string'
              ? 'text/plain'
              : reply.status >= 400
                ? 'application/problem+json'
                : 'application/json';
        }
        res.writeHead(reply.status, headers);
        res.end(payload);
      };
      if (reply.delayMs) setTimeout(send, reply.delayMs);
      else send();
    });
  }
}

/** Collects the delays the transport asked to sleep, without sleeping. */
export function recordingSleep(): { delays: number[]; sleep: (ms: number) => Promise<void> } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms: number) => {
      delays.push(ms);
    },
  };
}

/**
 * Where `key` shows up in a thrown value: message, stack, String(), JSON and every own property (enumerable or
 * not). Empty means no leak.
 */
export function keyLeaks(err: unknown, key: string = TEST_API_KEY): string[] {
  const leaks: string[] = [];
  if (err === null || typeof err !== 'object') return JSON.stringify(err)?.includes(key) ? ['value'] : [];
  const e = err as Record<string, unknown>;
  const check = (where: string, text: string) => {
    if (text.includes(key)) leaks.push(where);
  };
  check('message', String(e.message));
  check('stack', String(e.stack));
  check('toString()', Error.prototype.toString.call(err));
  check('JSON.stringify', JSON.stringify(err) ?? '');
  for (const name of Object.getOwnPropertyNames(err)) {
    const value = e[name];
    let text: string;
    try {
      text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
    } catch {
      text = String(value);
    }
    check(`property ${name}`, text);
  }
  return leaks;
}

/** The rejection of `promise`, or a failure if it resolved. */
export async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, got a value');
}
