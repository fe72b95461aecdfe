import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

/** One Microsoft licensing product (from Microsoft's published service-plan reference). */
export interface SkuInfo {
  skuPartNumber: string;
  skuId: string;
  displayName: string;
  servicePlanCount: number;
  includesExchangeMailbox: boolean;
}

let catalog: Map<string, SkuInfo> | undefined;

/** The SKU catalog by part number (emulator/data/microsoft-skus.csv). */
function skuCatalog(): Map<string, SkuInfo> {
  if (catalog) return catalog;
  const text = readFileSync(new URL('./data/microsoft-skus.csv', import.meta.url), 'utf8');
  catalog = new Map();
  for (const line of text.split('\n').slice(1)) {
    if (!line.trim()) continue;
    // Only the display name may contain commas (then it is quoted): split from both ends.
    const parts = line.trim().split(',');
    const skuPartNumber = parts[0]!;
    const skuId = parts[1]!;
    const includes = parts[parts.length - 1]!.trim();
    const count = Number(parts[parts.length - 2]);
    const displayName = parts
      .slice(2, parts.length - 2)
      .join(',')
      .replace(/^"(.*)"$/, '$1');
    catalog.set(skuPartNumber, {
      skuPartNumber,
      skuId,
      displayName,
      servicePlanCount: count,
      includesExchangeMailbox: includes === 'yes',
    });
  }
  return catalog;
}

export function skuByPartNumber(partNumber: string): SkuInfo {
  const sku = skuCatalog().get(partNumber);
  if (!sku) throw new Error(`unknown SKU part number ${partNumber}`);
  return sku;
}

/** SKUs the generator assigns: common business plans, some with a mailbox, some add-ons. */
export const commonSkus = [
  'O365_BUSINESS_PREMIUM',
  'O365_BUSINESS_ESSENTIALS',
  'SPB',
  'SPE_E3',
  'SPE_E5',
  'ENTERPRISEPACK',
  'STANDARDPACK',
  'EXCHANGESTANDARD',
  'O365_BUSINESS',
  'EMS',
  'POWER_BI_PRO',
  'VISIOCLIENT',
  'PROJECTPROFESSIONAL',
  'ATP_ENTERPRISE',
  'SPE_F1',
] as const;

const catalogAlphabet = '0123456789BCDFGHJKLMNPQRSTVWXZ';

/** Twelve-character catalog id in Partner Center's CFQ7TTC0xxxx form, stable per input. */
function catalogId(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('|')).digest();
  let tail = '';
  for (let i = 0; i < 4; i++) tail += catalogAlphabet[h[i]! % catalogAlphabet.length];
  return `CFQ7TTC0${tail}`;
}

/** Product ids Microsoft publishes in its documentation; the others are made up, stably. */
const knownProductIds: Record<string, string> = {
  // Microsoft 365 Business Basic, learn.microsoft.com partner-center/developer (NCE examples).
  O365_BUSINESS_ESSENTIALS: 'CFQ7TTC0LH18',
};

/** The new-commerce catalog item of a SKU: product, SKU within the product, availability. */
export function nceCatalogItem(
  sku: SkuInfo,
  termDuration: string,
  billingCycle: string,
): { productId: string; skuId: string; availabilityId: string } {
  const productId = knownProductIds[sku.skuPartNumber] ?? catalogId('product', sku.skuPartNumber);
  return {
    productId,
    skuId: '0001',
    availabilityId: catalogId('availability', productId, termDuration, billingCycle),
  };
}

/** A legacy license-based offer id: a GUID of the offer, not the SKU's id. */
export function legacyOfferId(sku: SkuInfo): string {
  const h = createHash('sha256').update(`legacy-offer|${sku.skuPartNumber}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`.toUpperCase();
}
