// Which PSA company a Microsoft customer probably is: suggested, never linked without a person.

export interface MatchableCompany {
  name: string;
  domain: string | null;
  customerTenantId: string | null;
}

export interface MatchCandidate {
  id: string;
  name: string;
  domains: string[];
  tenantIds?: string[];
}

type MatchReason = 'tenant' | 'domain' | 'name' | 'similar_name';

export interface MatchSuggestion {
  candidateId: string;
  candidateName: string;
  reason: MatchReason;
  /** 0..1: tenant 1, domain 0.9, same name 0.8, similar names up to 0.6. */
  score: number;
}

// Words that say what kind of company it is, not which one.
const legalForms = new Set([
  'ltd',
  'limited',
  'inc',
  'incorporated',
  'llc',
  'llp',
  'plc',
  'corp',
  'corporation',
  'co',
  'company',
  'gmbh',
  'ag',
  'sa',
  'sas',
  'sarl',
  'bv',
  'nv',
  'pty',
  'srl',
  'spa',
  'ab',
  'as',
  'oy',
  'kg',
  'the',
  'group',
  'holdings',
]);

/** A company name as comparable words: lower case, accents and legal forms removed. */
export function nameWords(name: string): string[] {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w.length > 0 && !legalForms.has(w));
}

/** A host or e-mail domain reduced to its name: "www.Contoso.com/" → "contoso.com". */
export function bareDomain(value: string): string {
  return value
    .trim()
    .toLowerCase()
    .replace(/^[a-z]+:\/\//, '')
    .replace(/^www\./, '')
    .replace(/[/:].*$/, '')
    .replace(/\.$/, '');
}

function similarity(a: string[], b: string[]): number {
  if (a.length === 0 || b.length === 0) return 0;
  const left = new Set(a);
  const right = new Set(b);
  let shared = 0;
  for (const w of left) if (right.has(w)) shared += 1;
  return shared / (left.size + right.size - shared);
}

/**
 * The best PSA company for a Microsoft customer, or undefined when none is close enough
 * (similar names need half their words in common). Ties go to the first candidate listed.
 */
export function suggestMatch(
  company: MatchableCompany,
  candidates: MatchCandidate[],
): MatchSuggestion | undefined {
  const tenant = company.customerTenantId?.toLowerCase();
  const domain = company.domain ? bareDomain(company.domain) : undefined;
  const words = nameWords(company.name);
  let best: MatchSuggestion | undefined;
  for (const c of candidates) {
    let reason: MatchReason | undefined;
    let score = 0;
    if (tenant && c.tenantIds?.some((t) => t.toLowerCase() === tenant)) {
      reason = 'tenant';
      score = 1;
    } else if (domain && c.domains.some((d) => bareDomain(d) === domain)) {
      reason = 'domain';
      score = 0.9;
    } else {
      const s = similarity(words, nameWords(c.name));
      if (s === 1) {
        reason = 'name';
        score = 0.8;
      } else if (s >= 0.5) {
        reason = 'similar_name';
        score = 0.6 * s;
      }
    }
    if (reason && (!best || score > best.score))
      best = { candidateId: c.id, candidateName: c.name, reason, score };
  }
  return best;
}
