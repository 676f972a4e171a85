/**
 * A URL safe to put in a message or a listing: credentials dropped, query string and fragment replaced.
 * Presigned object-store URLs carry their signature (a credential) in the query string; worker URLs may
 * carry `user:password@`.
 */
export function redactedUrl(url: string | URL): string {
  let parsed: URL;
  try {
    parsed = typeof url === 'string' ? new URL(url) : new URL(url.href);
  } catch {
    return '[unparseable URL]';
  }
  const hadQuery = parsed.search !== '' || parsed.hash !== '';
  parsed.username = '';
  parsed.password = '';
  parsed.search = '';
  parsed.hash = '';
  const text = parsed.pathname === '/' ? parsed.origin : `${parsed.origin}${parsed.pathname}`;
  return hadQuery ? `${text}?[REDACTED]` : text;
}
