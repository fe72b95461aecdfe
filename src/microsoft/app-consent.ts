import { customLicensePermissions } from '../domain/custom-licenses.js';
import type { PartnerCenterClient } from './partner-center.js';

// The app's consent in a customer tenant, granted by an Admin Agent through Partner Center
// (learn.microsoft.com partner-center/developer create-application-consent, Control Panel
// Vendor APIs; the fix for AADSTS90099 and 65001 there).

/** Enterprise application ids of the resources the app reads in customer tenants. */
const partnerCenterAppId = 'fa3d9a0c-3fb0-42cc-9193-47c7ecd2edbd';
const graphAppId = '00000003-0000-0000-c000-000000000000';

/**
 * What the app is consented for in each customer tenant: Partner Center (the partner's
 * sign-in there) and the Graph permissions custom licenses count with.
 */
const customerTenantGrants = [
  { enterpriseApplicationId: partnerCenterAppId, scope: 'user_impersonation' },
  { enterpriseApplicationId: graphAppId, scope: customLicensePermissions.join(',') },
];

/**
 * Consents the app in the customer tenant for `customerTenantGrants`. A consent already there
 * (possibly for fewer permissions) is taken back and made again, as Partner Center does not
 * change one in place.
 */
export async function consentAppInCustomerTenant(
  partnerCenter: PartnerCenterClient,
  accessToken: string,
  customerTenantId: string,
  applicationId: string,
): Promise<void> {
  const path = `/customers/${customerTenantId}/applicationconsents`;
  const body = {
    applicationId,
    applicationGrants: customerTenantGrants,
    displayName: 'license-sync',
  };
  if ((await partnerCenter.create(path, accessToken, body, 'customer')) !== 'conflict') return;
  await partnerCenter.delete(`${path}/${applicationId}`, accessToken, 'customer');
  await partnerCenter.create(path, accessToken, body, 'customer');
}
