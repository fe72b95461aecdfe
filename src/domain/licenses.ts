/** The parts of Partner Center's subscribedskus items the snapshot needs. */
export interface SubscribedSkuCounts {
  activeUnits: number;
  consumedUnits: number;
  suspendedUnits?: number;
  warningUnits?: number;
  productSku: { id: string; skuPartNumber: string };
}

/** A subscription whose Entra SKU is resolved (through its provisioning status). */
export interface ResolvedSubscription {
  skuId: string;
  quantity: number;
  status: string;
  offerName?: string | null;
}

export interface LicenseSnapshot {
  skuId: string;
  skuPartNumber: string;
  activeUnits: number;
  consumedUnits: number;
  suspendedUnits: number;
  warningUnits: number;
  /** Sum of the active subscriptions of this SKU, whatever their term (P1M, P1Y, P3Y). */
  billedQuantity: number;
}

/**
 * One snapshot per SKU: unit counts from subscribedskus, billed quantity from the active
 * subscriptions of that SKU (suspended, disabled, expired, deleted and pending ones are not
 * billed). An active subscription of a SKU subscribedskus does not list still gets a snapshot,
 * with no units and its offer name for a part number: billed seats never vanish.
 */
export function licenseSnapshots(
  skus: SubscribedSkuCounts[],
  subscriptions: ResolvedSubscription[],
): LicenseSnapshot[] {
  const billed = new Map<string, { quantity: number; offerName: string }>();
  for (const s of subscriptions) {
    if (s.status !== 'active') continue;
    const key = s.skuId.toLowerCase();
    const entry = billed.get(key) ?? { quantity: 0, offerName: s.offerName ?? '' };
    entry.quantity += s.quantity;
    billed.set(key, entry);
  }
  const snapshots = skus.map((sku) => ({
    skuId: sku.productSku.id.toLowerCase(),
    skuPartNumber: sku.productSku.skuPartNumber,
    activeUnits: sku.activeUnits,
    consumedUnits: sku.consumedUnits,
    suspendedUnits: sku.suspendedUnits ?? 0,
    warningUnits: sku.warningUnits ?? 0,
    billedQuantity: billed.get(sku.productSku.id.toLowerCase())?.quantity ?? 0,
  }));
  const listed = new Set(snapshots.map((s) => s.skuId));
  for (const [skuId, { quantity, offerName }] of billed) {
    if (listed.has(skuId)) continue;
    snapshots.push({
      skuId,
      skuPartNumber: offerName,
      activeUnits: 0,
      consumedUnits: 0,
      suspendedUnits: 0,
      warningUnits: 0,
      billedQuantity: quantity,
    });
  }
  return snapshots;
}
