import type { Request } from 'express';

/**
 * The base URL studio machines reach this service at, for the install commands: PUBLIC_URL when set (behind a
 * proxy that rewrites the host, or when the dashboard is opened on another name than the machines use), else
 * the request's own protocol and host. Express believes X-Forwarded-Proto/-Host only from the proxies TRUST_PROXY
 * names, so a client cannot make the service hand out commands pointing elsewhere unless it is such a proxy.
 */
export function publicBaseUrl(configured: string | undefined, request: Request): string {
  if (configured) return configured.replace(/\/+$/, '');
  const host = request.host ?? request.headers.host ?? 'localhost';
  return `${request.protocol}://${host}`;
}

/** What the dashboard shows next to commands that would send the token over plain http. */
export const INSECURE_BASE_URL_WARNING =
  'These commands reach this server over plain http: the enrolment token (and the worker key the machine ' +
  'receives) cross the network unencrypted, and the installer script can be altered on the way. Set PUBLIC_URL ' +
  'to an https address (or open the dashboard over https), unless the network between them is trusted.';

/** localhost, *.localhost, 127.0.0.0/8 and ::1: plain http that never leaves the machine. */
function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127(\.\d{1,3}){3}$/.test(host) ||
    host === '::1' ||
    host === '::ffff:127.0.0.1'
  );
}

/** True when commands naming `base` send the token in clear text over a network: http, not loopback. */
export function isInsecureBaseUrl(base: string): boolean {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return true; // not a URL we can vouch for
  }
  return url.protocol === 'http:' && !isLoopback(url.hostname);
}
