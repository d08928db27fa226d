import ipaddr from 'ipaddr.js';

/**
 * The key a per-client-address limit counts under. An IPv6 client usually holds a whole /64
 * (one per home or VM), so limits keyed on the full address would let it rotate through
 * 2^64 fresh keys: IPv6 addresses count by their /64, IPv4 by the address, and an IPv4-mapped
 * IPv6 address in any spelling (`::ffff:1.2.3.4`, `::ffff:102:304`) as the IPv4 it carries.
 * Parsed with ipaddr.js rather than by hand: the spellings of IPv6 are many.
 */
export function rateLimitKeyOfIp(ip: string): string {
  const [bare = ''] = ip.split('%'); // a zone id names an interface, not another client
  if (!ipaddr.isValid(bare)) return ip;
  const address = ipaddr.process(bare);
  if (address.kind() === 'ipv4') return address.toString();
  const prefix = (address as ipaddr.IPv6).parts.slice(0, 4).map((part) => part.toString(16));
  return `${prefix.join(':')}::/64`;
}
