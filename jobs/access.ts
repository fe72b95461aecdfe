import type { JobPayload } from '../src/queue/catalog.js';
import { refreshAccess as readAccessOnRequest } from '../src/services/access.js';
import { consentApps as consentAppsInCustomers } from '../src/services/access-fixes.js';
import type { JobDeps } from './deps.js';

/** A read of the partner's GDAP access to each customer, on request. */
export function refreshAccess(
  { partnerId }: JobPayload<'refreshAccess'>,
  deps: JobDeps,
): ReturnType<typeof readAccessOnRequest> {
  return readAccessOnRequest(deps, partnerId);
}

/** The app's consent in the named customer tenants, with each one's outcome. */
export function consentApps(
  { partnerId, customerTenantIds, actor }: JobPayload<'consentApps'>,
  deps: JobDeps,
): ReturnType<typeof consentAppsInCustomers> {
  return consentAppsInCustomers(deps, partnerId, customerTenantIds, actor);
}
