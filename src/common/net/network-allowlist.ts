import { BlockList } from 'node:net';
import { parseAddress } from './ip-address';

/**
 * An operator's list of where outbound connections may go (e.g. LOCAL_WORKER_ALLOWED_NETWORKS): CIDRs
 * (`192.168.1.0/24`, `fd00::/8`), single addresses (`10.0.0.5`, `::1`) and host names (`gpu-box.lan`).
 * A host name entry allows that name whatever it resolves to (the always-refused addresses still apply);
 * an address is allowed when it lies in one of the networks.
 */
export class NetworkAllowlist {
  private readonly networks = new BlockList();
  private readonly hostNames = new Set<string>();

  /** @throws Error naming the first entry that is neither a CIDR, an address nor a host name. */
  constructor(readonly entries: readonly string[]) {
    for (const entry of entries) this.add(entry.trim());
  }

  get isEmpty(): boolean {
    return this.entries.length === 0;
  }

  allowsHostName(hostName: string): boolean {
    return this.hostNames.has(normalizeHostName(hostName));
  }

  /** `address` must be a canonical IP (see parseAddress); an IPv4-mapped IPv6 address matches IPv4 networks. */
  allowsAddress(address: string): boolean {
    const parsed = parseAddress(address);
    if (!parsed) return false;
    if (this.networks.check(parsed.address, parsed.family)) return true;
    return parsed.embeddedIpv4 !== undefined && this.networks.check(parsed.embeddedIpv4, 'ipv4');
  }

  private add(entry: string): void {
    const slash = entry.indexOf('/');
    if (slash >= 0) {
      const base = parseAddress(entry.slice(0, slash));
      const prefixText = entry.slice(slash + 1);
      const max = base?.family === 'ipv4' ? 32 : 128;
      if (!base || !/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max)
        throw new Error(`"${entry}" is not a valid CIDR (e.g. 192.168.1.0/24 or fd00::/8)`);
      this.networks.addSubnet(base.address, Number(prefixText), base.family);
      return;
    }
    const address = parseAddress(entry);
    if (address) {
      this.networks.addAddress(address.address, address.family);
      return;
    }
    const hostName = normalizeHostName(entry);
    if (!/^[a-z0-9]([a-z0-9_-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9_-]*[a-z0-9])?)*$/.test(hostName))
      throw new Error(`"${entry}" is neither a CIDR, an IP address nor a host name`);
    // A name that URL parsing turns into an address (e.g. "2852039166") is that address.
    const canonical = canonicalHost(hostName);
    const asAddress = canonical ? parseAddress(canonical) : undefined;
    if (asAddress) this.networks.addAddress(asAddress.address, asAddress.family);
    else this.hostNames.add(canonical ?? hostName);
  }
}

function normalizeHostName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The host as URL parsing writes it (punycode, numeric IPv4 forms expanded), or undefined if it is no host. */
function canonicalHost(name: string): string | undefined {
  try {
    return new URL(`http://${name}/`).hostname;
  } catch {
    return undefined;
  }
}
