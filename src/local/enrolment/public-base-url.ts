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
