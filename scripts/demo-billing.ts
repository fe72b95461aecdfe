// The demo's PSA: a company per Microsoft customer, billed on one agreement / contract /
// recurring invoice for the customer's active subscriptions, with a few deliberate
// mismatches and one Microsoft product left unmapped, so a new user sees a dry run to approve.
import type { PsaFixture } from '../emulator/psa/fixture.js';
import type { SkuInfo } from '../emulator/skus.js';
import type { JobQueues } from '../src/queue/job-queues.js';
import type { Services } from '../src/dependencies.js';
import { sourceKey } from '../src/domain/billing.js';
import type { PsaKind } from '../src/psa/client.js';
import { saveConnection, testConnection } from '../src/services/psa-connections.js';
import type { Customer } from '../emulator/tenants.js';

export interface DemoBilling {
  fixture: PsaFixture;
  /** PSA product per Microsoft SKU (all but the one left unmapped). */
  mappings: { skuId: string; psaProductId: number }[];
  /** PSA company and container per customer tenant. */
  links: { tenantId: string; psaCompanyId: number; containerId: number }[];
  unmappedSku: string | undefined;
}

/** "Contoso Ltd" is "Contoso" in the PSA for some companies: suggestions match names loosely. */
const psaName = (name: string, i: number) =>
  i % 3 === 1 ? name.replace(/,? (Ltd|Inc\.?|LLC|GmbH)$/, '') : name;

/** Each customer's active, paid seats per SKU. */
function purchasedSeats(customer: Customer) {
  const seats = new Map<string, { sku: SkuInfo; quantity: number }>();
  for (const s of customer.detail().subscriptions) {
    if (s.status !== 'active' || s.isTrial) continue;
    const entry = seats.get(s.sku.skuId) ?? { sku: s.sku, quantity: 0 };
    entry.quantity += s.quantity;
    seats.set(s.sku.skuId, entry);
  }
  return seats;
}

export function demoBilling(customers: Customer[]): DemoBilling {
  const seats = customers.map(purchasedSeats);
  // One PSA product per SKU any customer pays for, in order of first appearance.
  const productOf = new Map<string, number>();
  const products: PsaFixture['products'] = [];
  const companiesWith = new Map<string, number>();
  for (const perSku of seats)
    for (const { sku } of perSku.values()) {
      companiesWith.set(sku.skuId, (companiesWith.get(sku.skuId) ?? 0) + 1);
      if (productOf.has(sku.skuId)) continue;
      const id = 500 + products.length;
      productOf.set(sku.skuId, id);
      products.push({
        id,
        code: sku.skuPartNumber.slice(0, 25),
        name: sku.displayName.slice(0, 60),
      });
    }
  let lineId = 1000;
  const companies: PsaFixture['companies'] = customers.map((customer, i) => ({
    id: i + 1,
    name: psaName(customer.name, i),
    domain: customer.domain,
    containers: [
      {
        id: 101 + i,
        name: `${customer.name} Microsoft 365`.slice(0, 50),
        lines: [...seats[i]!.values()].map(({ sku, quantity }, j) => ({
          id: ++lineId,
          productId: productOf.get(sku.skuId)!,
          // Every fourth company's first line is two seats behind, every seventh's one ahead.
          quantity:
            j === 0 && i % 4 === 0
              ? Math.max(0, quantity - 2)
              : j === 0 && i % 7 === 3
                ? quantity + 1
                : quantity,
        })),
      },
    ],
  }));
  // The SKU fewest companies pay for stays unmapped: the setup page lists it.
  const unmappedSku = [...companiesWith].sort((a, b) => a[1] - b[1])[0]?.[0];
  return {
    fixture: {
      products: [...products, { id: 900, code: 'BACKUP', name: 'Managed Backup' }],
      companies,
    },
    mappings: [...productOf]
      .filter(([skuId]) => skuId !== unmappedSku)
      .map(([skuId, psaProductId]) => ({ skuId, psaProductId })),
    links: customers.map((c, i) => ({
      tenantId: c.tenantId,
      psaCompanyId: i + 1,
      containerId: 101 + i,
    })),
    unmappedSku,
  };
}

/** The demo partner's PSA connection, company links and product mappings, made as a person would. */
export async function seedBilling(
  services: Services & { queues: JobQueues },
  partnerId: string,
  kind: PsaKind,
  fields: Record<string, string>,
  billing: DemoBilling,
): Promise<void> {
  await saveConnection(
    services,
    partnerId,
    { kind, effectiveDatePolicy: 'today', proration: 'prorate', fields },
    'demo',
  );
  await testConnection(services, partnerId);
  const companies = await services.partners.companies(partnerId);
  for (const link of billing.links) {
    const company = companies.find((c) => c.customerTenantId === link.tenantId);
    const psaCompany = billing.fixture.companies.find((c) => c.id === link.psaCompanyId)!;
    if (!company) continue;
    await services.psaConnections.link(
      partnerId,
      {
        companyId: company.id,
        psaCompanyId: String(psaCompany.id),
        psaCompanyName: psaCompany.name,
        containerId: String(link.containerId),
        containerName: psaCompany.containers[0]!.name,
      },
      'demo',
    );
  }
  for (const m of billing.mappings) {
    await services.psaConnections.saveMapping(
      partnerId,
      {
        sourceKey: sourceKey({ kind: 'sku', skuId: m.skuId }),
        psaProductId: String(m.psaProductId),
        psaProductName: billing.fixture.products.find((p) => p.id === m.psaProductId)!.name,
        countBasis: 'purchased',
        applyMode: 'approval',
      },
      'demo',
    );
  }
}
