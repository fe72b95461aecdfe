// Product names of Microsoft SKUs, and which SKUs cost nothing (free or trial), from Microsoft's
// SKU reference (microsoft-sku-reference.ts, `npm run skus:update`). Pure: no store, no I/O.
import { microsoftSkuReference } from './microsoft-sku-reference.js';

/** paid: billed; free: a free plan (FLOW_FREE, POWER_BI_STANDARD); trial: a trial or viral plan. */
export type SkuPricing = 'paid' | 'free' | 'trial';

export interface SkuProduct {
  /** Microsoft's product name; the part number (or the SKU id) when the SKU is not known. */
  productName: string;
  pricing: SkuPricing;
  /** Whether Microsoft's reference lists the SKU. */
  known: boolean;
}

const byId = new Map(microsoftSkuReference.map((r) => [r[1], r] as const));
const byPartNumber = new Map(microsoftSkuReference.map((r) => [r[0].toLowerCase(), r] as const));

// Microsoft's own markers: "Trial", "vTrial", "Viral" (self-service trials) and "_IW" (trials
// for information workers) in names and part numbers; "free" and developer plans cost nothing.
const trialMarker = /trial|viral|(^|_)iw(_sku)?$/i;
const freeMarker = /(^|[\s_(])free([\s_)]|$)|developer|(^|_)dev(_|$)/i;

/** Whether a SKU is billed, free or a trial, from its part number and name. */
export function skuPricing(skuPartNumber: string, productName = ''): SkuPricing {
  if (trialMarker.test(skuPartNumber) || trialMarker.test(productName)) return 'trial';
  if (freeMarker.test(skuPartNumber) || freeMarker.test(productName)) return 'free';
  return 'paid';
}

/**
 * The product a SKU is, by SKU id first and part number next (either may be missing). An
 * unknown SKU is named by its part number and judged free or trial by its part number alone.
 */
export function skuProduct(skuId: string | null, skuPartNumber: string | null): SkuProduct {
  const found =
    (skuId ? byId.get(skuId.toLowerCase()) : undefined) ??
    (skuPartNumber ? byPartNumber.get(skuPartNumber.toLowerCase()) : undefined);
  if (found) return { productName: found[2], pricing: skuPricing(found[0], found[2]), known: true };
  const part = skuPartNumber || skuId || '';
  return { productName: part, pricing: skuPricing(part), known: false };
}

/** Whether a SKU's seats count in billed totals: paid ones always, free and trial on request. */
export function countsInBilledTotals(pricing: SkuPricing, includeFreeSkus: boolean): boolean {
  return pricing === 'paid' || includeFreeSkus;
}
