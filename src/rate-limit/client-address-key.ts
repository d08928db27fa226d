/**
 * The key a per-client-address limit counts under. An IPv6 client usually holds a whole /64
 * (one per home or VM), so limits keyed on the full address would let it rotate through
 * 2^64 fresh keys: IPv6 addresses count by their /64, IPv4 (and IPv4-mapped) by the address.
 */
export function rateLimitKeyOfIp(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1]!;
  if (!ip.includes(':')) return ip;
  const [head = '', tail = ''] = ip.split('%')[0]!.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = ip.includes('::')
    ? [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
