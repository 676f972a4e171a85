import { type IncomingMessage, request as httpRequest, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { type Duplex } from 'node:stream';
import { type PodRecord, type PodStore } from './state';

/**
 * The pod HTTP proxy. RunPod serves `https://{podId}-{port}.proxy.runpod.net` (reference §2); the fake serves
 * `${url}/proxy/{podId}-{port}/...` and forwards, prefix stripped, to the pod's ComfyUI (which stands in for the
 * service listening on 8188). HTTP requests are forwarded; websocket upgrades are piped as raw sockets.
 *
 * - 502 before the pod has booted, after it stopped/terminated, when its ComfyUI died, and for a port that is not
 *   exposed as `NNNN/http` or where nothing listens (DOCS troubleshooting-502: "the program isn't running").
 *   UNVERIFIED: the exact answer for a port missing from `ports`; 502 is the tolerant guess.
 * - 524 after `proxyTimeoutMs` (RunPod/Cloudflare: 100 s) when the service accepts but never answers.
 * - The proxy URL is public: no auth (reference §2).
 */
export const COMFY_PORT = 8188;

export interface ProxyContext {
  store: PodStore;
  proxyTimeoutMs: number;
}

export function parseProxyPath(pathname: string): { podId: string; port: number; rest: string } | undefined {
  const m = /^\/proxy\/([a-z0-9]+)-(\d{1,5})(\/.*)?$/.exec(pathname);
  if (!m) return undefined;
  return { podId: m[1], port: Number(m[2]), rest: m[3] ?? '/' };
}

/** The upstream base URL for a proxied request, or why there is none. */
function route(ctx: ProxyContext, podId: string, port: number): { pod: PodRecord; target: URL } | { status: 502 | 'hang' } {
  const pod = ctx.store.get(podId);
  if (!pod) return { status: 502 };
  const exposed = pod.ports.some((p) => p.port === port && p.type === 'http');
  const state = ctx.store.serviceState(pod);
  if (!exposed || port !== COMFY_PORT || state === 'down' || !pod.comfy) return { status: 502 };
  if (state === 'hang') return { status: 'hang' };
  return { pod, target: new URL(pod.comfy.url) };
}

const BAD_GATEWAY_HTML = '<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>';

export function handleProxyHttp(ctx: ProxyContext, req: IncomingMessage, res: ServerResponse, url: URL): void {
  const parsed = parseProxyPath(url.pathname);
  if (!parsed) {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    return;
  }
  const r = route(ctx, parsed.podId, parsed.port);
  if ('status' in r) {
    if (r.status === 502) {
      res.writeHead(502, { 'content-type': 'text/html' }).end(BAD_GATEWAY_HTML);
      return;
    }
    const t = setTimeout(() => {
      if (!res.headersSent) res.writeHead(524, { 'content-type': 'text/plain' }).end('error code: 524');
    }, ctx.proxyTimeoutMs);
    res.on('close', () => clearTimeout(t));
    req.resume();
    return;
  }
  const headers = { ...req.headers, host: r.target.host };
  const upstream = httpRequest(
    { host: r.target.hostname, port: r.target.port, method: req.method, path: parsed.rest + url.search, headers },
    (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    },
  );
  upstream.setTimeout(ctx.proxyTimeoutMs, () => {
    upstream.destroy();
    if (!res.headersSent) res.writeHead(524, { 'content-type': 'text/plain' }).end('error code: 524');
  });
  upstream.on('error', () => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/html' }).end(BAD_GATEWAY_HTML);
    else res.destroy();
  });
  req.pipe(upstream);
}

/** Websocket (any Upgrade) under /proxy/...: pipe the raw sockets to the pod's ComfyUI. */
export function handleProxyUpgrade(
  ctx: ProxyContext,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  url: URL,
  setStatus: (status: number) => void = () => undefined,
): void {
  const parsed = parseProxyPath(url.pathname);
  const r = parsed ? route(ctx, parsed.podId, parsed.port) : ({ status: 502 } as const);
  if (!parsed || 'status' in r) {
    if (parsed && 'status' in r && r.status === 'hang') {
      setStatus(0);
      const t = setTimeout(() => socket.destroy(), ctx.proxyTimeoutMs);
      socket.on('close', () => clearTimeout(t));
      socket.on('error', () => undefined);
      return;
    }
    setStatus(502);
    socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const upstream: Socket = connect(Number(r.target.port), r.target.hostname);
  const client = socket as Socket;
  r.pod.sockets.add(client);
  r.pod.sockets.add(upstream);
  const cleanup = (): void => {
    r.pod.sockets.delete(client);
    r.pod.sockets.delete(upstream);
    client.destroy();
    upstream.destroy();
  };
  upstream.on('connect', () => {
    let head1 = `${req.method ?? 'GET'} ${parsed.rest}${url.search} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i];
      const value = name.toLowerCase() === 'host' ? r.target.host : req.rawHeaders[i + 1];
      head1 += `${name}: ${value}\r\n`;
    }
    upstream.write(`${head1}\r\n`);
    upstream.once('data', (chunk: Buffer) => setStatus(Number(/^HTTP\/1\.1 (\d{3})/.exec(chunk.toString('latin1', 0, 16))?.[1] ?? 101)));
    if (head.length) upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  upstream.on('error', () => {
    if (!upstream.bytesRead) setStatus(502);
    if (client.writable && !upstream.bytesRead) client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    cleanup();
  });
  client.on('error', cleanup);
  upstream.on('close', cleanup);
  client.on('close', cleanup);
}
