import { isIP } from 'node:net';
import { ConfigError, type Env, readOptionalString } from './env-parsers';

/** Express's names for address ranges (proxy-addr). */
const NAMED_RANGES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * TRUST_PROXY: which reverse proxies may tell the service a client's address (`X-Forwarded-For`). The
 * per-address rate limits count by that address. Unset: no proxy is trusted; the socket's address counts and
 * `X-Forwarded-For` is ignored. A whole number: that many proxy hops in front of the service. Otherwise a list
 * of proxy addresses, CIDRs or Express's names (loopback, linklocal, uniquelocal). `true` (trust anyone) is
 * refused: any client could then name its own address in the header and never meet a limit.
 */
export function readTrustProxy(env: Env): number | string[] | undefined {
  const value = readOptionalString(env, 'TRUST_PROXY');
  if (value === undefined) return undefined;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    if (hops < 1 || hops > 10) throw new ConfigError('TRUST_PROXY', 'as a hop count must be 1-10');
    return hops;
  }
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  for (const entry of entries) {
    if (NAMED_RANGES.includes(entry)) continue;
    const [address, prefix, ...rest] = entry.split('/');
    const version = isIP(address);
    const maxPrefix = version === 6 ? 128 : 32;
    const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= maxPrefix);
    if (version === 0 || !prefixOk || rest.length > 0) {
      throw new ConfigError(
        'TRUST_PROXY',
        `entry "${entry}" is not an address, a CIDR, a hop count or one of ${NAMED_RANGES.join(', ')} ` +
          '(trusting every proxy is refused: a client could then choose its own address)',
      );
    }
  }
  return entries;
}
