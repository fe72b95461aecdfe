import { setTimeout } from 'node:timers/promises';
import type { Services } from '../dependencies.js';
import { stepSentences } from '../microsoft/error-table.js';
import { MicrosoftError } from '../microsoft/errors.js';
import type { PartnerCenterSubscription } from '../microsoft/partner-center.js';
import { callsPerCustomer } from '../queue/refresh-work.js';
import type { JobContext } from '../queue/worker-pool.js';
import type { CustomerSubscriptionInput } from '../store/customer-subscriptions.js';

/** A subscription that is gone for good: never billed again, so its SKU is not asked for. */
const needsNoSku = (s: PartnerCenterSubscription) => s.status.toLowerCase() === 'deleted';

export type SkuResolution =
  | { kind: 'resolved'; skus: Map<string, string>; calls: number }
  /** More new subscriptions than the job's slot held: it starts again at its next slot. */
  | { kind: 'postpone'; waitMs: number };

const dateOrNull = (value: string | null | undefined): Date | null => {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? null : date;
};

/** The row kept for a subscription, with its SKU when known. */
export function subscriptionRow(
  s: PartnerCenterSubscription,
  skuId: string | undefined,
): CustomerSubscriptionInput {
  return {
    subscriptionId: s.id.toLowerCase(),
    offerId: s.offerId,
    offerName: s.offerName ?? null,
    skuId: skuId ?? null,
    quantity: s.quantity,
    status: s.status.toLowerCase(),
    termDuration: s.termDuration ?? null,
    billingCycle: s.billingCycle ?? null,
    commitmentEndDate: dateOrNull(s.commitmentEndDate),
    cancellationAllowedUntilDate: dateOrNull(s.cancellationAllowedUntilDate),
    autoRenewEnabled: s.autoRenewEnabled ?? null,
    productType: s.productType?.id ?? null,
    isTrial: s.isTrial ?? false,
  };
}

/**
 * The Entra SKU of each subscription that may be billed: from what PostgreSQL already knows,
 * else from Partner Center's provisioning status (one call each, paced). The first
 * `coveredCalls` calls fit in the slot the job holds, one spacing apart; further ones take new
 * slots, in place when near, else the job is postponed to them (the SKUs resolved so far are
 * kept, so the next start does not ask again). A listed subscription whose SKU Partner Center
 * does not give fails the customer (transient): its seats must not silently go unbilled.
 */
export async function resolveSubscriptionSkus(
  deps: Pick<Services, 'subscriptions' | 'pacer' | 'partnerCenter'>,
  ctx: JobContext,
  args: {
    partnerId: string;
    runId: string;
    customerTenantId: string;
    accessToken: string;
    subscriptions: PartnerCenterSubscription[];
    known: Map<string, string>;
    coveredCalls: number;
  },
): Promise<SkuResolution> {
  const skus = new Map(args.known);
  const unknown = args.subscriptions.filter((s) => !needsNoSku(s) && !skus.has(s.id.toLowerCase()));
  let covered = Math.max(0, args.coveredCalls);
  let calls = 0;
  // What this start resolved is kept when it cannot finish (a wait for slots, a 429, a fault),
  // so the next start asks only for the rest.
  const keepResolved = (upTo: number) =>
    deps.subscriptions.rememberSkus(
      args.partnerId,
      args.customerTenantId,
      args.runId,
      unknown.slice(0, upTo).map((s) => subscriptionRow(s, skus.get(s.id.toLowerCase()))),
    );
  let i = 0;
  try {
    for (; i < unknown.length; i++) {
      if (covered === 0) {
        const rest = unknown.length - i;
        // The slot also covers listing again, in case the job must wait for it.
        const slot = await deps.pacer.slotFor(args.partnerId, ctx.jobId, rest + callsPerCustomer);
        if (!slot.inPlace) {
          await keepResolved(i);
          return { kind: 'postpone', waitMs: slot.waitMs };
        }
        if (slot.waitMs > 0) await setTimeout(slot.waitMs);
        covered = rest;
      } else {
        await setTimeout(await deps.pacer.spacingMs(args.partnerId));
      }
      covered -= 1;
      const subscription = unknown[i]!;
      const status = await deps.partnerCenter.provisioningStatus(
        args.customerTenantId,
        subscription.id,
        args.accessToken,
      );
      calls += 1;
      if (!status?.skuId) {
        throw new MicrosoftError({
          kind: 'transient',
          service: 'partnerCenter',
          code: 'subscription_sku_unknown',
          message: stepSentences.subscriptionSkuUnknown(
            subscription.id,
            subscription.offerName ?? subscription.offerId,
          ),
        });
      }
      skus.set(subscription.id.toLowerCase(), status.skuId.toLowerCase());
    }
  } catch (error) {
    if (i > 0) await keepResolved(i).catch(() => undefined);
    throw error;
  }
  return { kind: 'resolved', skus, calls };
}
