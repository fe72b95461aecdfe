import type { NextFunction, Request, Response } from 'express';
import { sendPartnerCenterError, sendPartnerCenterThrottled } from './errors.js';
import type { EmulatorState } from './state.js';
import { TokenBucket } from './throttle.js';

// What Partner Center asks of every request beyond its token: the contract version header,
// and the limits of the APIs it throttles per partner and customer tenant.

/**
 * The operations Partner Center lists as throttled, under /v1/customers/{customer-id}/; for
 * these "throttling is determined by Partner Tenant ID/Customer Tenant ID combination"
 * (learn.microsoft.com partner-center/developer api-throttling-guidance). Each is one API:
 * calls to one do not count against another. Paths relative to the customer.
 */
const perCustomerOperations: { operation: string; pattern: RegExp }[] = [
  { operation: 'customer', pattern: /^$/ },
  { operation: 'subscriptions', pattern: /^\/subscriptions$/ },
  { operation: 'subscription', pattern: /^\/subscriptions\/[^/]+$/ },
  { operation: 'subscription addons', pattern: /^\/subscriptions\/[^/]+\/addons$/ },
  {
    operation: 'subscription azureEntitlements',
    pattern: /^\/subscriptions\/[^/]+\/azureentitlements$/,
  },
  {
    operation: 'subscription registrationstatus',
    pattern: /^\/subscriptions\/[^/]+\/registrationstatus$/,
  },
  {
    operation: 'subscription registrations',
    pattern: /^\/subscriptions\/[^/]+\/registrations$/,
  },
  { operation: 'subscription upgrades', pattern: /^\/subscriptions\/[^/]+\/upgrades$/ },
  { operation: 'subscription conversions', pattern: /^\/subscriptions\/[^/]+\/conversions$/ },
  { operation: 'orders', pattern: /^\/orders$/ },
  { operation: 'order', pattern: /^\/orders\/[^/]+$/ },
  { operation: 'order provisioningstatus', pattern: /^\/orders\/[^/]+\/provisioningstatus$/ },
  { operation: 'transfers', pattern: /^\/transfers$/ },
  { operation: 'cart', pattern: /^\/carts\/[^/]+$/ },
  { operation: 'cart checkout', pattern: /^\/carts\/[^/]+\/checkout$/ },
];

/** The throttled per-customer operation a path names, with its customer; else undefined. */
function perCustomerOperation(path: string): { operation: string; customerId: string } | undefined {
  const match = /^\/customers\/([^/]+)(\/.*)?$/i.exec(path.replace(/\/+$/, ''));
  if (!match) return undefined;
  const rest = (match[2] ?? '').toLowerCase();
  const found = perCustomerOperations.find((o) => o.pattern.test(rest));
  return found && { operation: found.operation, customerId: match[1]!.toLowerCase() };
}

/**
 * After authentication: 400 without `MS-Contract-Version` (documented "Required" in
 * Partner Center REST headers), then 429 once an API throttled per partner and customer has
 * had its requests for the minute from this partner at this customer.
 */
export function partnerCenterLimits(state: EmulatorState) {
  return (req: Request, res: Response, next: NextFunction): void => {
    if (!req.get('MS-Contract-Version')?.trim()) {
      return sendPartnerCenterError(
        res,
        400,
        400,
        'The MS-Contract-Version header is required. Specify the version of the API requested, e.g. v1.',
      );
    }
    const partnerTenantId = res.locals.partnerTenantId as string;
    const limited = perCustomerOperation(req.path);
    if (limited) {
      const perMinute =
        state.directory.partner(partnerTenantId)?.rateLimits.customerApiPerMinute ?? 500;
      const waitMs = state
        .bucket(
          `partnerCenter|${partnerTenantId}|${limited.customerId}|${limited.operation}`,
          (now) => new TokenBucket(perMinute, 60_000, now),
        )
        .take(1, state.now());
      if (waitMs > 0) return sendPartnerCenterThrottled(res, Math.max(1, Math.ceil(waitMs / 1000)));
    }
    next();
  };
}
