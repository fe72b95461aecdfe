import type { PsaBillingLine } from '../client.js';
import type { HaloLicenceLinkJson, HaloLineJson } from './wire.js';

// What a recurring invoice line bills. A plain line bills its qty_order; a licence-linked line
// (quantity_licences[] not empty) bills its SoftwareLicences' count instead, less each link's
// qty_free and at least its minimum_qty, which is how Halo computes it when it invoices.

export const licenceLinks = (line: HaloLineJson): HaloLicenceLinkJson[] =>
  (line.quantity_licences ?? []).filter((l) => typeof l.licence_id === 'number');

/** Billed quantity; `countOf` gives a licence's count (the caller has read them). */
export function billedQuantity(line: HaloLineJson, countOf: (licenceId: number) => number): number {
  const links = licenceLinks(line);
  if (links.length === 0) return line.qty_order ?? 0;
  return links.reduce(
    (sum, link) =>
      sum + Math.max(link.minimum_qty ?? 0, countOf(link.licence_id!) - (link.qty_free ?? 0)),
    0,
  );
}

/** YYYY-MM-DD of an instant, UTC. */
export const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Inactive, or its end date (the day billing stops) reached. */
export function lineEnded(line: HaloLineJson, today: string): boolean {
  if (line.isinactive) return true;
  return typeof line.enddate === 'string' && line.enddate.slice(0, 10) <= today;
}

export function toBillingLine(
  line: HaloLineJson,
  companyId: string,
  containerId: number,
  today: string,
  countOf: (licenceId: number) => number,
): PsaBillingLine | undefined {
  // A text-only line bills no catalogue item: nothing the sync can map to a product.
  if (typeof line._itemid !== 'number') return undefined;
  return {
    id: String(line.id),
    companyId,
    containerId: String(containerId),
    productId: String(line._itemid),
    productName: line.item_shortdescription ?? '',
    quantity: billedQuantity(line, countOf),
    cancelled: lineEnded(line, today),
  };
}
