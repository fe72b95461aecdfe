/** The domain part of a user principal name, lower-cased; undefined when there is none. */
export function domainOf(upn: string): string | undefined {
  const at = upn.lastIndexOf('@');
  if (at <= 0) return undefined;
  const domain = upn
    .slice(at + 1)
    .trim()
    .toLowerCase();
  return domain === '' ? undefined : domain;
}

/**
 * The replacement rule: two accounts match when their whole domains are equal, ignoring
 * case. sync@s365l.com matches anyone@S365L.com; mail.s365l.com and evils365l.com do not, and
 * an account without a domain matches none.
 */
export function sameDomain(a: string, b: string): boolean {
  const da = domainOf(a);
  return da !== undefined && da === domainOf(b);
}
