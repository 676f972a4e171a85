import { isIPv4, isIPv6 } from 'node:net';

/** An IP address as the kernel will see it: its family and canonical text. */
export interface ParsedAddress {
  family: 'ipv4' | 'ipv6';
  /** Dotted quad, or IPv6 without brackets or zone. */
  address: string;
  /**
   * The IPv4 address an IPv6 one carries and that the packet may end up at: IPv4-mapped (::ffff:a.b.c.d,
   * which the kernel sends as IPv4), IPv4-compatible (::a.b.c.d, deprecated) and NAT64 (64:ff9b::/96).
   */
  embeddedIpv4?: string;
}

/**
 * Parses the host of a URL or an answer of the resolver. Brackets (`[::1]`, as URL.hostname gives them) are
 * removed. Only canonical forms are accepted here: URL parsing (WHATWG) has already turned `2852039166`,
 * `0xA9.0xFE.0xA9.0xFE` or `0251.0376.0251.0376` into `169.254.169.254`; a host that still looks like one of
 * those forms is a host NAME, and its resolved address is what gets checked. Returns undefined for a name.
 */
export function parseAddress(host: string): ParsedAddress | undefined {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIPv4(bare)) return { family: 'ipv4', address: bare };
  const withoutZone = bare.split('%')[0];
  if (!isIPv6(withoutZone)) return undefined;
  const bytes = ipv6Bytes(withoutZone);
  return { family: 'ipv6', address: withoutZone.toLowerCase(), embeddedIpv4: embeddedIpv4(bytes) };
}

function embeddedIpv4(bytes: number[]): string | undefined {
  const tail = bytes.slice(12).join('.');
  const zeros = (from: number, to: number) => bytes.slice(from, to).every((b) => b === 0);
  // ::ffff:a.b.c.d (mapped)
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return tail;
  // ::a.b.c.d (compatible), but not :: and ::1, which are IPv6's own unspecified and loopback addresses.
  if (zeros(0, 12) && !(zeros(12, 15) && bytes[15] <= 1)) return tail;
  // 64:ff9b::a.b.c.d (NAT64 well-known prefix, RFC 6052)
  if (bytes[0] === 0x00 && bytes[1] === 0x64 && bytes[2] === 0xff && bytes[3] === 0x9b && zeros(4, 12))
    return tail;
  return undefined;
}

/** The 16 bytes of a valid IPv6 address (checked by the caller), `::` and a dotted IPv4 tail included. */
function ipv6Bytes(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1].split('.').map(Number);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(tail === undefined ? 0 : missing).fill('0'), ...tailGroups];
  return groups.flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
}
