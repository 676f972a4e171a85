import { BlockList, type LookupFunction } from 'node:net';
import { lookup as dnsLookup } from 'node:dns/promises';
import { parseAddress, type ParsedAddress } from './ip-address';
import { type NetworkAllowlist } from './network-allowlist';
import { makeRoomFor } from '../bounded-map';

/** One answer of the resolver. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (default: the system resolver, as node:net would use). */
export type HostResolver = (hostName: string) => Promise<ResolvedAddress[]>;

export interface OutboundAddressRules {
  /** URL schemes allowed, with the colon. Default `['http:', 'https:']`. */
  protocols?: readonly string[];
  /**
   * Loopback (127.0.0.0/8, ::1), private (10/8, 172.16/12, 192.168/16, fc00::/7) and shared (100.64/10, where
   * e.g. Tailscale lives) addresses. Default true: local ComfyUI servers live there.
   */
  allowPrivateNetworks?: boolean;
  /** When not empty, only these networks and host names (always-refused addresses stay refused). */
  allowlist?: NetworkAllowlist;
  /** Where the allowlist comes from, named in refusals (e.g. `LOCAL_WORKER_ALLOWED_NETWORKS`). */
  allowlistName?: string;
  resolve?: HostResolver;
}

/** An outbound URL or address is refused by the rules. `code` lets transports recognise it. */
export class OutboundAddressError extends Error {
  readonly code = 'ERR_OUTBOUND_ADDRESS_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'OutboundAddressError';
  }
}

/**
 * Never contacted, whatever the configuration: a request forged to these reaches cloud metadata services
 * (instance credentials) or no real server at all.
 */
const ALWAYS_REFUSED: Array<[string, number, 'ipv4' | 'ipv6', string]> = [
  ['0.0.0.0', 8, 'ipv4', '"this network" (0.0.0.0/8 reaches the local host)'],
  ['169.254.0.0', 16, 'ipv4', 'link-local (169.254.0.0/16, where cloud metadata services answer)'],
  ['100.100.100.200', 32, 'ipv4', 'a cloud metadata address (Alibaba Cloud)'],
  ['168.63.129.16', 32, 'ipv4', 'a cloud metadata address (Azure WireServer)'],
  ['224.0.0.0', 4, 'ipv4', 'multicast'],
  ['240.0.0.0', 4, 'ipv4', 'reserved or broadcast (240.0.0.0/4)'],
  ['::', 128, 'ipv6', 'the unspecified address'],
  ['fe80::', 10, 'ipv6', 'link-local (fe80::/10)'],
  ['fd00:ec2::254', 128, 'ipv6', 'a cloud metadata address (AWS IPv6)'],
  ['ff00::', 8, 'ipv6', 'multicast'],
];

const PRIVATE: Array<[string, number, 'ipv4' | 'ipv6']> = [
  ['127.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
];

const privateNetworks = new BlockList();
for (const [network, prefix, family] of PRIVATE) privateNetworks.addSubnet(network, prefix, family);

const defaultResolver: HostResolver = async (hostName) =>
  (await dnsLookup(hostName, { all: true, verbatim: true })).map((answer) => ({
    address: answer.address,
    family: answer.family === 6 ? 6 : 4,
  }));

/**
 * The one address-rule check every outbound URL goes through (local workers, ComfyUI connections, serverless
 * `s3_url` outputs; webhooks later). Two halves, both needed:
 * - `checkUrl()` before connecting: scheme, no credentials, and the address when the host is a literal IP
 *   (node:net does not call `lookup` for those);
 * - `lookup`, given to node:http/https/net/tls or `ws` as the connection's `lookup` option: the host name is
 *   resolved there and every address it resolves to is checked, so the address checked is the address the
 *   socket connects to. A name that resolves to a safe address when checked and to 169.254.169.254 when
 *   connecting (DNS rebinding) is refused at connect time.
 */
export class OutboundAddressPolicy {
  private readonly protocols: readonly string[];
  private readonly allowPrivateNetworks: boolean;
  private readonly allowlist?: NetworkAllowlist;
  private readonly allowlistName: string;
  private readonly resolve: HostResolver;

  constructor(rules: OutboundAddressRules = {}) {
    this.protocols = rules.protocols ?? ['http:', 'https:'];
    this.allowPrivateNetworks = rules.allowPrivateNetworks ?? true;
    this.allowlist = rules.allowlist && !rules.allowlist.isEmpty ? rules.allowlist : undefined;
    this.allowlistName = rules.allowlistName ?? 'the allowed networks';
    this.resolve = rules.resolve ?? defaultResolver;
  }

  /**
   * The checks that need no resolver. Returns the parsed URL (its host normalised by URL parsing, so
   * `http://2852039166/` is checked as 169.254.169.254).
   * @throws OutboundAddressError (the message never repeats credentials or a query string).
   */
  checkUrl(url: string | URL): URL {
    let parsed: URL;
    try {
      parsed = typeof url === 'string' ? new URL(url) : url;
    } catch {
      throw new OutboundAddressError('is not a valid absolute URL');
    }
    if (!this.protocols.includes(parsed.protocol)) {
      const allowed = this.protocols.map((p) => p.replace(':', '')).join(' or ');
      throw new OutboundAddressError(`uses ${parsed.protocol.replace(':', '')}; only ${allowed} is allowed`);
    }
    if (parsed.username || parsed.password)
      throw new OutboundAddressError('must not contain credentials (user:password@)');
    if (!parsed.hostname) throw new OutboundAddressError('has no host');
    const address = parseAddress(parsed.hostname);
    if (address) {
      const refusal = this.refusalFor(address, undefined);
      if (refusal) throw new OutboundAddressError(`host ${parsed.hostname} ${refusal}`);
    }
    return parsed;
  }

  /**
   * `checkUrl`, then resolves the host name now and checks every address it has (for validating a URL when
   * it is registered; connections check again in `lookup`).
   * @throws OutboundAddressError, also when the name does not resolve.
   */
  async checkUrlResolved(url: string | URL): Promise<URL> {
    const parsed = this.checkUrl(url);
    if (!parseAddress(parsed.hostname)) await this.resolveChecked(parsed.hostname);
    return parsed;
  }

  /** Why `address` (reached as `hostName`, when it is a name) may not be contacted; undefined when it may. */
  refusalForAddress(address: string, hostName?: string): string | undefined {
    const parsed = parseAddress(address);
    if (!parsed) return `${address} is not an IP address`;
    return this.refusalFor(parsed, hostName);
  }

  /**
   * Resolves `hostName` and returns its addresses once every one of them passed: a name with one address in a
   * refused range is refused as a whole (an attacker's DNS answer has no business listing one).
   * @throws OutboundAddressError
   */
  async resolveChecked(hostName: string, family?: 4 | 6): Promise<ResolvedAddress[]> {
    const literal = parseAddress(hostName);
    let answers: ResolvedAddress[];
    if (literal) {
      answers = [{ address: literal.address, family: literal.family === 'ipv4' ? 4 : 6 }];
    } else {
      try {
        answers = await this.resolve(hostName);
      } catch (error) {
        const code = (error as { code?: string }).code;
        throw new OutboundAddressError(`host ${hostName} did not resolve${code ? ` (${code})` : ''}`);
      }
    }
    if (answers.length === 0) throw new OutboundAddressError(`host ${hostName} did not resolve`);
    for (const answer of answers) {
      const refusal = this.refusalForAddress(answer.address, literal ? undefined : hostName);
      if (refusal) {
        const shown = literal ? hostName : `${hostName} (${answer.address})`;
        throw new OutboundAddressError(`${shown} ${refusal}`);
      }
    }
    const wanted = family ? answers.filter((answer) => answer.family === family) : answers;
    if (wanted.length === 0) throw new OutboundAddressError(`host ${hostName} has no IPv${family} address`);
    return wanted;
  }

  /** For the `lookup` option of node:net/http/https/tls and `ws`. Fails the connection with OutboundAddressError. */
  readonly lookup: LookupFunction = (hostName, options, callback) => {
    const requested = typeof options === 'number' ? options : options?.family;
    const family =
      requested === 4 || requested === 'IPv4' ? 4 : requested === 6 || requested === 'IPv6' ? 6 : undefined;
    const all = typeof options === 'object' && options !== null && options.all === true;
    this.resolveChecked(hostName, family).then(
      (addresses) => {
        if (all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (error: OutboundAddressError) => callback(error as NodeJS.ErrnoException, '', 0),
    );
  };

  /**
   * Verdicts by address and host name: the rules of one policy never change, and a service checks the same few
   * addresses (its workers) on every connection and client it makes (about 60 µs each, a few percent of running
   * a job). '' = allowed.
   */
  private readonly verdicts = new Map<string, string>();

  private refusalFor(address: ParsedAddress, hostName: string | undefined): string | undefined {
    const key = `${address.address}\u0000${address.embeddedIpv4 ?? ''}\u0000${hostName ?? ''}`;
    let verdict = this.verdicts.get(key);
    if (verdict === undefined) {
      verdict = this.decide(address, hostName) ?? '';
      makeRoomFor(this.verdicts, MAX_VERDICTS_KEPT);
      this.verdicts.set(key, verdict);
    }
    return verdict === '' ? undefined : verdict;
  }

  private decide(address: ParsedAddress, hostName: string | undefined): string | undefined {
    const target = address.embeddedIpv4 ? parseAddress(address.embeddedIpv4)! : address;
    const range = ALWAYS_REFUSED.find(([network, prefix, family]) =>
      matches(target, network, prefix, family),
    );
    if (range) return `is ${range[3]}, which is never contacted`;
    if (!this.allowPrivateNetworks && privateNetworks.check(target.address, target.family))
      return 'is a loopback or private address, which is not allowed here';
    if (this.allowlist) {
      const named = hostName !== undefined && this.allowlist.allowsHostName(hostName);
      if (!named && !this.allowlist.allowsAddress(address.address)) return `is outside ${this.allowlistName}`;
    }
    return undefined;
  }
}

/** Distinct (address, host name) verdicts a policy keeps; DNS answers for many names could otherwise grow it. */
const MAX_VERDICTS_KEPT = 1024;

const rangeLists = new Map<string, BlockList>();
function matches(address: ParsedAddress, network: string, prefix: number, family: 'ipv4' | 'ipv6'): boolean {
  if (address.family !== family) return false;
  const key = `${network}/${prefix}`;
  let list = rangeLists.get(key);
  if (!list) {
    list = new BlockList();
    list.addSubnet(network, prefix, family);
    rangeLists.set(key, list);
  }
  return list.check(address.address, family);
}
