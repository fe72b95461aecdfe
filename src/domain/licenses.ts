/** The parts of Partner Center's subscribedskus items the snapshot needs. */
export interface SubscribedSkuCounts {
  activeUnits: number;
  consumedUnits: number;
  suspendedUnits?: number;
  warningUnits?: number;
  productSku: { id: string; skuPartNumber: string };
}

export interface SubscriptionQuantity {
  offerId: string;
  quantity: number;
  status: string;
}

export interface LicenseSnapshot {
  skuId: string;
  skuPartNumber: string;
  activeUnits: number;
  consumedUnits: number;
  suspendedUnits: number;
  warningUnits: number;
  /** Sum of the active subscriptions of this SKU, monthly and yearly terms alike. */
  billedQuantity: number;
}

/**
 * One snapshot per SKU: unit counts from subscribedskus, billed quantity from the active
 * subscriptions whose offer is that SKU.
 */
export function licenseSnapshots(
  skus: SubscribedSkuCounts[],
  subscriptions: SubscriptionQuantity[],
): LicenseSnapshot[] {
  const billed = new Map<string, number>();
  for (const s of subscriptions) {
    if (s.status !== 'active') continue;
    const key = s.offerId.toLowerCase();
    billed.set(key, (billed.get(key) ?? 0) + s.quantity);
  }
  return skus.map((sku) => ({
    skuId: sku.productSku.id.toLowerCase(),
    skuPartNumber: sku.productSku.skuPartNumber,
    activeUnits: sku.activeUnits,
    consumedUnits: sku.consumedUnits,
    suspendedUnits: sku.suspendedUnits ?? 0,
    warningUnits: sku.warningUnits ?? 0,
    billedQuantity: billed.get(sku.productSku.id.toLowerCase()) ?? 0,
  }));
}
