import type { Customer, Partner, Subscription, TermDuration } from './tenants.js';
import { legacyOfferId, nceCatalogItem } from './skus.js';

const termMonths: Record<TermDuration, number> = { P1M: 1, P1Y: 12, P3Y: 36 };
const dayMs = 86_400_000;

function addMonths(date: Date, months: number): Date {
  const next = new Date(date);
  next.setUTCMonth(next.getUTCMonth() + months);
  return next;
}

/**
 * The subscription's current term at `now`: terms follow one another from the creation date;
 * an expired or deleted subscription keeps the last term that ended (or its first).
 */
function currentTerm(s: Subscription, now: number): { start: Date; end: Date } {
  const months = termMonths[s.termDuration];
  let start = new Date(s.creationDate);
  const ended = s.status === 'expired' || s.status === 'deleted';
  for (let n = 1; n < 10_000; n++) {
    const next = addMonths(new Date(s.creationDate), months * n);
    if (ended ? addMonths(next, months).getTime() > now : next.getTime() > now) break;
    start = next;
  }
  return { start, end: addMonths(start, months) };
}

/** `2022-01-13T00:00:00Z` for a term ending at the start of 2022-01-14: end dates are inclusive. */
function inclusiveEndDate(end: Date): string {
  const day = new Date(end.getTime() - dayMs);
  return `${day.toISOString().slice(0, 10)}T00:00:00Z`;
}

/** The offer id Partner Center shows: new commerce's catalog item, or a legacy offer's GUID. */
function offerIdOf(s: Subscription): string {
  if (s.commerce === 'legacy') return legacyOfferId(s.sku);
  const item = nceCatalogItem(s.sku, s.termDuration, s.billingCycle);
  return `${item.productId}:${item.skuId}:${item.availabilityId}`;
}

/** A Subscription resource (learn.microsoft.com partner-center/developer subscription-resources). */
export function subscriptionResource(
  s: Subscription,
  partner: Partner,
  customer: Customer,
  now: number,
) {
  const term = currentTerm(s, now);
  const self = {
    uri: `/customers/${customer.tenantId}/subscriptions/${s.id}`,
    method: 'GET',
    headers: [],
  };
  const nce = s.commerce === 'nce';
  const item = nceCatalogItem(s.sku, s.termDuration, s.billingCycle);
  const catalogLink = (uri: string) => ({ uri: `${uri}?country=US`, method: 'GET', headers: [] });
  return {
    id: s.id,
    offerId: offerIdOf(s),
    offerName: s.sku.displayName,
    friendlyName: s.sku.displayName,
    ...(nce ? { productType: { id: 'OnlineServicesNCE', displayName: 'OnlineServicesNCE' } } : {}),
    quantity: s.quantity,
    unitType: 'Licenses',
    hasPurchasableAddons: false,
    creationDate: s.creationDate,
    effectiveStartDate: s.creationDate,
    commitmentEndDate: inclusiveEndDate(term.end),
    // New commerce only: cancellation is allowed for seven days after a purchase or renewal.
    ...(nce
      ? { cancellationAllowedUntilDate: new Date(term.start.getTime() + 7 * dayMs).toISOString() }
      : {}),
    status: s.status,
    autoRenewEnabled: s.autoRenewEnabled,
    isTrial: s.isTrial,
    billingType: 'license',
    billingCycle: s.billingCycle,
    termDuration: s.termDuration,
    isMicrosoftProduct: true,
    publisherName: 'Microsoft Corporation',
    contractType: 'subscription',
    orderId: s.id.replace(/-/g, '').slice(0, 24),
    partnerId: partner.tenantId,
    suspensionReasons: s.status === 'suspended' ? ['CustomerCancellation'] : [],
    links: nce
      ? {
          product: catalogLink(`/products/${item.productId}`),
          sku: catalogLink(`/products/${item.productId}/skus/${item.skuId}`),
          availability: catalogLink(
            `/products/${item.productId}/skus/${item.skuId}/availabilities/${item.availabilityId}`,
          ),
          self,
        }
      : { offer: { uri: `/offers/${offerIdOf(s)}`, method: 'GET', headers: [] }, self },
    attributes: { etag: `"${s.id.slice(0, 8)}"`, objectType: 'Subscription' },
  };
}

/**
 * A SubscriptionProvisioningStatus resource (get-subscription-provisioning-status): the Entra
 * SKU id, upper-cased as in Microsoft's example; "pending" while a subscription is being set
 * up, else "success".
 */
export function provisioningStatusResource(s: Subscription, now: number) {
  return {
    skuId: s.sku.skuId.toUpperCase(),
    status: s.status === 'pending' ? 'pending' : 'success',
    quantity: s.quantity,
    endDate: `${currentTerm(s, now).end.toISOString().slice(0, 10)}T00:00:00Z`,
    attributes: { objectType: 'SubscriptionProvisioningStatus' },
  };
}
