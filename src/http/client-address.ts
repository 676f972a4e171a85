import { isIPv4, isIPv6 } from 'node:net';
import type { Request } from 'express';

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
 * is the socket's unless Express's `trust proxy` is configured.
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
