import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ComfyAbortedError, ComfyUnavailableError } from './comfyui.errors';
import { ComfyHttp } from './comfyui-http';

/** The transport against a bare node:http server, for what the fake ComfyUI does not script. */
describe('ComfyHttp (keep-alive transport)', () => {
  let server: Server;
  let http: ComfyHttp;
  let connections: number;
  let requests: string[];
  let handler: (request: IncomingMessage, response: ServerResponse, nth: number) => void;

  beforeEach(async () => {
    connections = 0;
    requests = [];
    server = createServer((request, response) => {
      requests.push(`${request.method} ${request.url}`);
      handler(request, response, requests.length);
    });
    server.on('connection', () => connections++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    http = new ComfyHttp(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const call = (
    method: 'GET' | 'POST',
    path: string,
    extra: { timeoutMs?: number; signal?: AbortSignal } = {},
  ) => ({
    method,
    path,
    json: method === 'POST' ? { prompt: {} } : undefined,
    timeoutMs: extra.timeoutMs ?? 2000,
    signal: extra.signal,
  });

  it('sends every call over one kept-alive connection', async () => {
    handler = (_request, response) => response.end('{"ok":true}');
    for (let i = 0; i < 5; i++) await expect(http.json(call('GET', '/queue'))).resolves.toEqual({ ok: true });
    await http.json(call('POST', '/prompt'));
    expect(requests).toHaveLength(6);
    expect(connections).toBe(1);
  });

  it('sends a GET again on a new connection when the kept-alive one turns out closed', async () => {
    // The second request finds the server dropping the connection without an answer, as a server that closed
    // an idle keep-alive socket at the moment it was reused would.
    handler = (request, response, nth) => (nth === 2 ? request.socket.destroy() : response.end('{"n":1}'));
    await http.json(call('GET', '/queue'));
    await expect(http.json(call('GET', '/history/p-1'))).resolves.toEqual({ n: 1 });
    expect(requests).toEqual(['GET /queue', 'GET /history/p-1', 'GET /history/p-1']);
    expect(connections).toBe(2);
  });

  it('never sends a POST twice: a dropped connection is an infrastructure error', async () => {
    handler = (request, response, nth) => (nth === 2 ? request.socket.destroy() : response.end('{}'));
    await http.json(call('GET', '/queue'));
    await expect(http.json(call('POST', '/prompt'))).rejects.toBeInstanceOf(ComfyUnavailableError);
    expect(requests).toEqual(['GET /queue', 'POST /prompt']);
  });

  it('times out while the body is still arriving', async () => {
    handler = (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"slow":'); // the rest never comes
    };
    const error = await http.json(call('GET', '/view', { timeoutMs: 150 })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ComfyUnavailableError);
    expect(error).toMatchObject({ code: 'TIMEOUT', message: 'ComfyUI GET /view timed out after 150 ms' });
  });

  it("stops at the caller's signal", async () => {
    handler = () => undefined; // never answers
    const controller = new AbortController();
    // A timeout far beyond the abort, so only the signal can end the call, however late the timer runs.
    const pending = http.json(call('GET', '/queue', { signal: controller.signal, timeoutMs: 20_000 }));
    setTimeout(() => controller.abort('cancel'), 50);
    await expect(pending).rejects.toBeInstanceOf(ComfyAbortedError);
  });

  it('maps a refused connection to ComfyUnavailableError with its code', async () => {
    const closed = new ComfyHttp('http://127.0.0.1:1');
    await expect(closed.json(call('GET', '/system_stats'))).rejects.toMatchObject({
      name: 'ComfyUnavailableError',
      code: 'ECONNREFUSED',
    });
  });
});
