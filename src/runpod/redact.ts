export const REDACTED = '[REDACTED]';

/** Secrets shorter than this are not scrubbed literally: replacing "a" everywhere would mangle text, not protect it. */
const MIN_SECRET_LENGTH = 4;

/** A credential-looking word after "Bearer" (long enough that "missing bearer token" stays readable). */
const BEARER_TOKEN = /(bearer\s+)[A-Za-z0-9._~+/=-]{12,}/gi;
const API_KEY_QUERY = /([?&]api_key[=])[^&\s"']+/gi;

/**
 * Removes `secret` from `text`, plus anything shaped like a bearer token or an `api_key` query parameter,
 * so RunPod's own words (problem details, GraphQL messages) can be quoted in errors and logs without ever
 * echoing the API key.
 */
export function redactSecret(text: string, secret: string | undefined): string {
  let out = text;
  if (secret && secret.length >= MIN_SECRET_LENGTH) out = out.split(secret).join(REDACTED);
  return out.replace(BEARER_TOKEN, `$1${REDACTED}`).replace(API_KEY_QUERY, `$1${REDACTED}`);
}
