import { createHash, randomBytes } from 'node:crypto';

/** Prefix of an enrolment token: recognisable in a config file or a leak report, and routed by the guard. */
export const ENROLMENT_TOKEN_PREFIX = 'cwe_';
/** Prefix of a worker's own key (it may remove its own registration, nothing else). */
export const WORKER_KEY_PREFIX = 'cww_';

/** 256 random bits, URL-safe: no quoting needed in the one-line commands. */
function secret(prefix: string): string {
  return prefix + randomBytes(32).toString('base64url');
}

export const newEnrolmentToken = (): string => secret(ENROLMENT_TOKEN_PREFIX);
export const newWorkerKey = (): string => secret(WORKER_KEY_PREFIX);

/**
 * What is stored and looked up: the hex SHA-256. The secrets are 256 random bits, so a plain hash (no salt, no
 * slow KDF) is enough: nothing can be guessed from it, and a lookup by hash leaks nothing by its timing.
 */
export function secretHash(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
