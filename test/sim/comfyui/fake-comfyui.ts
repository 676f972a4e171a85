import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';

/**
 * A fake ComfyUI server, written from ../shared/reference/comfyui.md (not from our client).
 * SKELETON: only GET /system_stats so far; the full protocol is being written.
 */
export interface FakeComfyUIOptions {
  /** Simulated execution time per executed node, in ms. */
  executionMsPerNode?: number;
}

export class FakeComfyUI {
  private server?: Server;
  private baseUrl?: string;

  constructor(private readonly options: FakeComfyUIOptions = {}) {}

  /** Starts listening on 127.0.0.1 (port 0 = ephemeral) and resolves to the base URL, e.g. http://127.0.0.1:41234 */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(port, host, resolve));
    const { port: actual } = this.server.address() as AddressInfo;
    this.baseUrl = `http://${host}:${actual}`;
    return this.baseUrl;
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('FakeComfyUI is not listening');
    return this.baseUrl;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (req.method === 'GET' && req.url === '/system_stats') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ system: { os: 'posix', comfyui_version: '0.3.0' }, devices: [] }));
      return;
    }
    res.writeHead(404).end();
  }
}
