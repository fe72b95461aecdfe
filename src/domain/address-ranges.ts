import ipaddr from 'ipaddr.js';

/**
 * Why an address may not receive webhooks: it is not a public unicast address. The names are
 * ipaddr.js's ranges (loopback, private, linkLocal, uniqueLocal, carrierGradeNat, multicast,
 * unspecified, broadcast, reserved, and the IPv6 translation ranges that can hide any of them).
 */
export type AddressRefusal = { refused: string } | { refused: null };

/** The words a person reads for a refused range. */
const rangeWords: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  linkLocal: 'a link-local address (cloud metadata lives there)',
  uniqueLocal: 'a unique-local IPv6 address',
  carrierGradeNat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  unspecified: 'the unspecified address',
  broadcast: 'the broadcast address',
};

/**
 * Classifies an IP address for outbound webhooks: `refused: null` for a public unicast
 * address, else the sentence's words for what it is. An IPv4-mapped IPv6 address is judged as
 * the IPv4 address it carries; anything that does not parse is refused.
 */
export function classifyWebhookAddress(address: string): AddressRefusal {
  if (!ipaddr.isValid(address)) return { refused: 'not an IP address' };
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) {
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  }
  const range = parsed.range();
  if (range === 'unicast') return { refused: null };
  return { refused: rangeWords[range] ?? `a reserved address (${range})` };
}
