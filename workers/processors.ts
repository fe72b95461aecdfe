import { consentApps, refreshAccess } from '../jobs/access.js';
import { applyCompanyBilling, reconcileBilling, reconcileCompanyBilling } from '../jobs/billing.js';
import type { JobDeps } from '../jobs/deps.js';
import { deliverAlert } from '../jobs/deliver-alert.js';
import { sendAlertDigests } from '../jobs/send-alert-digests.js';
import { exchangeConsentCode } from '../jobs/exchange-consent-code.js';
import { reconcile } from '../jobs/reconcile.js';
import { refreshCustomer } from '../jobs/refresh-customer.js';
import { refreshAllPartners, refreshPartner } from '../jobs/refresh-partner.js';
import { replaceLegacyAdmins } from '../jobs/replace-legacy-admins.js';
import { resealKeys } from '../jobs/reseal-keys.js';
import {
  validateCustomLicenseToken,
  validateCustomLicenseTokens,
} from '../jobs/validate-custom-license-token.js';
import type { ProcessorTable } from '../src/queue/worker-pool.js';

/** The processor of every catalog job; start-up checks that none is missing. */
export const processors: ProcessorTable<JobDeps> = {
  reconcile,
  exchangeConsentCode,
  replaceLegacyAdmins,
  refreshAllPartners,
  refreshPartner,
  refreshCustomer,
  validateCustomLicenseToken,
  validateCustomLicenseTokens,
  resealKeys,
  refreshAccess,
  consentApps,
  reconcileBilling,
  reconcileCompanyBilling,
  applyCompanyBilling,
  deliverAlert,
  sendAlertDigests,
};
