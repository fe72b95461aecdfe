import {
  basesFor,
  parseSourceKey,
  sourceKey,
  type ApplyMode,
  type BillingSource,
  type CountBasis,
} from '../domain/billing.js';
import { suggestMatch, type MatchSuggestion } from '../domain/psa-matching.js';
import type { PsaClient, PsaCompany } from '../psa/client.js';
import type { CustomLicenseStore } from '../store/custom-licenses.js';
import type { PartnerStore } from '../store/partners.js';
import type { PsaCompanyLink, PsaProductMapping } from '../store/psa-connections.js';
import type { PsaSyncStore } from '../store/psa-sync.js';
import { microsoftCounts } from './billing-reconciliation.js';
import type { PsaDeps } from './psa-connections.js';
import type { RefreshRunStore } from '../store/refresh-runs.js';
import type { CustomerSubscriptionStore } from '../store/customer-subscriptions.js';

export interface MappingDeps extends PsaDeps {
  partners: PartnerStore;
  runs: RefreshRunStore;
  subscriptions: CustomerSubscriptionStore;
  customLicenses: CustomLicenseStore;
}

/** A mapping refused for what it says, with the sentence to show. */
export class MappingRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MappingRefused';
  }
}

export interface CompanyMatchRow {
  companyId: string;
  name: string;
  customerTenantId: string | null;
  domain: string | null;
  link: PsaCompanyLink | null;
  /** Only for companies not linked yet. */
  suggestion: MatchSuggestion | null;
}

/** Every company with its link, or the PSA company it probably is. */
export async function companyMatches(
  deps: MappingDeps,
  partnerId: string,
  client: PsaClient,
): Promise<{ companies: CompanyMatchRow[]; psaCompanies: PsaCompany[] }> {
  const [companies, links, psaCompanies] = await Promise.all([
    deps.partners.companies(partnerId),
    deps.psaConnections.links(partnerId),
    client.listCompanies(),
  ]);
  const linkOf = new Map(links.map((l) => [l.companyId, l]));
  const candidates = psaCompanies.filter((c) => c.active);
  return {
    psaCompanies,
    companies: companies.map((c) => {
      const link = linkOf.get(c.id) ?? null;
      return {
        companyId: c.id,
        name: c.name,
        customerTenantId: c.customerTenantId,
        domain: c.domain,
        link,
        suggestion: link ? null : (suggestMatch(c, candidates) ?? null),
      };
    }),
  };
}

/**
 * Links a company to a PSA company and, optionally, the container it is billed on; both are
 * checked against the PSA so a typo cannot bill the wrong customer.
 */
export async function linkCompany(
  deps: MappingDeps,
  partnerId: string,
  client: PsaClient,
  input: { companyId: string; psaCompanyId: string; containerId?: string | undefined },
  actor: string,
): Promise<PsaCompanyLink> {
  const psaCompany = (await client.listCompanies()).find((c) => c.id === input.psaCompanyId);
  if (!psaCompany) throw new MappingRefused(`The PSA has no company ${input.psaCompanyId}.`);
  let container = null;
  if (input.containerId) {
    container =
      (await client.listContainers(psaCompany.id)).find((c) => c.id === input.containerId) ?? null;
    if (!container)
      throw new MappingRefused(
        `${psaCompany.name} has no agreement, contract or recurring invoice ${input.containerId}.`,
      );
  }
  return deps.psaConnections.link(
    partnerId,
    {
      companyId: input.companyId,
      psaCompanyId: psaCompany.id,
      psaCompanyName: psaCompany.name,
      containerId: container?.id ?? null,
      containerName: container?.name ?? null,
    },
    actor,
  );
}

export interface MicrosoftProduct {
  sourceKey: string;
  source: BillingSource;
  name: string;
  /** The bases a mapping of it may use. */
  bases: CountBasis[];
  /** Companies counting it. */
  companies: number;
}

/** The Microsoft products the partner's companies have, each SKU term, and custom licenses. */
export async function microsoftProducts(
  deps: MappingDeps,
  partnerId: string,
): Promise<MicrosoftProduct[]> {
  const companies = await deps.partners.companies(partnerId);
  const counted = await microsoftCounts(deps, companies);
  const products = new Map<string, MicrosoftProduct>();
  const add = (source: BillingSource, name: string) => {
    const key = sourceKey(source);
    const product = products.get(key) ?? {
      sourceKey: key,
      source,
      name,
      bases: basesFor(source),
      companies: 0,
    };
    product.companies += 1;
    products.set(key, product);
  };
  for (const { counts, names } of counted.values()) {
    const seen = new Set<string>();
    const once = (source: BillingSource, name: string) => {
      const key = sourceKey(source);
      if (!seen.has(key)) add(source, name);
      seen.add(key);
    };
    for (const s of counts.skus)
      once({ kind: 'sku', skuId: s.skuId }, names.get(s.skuId) ?? s.skuPartNumber);
    for (const s of counts.subscriptions) {
      const name = names.get(s.skuId) ?? s.skuId;
      once({ kind: 'sku', skuId: s.skuId }, name);
      if (s.term) once({ kind: 'sku', skuId: s.skuId, term: s.term }, `${name} (${s.term})`);
    }
  }
  const definitions = await deps.customLicenses.definitions(partnerId);
  for (const d of definitions) {
    const key = sourceKey({ kind: 'custom', definitionId: d.id });
    if (!products.has(key))
      products.set(key, {
        sourceKey: key,
        source: { kind: 'custom', definitionId: d.id },
        name: d.name,
        bases: ['custom_count'],
        companies: 0,
      });
  }
  return [...products.values()].sort((a, b) => a.name.localeCompare(b.name));
}

export interface MappableProduct extends MicrosoftProduct {
  /** False: no company's Microsoft counts have it; a mapping or a reconciliation row names it. */
  countedByMicrosoft: boolean;
}

/**
 * Every product the setup page offers to map: the Microsoft products, then those only a
 * mapping or the last reconciliation still names (a SKU Microsoft no longer counts, still
 * billed in the PSA). Any other SKU can be mapped by its id.
 */
export async function mappableProducts(
  deps: MappingDeps & { psaSync: Pick<PsaSyncStore, 'reconciliation'> },
  partnerId: string,
): Promise<MappableProduct[]> {
  const [products, mappings, rows] = await Promise.all([
    microsoftProducts(deps, partnerId),
    deps.psaConnections.mappings(partnerId),
    deps.psaSync.reconciliation(partnerId),
  ]);
  const listed = new Map<string, MappableProduct>(
    products.map((p) => [p.sourceKey, { ...p, countedByMicrosoft: true }]),
  );
  const named = (key: string, name: string) => {
    const source = parseSourceKey(key);
    if (!source || listed.has(key)) return;
    const term = source.kind === 'sku' && source.term ? ` (${source.term})` : '';
    listed.set(key, {
      sourceKey: key,
      source,
      name: name.endsWith(term) ? name : `${name}${term}`,
      bases: basesFor(source),
      companies: 0,
      countedByMicrosoft: false,
    });
  };
  // A reconciliation row knows Microsoft's name; a mapping only the PSA's.
  for (const r of rows) named(r.sourceKey, r.productName);
  for (const m of mappings) named(m.sourceKey, m.psaProductName);
  return [...listed.values()].sort((a, b) => a.name.localeCompare(b.name));
}

/** Maps a Microsoft product to a PSA product; the product must exist in the PSA. */
export async function mapProduct(
  deps: MappingDeps,
  partnerId: string,
  client: PsaClient,
  input: {
    source: BillingSource;
    psaProductId: string;
    countBasis: CountBasis;
    applyMode: ApplyMode;
  },
  actor: string,
): Promise<PsaProductMapping> {
  if (!basesFor(input.source).includes(input.countBasis))
    throw new MappingRefused(
      input.source.kind === 'custom'
        ? 'A custom license bills its own count: choose the basis custom_count.'
        : input.source.kind === 'sku' && input.source.term
          ? 'Seats of one term can only be billed as purchased: Microsoft assigns seats per product, not per term.'
          : 'A Microsoft product bills its purchased or its assigned seats.',
    );
  if (
    input.source.kind === 'custom' &&
    !(await deps.customLicenses.definition(partnerId, input.source.definitionId))
  )
    throw new MappingRefused(`No custom license ${input.source.definitionId}.`);
  const product = (await client.listProducts()).find((p) => p.id === input.psaProductId);
  if (!product) throw new MappingRefused(`The PSA has no product ${input.psaProductId}.`);
  return deps.psaConnections.saveMapping(
    partnerId,
    {
      sourceKey: sourceKey(input.source),
      psaProductId: product.id,
      psaProductName: product.name,
      countBasis: input.countBasis,
      applyMode: input.applyMode,
    },
    actor,
  );
}

/** Products and companies not mapped yet: the page lists them, alerts will too. */
export async function unmapped(deps: MappingDeps, partnerId: string) {
  const [products, mappings, companies, links] = await Promise.all([
    microsoftProducts(deps, partnerId),
    deps.psaConnections.mappings(partnerId),
    deps.partners.companies(partnerId),
    deps.psaConnections.links(partnerId),
  ]);
  const mapped = new Set(mappings.map((m) => m.sourceKey));
  // Terms are listed as products one may map apart; left alone, the whole SKU bills them.
  const wholeOrCustom = (p: MicrosoftProduct) => p.source.kind === 'custom' || !p.source.term;
  const linked = new Set(links.map((l) => l.companyId));
  return {
    products: products.filter((p) => wholeOrCustom(p) && !mapped.has(p.sourceKey)),
    companies: companies
      .filter((c) => !linked.has(c.id))
      .map((c) => ({ companyId: c.id, name: c.name })),
  };
}
