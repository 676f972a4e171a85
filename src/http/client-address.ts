import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request } from 'express';
import { isIPv4, isIPv6 } from 'node:net';

/**
 * Behind a reverse proxy every request comes from the proxy's address, so one client's wrong keys would block
 * everyone. TRUST_PROXY names the proxies whose X-Forwarded-For is believed (see config/trust-proxy.ts);
 * without it the header is ignored, so a client cannot pick its own address to step around a limit.
 */
export function applyTrustProxy(app: INestApplication, trustProxy: number | string[] | undefined): void {
  if (trustProxy !== undefined) (app as NestExpressApplication).set('trust proxy', trustProxy);
}

/** The 8 groups of an IPv6 address (`::` expanded), each as a number. */
function ipv6Groups(address: string): number[] {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  return [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups].map((g) => parseInt(g, 16));
}

/**
 * Who a request counts against in the rate limits: the client's IPv4 address (IPv4-mapped IPv6 included), or
 * its IPv6 /64, since one host usually holds the whole prefix and could otherwise rotate addresses. The address
 * is the socket's unless TRUST_PROXY names the proxy in front (applyTrustProxy).
 */
export function rateLimitClient(request: Request): string {
  const address = (request.ip ?? request.socket.remoteAddress ?? 'unknown').split('%')[0];
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (isIPv4(address) || !isIPv6(address) || address.includes('.')) return address;
  const prefix = ipv6Groups(address)
    .slice(0, 4)
    .map((group) => group.toString(16))
    .join(':');
  return `${prefix}::/64`;
}
