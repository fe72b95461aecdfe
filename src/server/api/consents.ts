import { randomBytes, randomUUID } from 'node:crypto';
import { CryptoProvider } from '@azure/msal-node';
import { Router } from 'express';
import { z } from 'zod';
import { customLicenseTokenState } from '../../domain/custom-licenses.js';
import { singleLineText } from '../../domain/text.js';
import type { Services } from '../../dependencies.js';
import type { ConsentAttempt } from '../../store/consent-attempts.js';
import type { ConsentAttemptKind } from '../../store/schema.js';
import type { DelegatedAdmin } from '../../store/partners.js';
import type { RefreshRun } from '../../store/refresh-runs.js';
import { HttpError } from '../http-error.js';
import { parseOr400 } from '../validation.js';
import { partnerOr404 } from './partners.js';

/**
 * A return URL on the PUBLIC_URL origin (absolute, or a path resolved against it); anything
 * else would make the callback an open redirect.
 */
export function sameOriginReturnUrl(returnTo: string, publicUrl: string): string | undefined {
  if (returnTo.startsWith('//') || returnTo.includes('\\')) return undefined;
  try {
    const url = new URL(returnTo, publicUrl);
    return url.origin === new URL(publicUrl).origin ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

type AttemptView = {
  id: string;
  status: 'pending' | 'received' | 'exchanging' | 'completed' | 'failed';
  message: string | null;
};

export function attemptView(a: ConsentAttempt): AttemptView {
  const status = a.status === 'started' ? 'pending' : a.status === 'expired' ? 'failed' : a.status;
  const messages: Record<string, string> = {
    pending: 'Waiting for the administrator to sign in to Microsoft and accept.',
    received: 'Consent received; completing it.',
    exchanging: 'Consent received; completing it.',
    completed: 'Consent granted.',
  };
  return { id: a.id, status, message: a.error ?? messages[status] ?? null };
}

/** GET /partners/:id/delegated-admin: which model serves the partner, and what to do next. */
export function delegatedAdminStatus(
  partnerId: string,
  admins: DelegatedAdmin[],
  attempt: ConsentAttempt | undefined,
  run: RefreshRun | undefined,
  /** Companies of `run` whose custom licenses could not be counted. Default: 0 */
  customLicensesFailed = 0,
) {
  const sam = admins.filter((a) => a.kind === 'sam' && a.status !== 'pending');
  const consent =
    sam.find((a) => a.status === 'active' || a.status === 'needs_reconsent') ?? sam[0] ?? null;
  const legacy = admins.filter((a) => a.kind === 'legacy');
  const activeLegacy = legacy.filter((a) => a.status === 'active');
  // A consent that must be granted again still serves the new model: the accounts it replaced
  // stay replaced, so the partner is not back on the old one.
  const onNewModel = consent?.status === 'active' || consent?.status === 'needs_reconsent';
  const model = onNewModel ? (activeLegacy.length > 0 ? 'mixed' : 'sam') : 'legacy';
  const attemptShown = attempt ? attemptView(attempt) : null;
  let nextAction: string | null = null;
  if (attemptShown?.status === 'failed') nextAction = attemptShown.message;
  else if (consent?.status === 'needs_reconsent')
    nextAction = consent.nextAction ?? 'Grant Partner Center consent again.';
  else if (!consent && attemptShown?.status !== 'pending')
    nextAction = 'Grant Partner Center consent with an Admin Agent account that uses MFA.';
  else if (model === 'mixed') {
    nextAction = `Still on the old model: ${activeLegacy.map((a) => a.username).join(', ')}. Grant consent with an account of the same domain to replace them.`;
  }
  return {
    partnerId,
    model,
    consent: consent && {
      id: consent.id,
      upn: consent.username,
      tenantId: consent.tenantId,
      mfa: consent.mfaVerified === true,
      adminAgent: consent.adminAgent === true,
      status:
        consent.status === 'active' || consent.status === 'needs_reconsent'
          ? consent.status
          : 'replaced',
      grantedAt: consent.consentedAt,
    },
    legacyAccounts: legacy.map((a) => ({
      id: a.id,
      username: a.username,
      status: a.status === 'replaced' ? 'replaced' : 'active',
      replacedBy: a.replacedBy,
    })),
    attempt: attemptShown,
    run: run && {
      id: run.id,
      status: run.status,
      total: run.total,
      succeeded: run.succeeded,
      failed: run.failed,
      /** Customers the partner cannot reach (GDAP, app consent): fixed there, not retried. */
      noAccess: run.noAccess,
      /** Companies refreshed whose custom-license counts failed (they count as refreshed). */
      customLicensesFailed,
      pending: Math.max(0, run.total - run.succeeded - run.failed - run.noAccess),
      startedAt: run.startedAt,
      finishedAt: run.finishedAt,
      message: run.error,
    },
    nextAction,
  };
}

const pkce = new CryptoProvider();

/**
 * One click on a "Grant consent" button: a server-side attempt (state hashed, verifier and
 * nonce sealed) and the Microsoft URL to send the admin to. Both consents (Partner Center and
 * the custom-license token) start here and come back through /auth/callback. A partner that
 * has a tenant signs in at that tenant, so no account of another tenant can consent for it.
 */
export async function startConsent(
  services: Services,
  publicUrl: string,
  partnerId: string,
  kind: ConsentAttemptKind,
  input: unknown,
  /** The pages' session starting it, which its callback must come back in. Default: none (API) */
  sessionId?: string,
) {
  const body = parseOr400(
    z
      .object({
        returnTo: singleLineText({ min: 1, max: 2048 }),
        /** Pre-fills the account at Microsoft's sign-in (the demo and tests use it). */
        loginHint: singleLineText({ max: 256 }).optional(),
      })
      .strict(),
    input,
  );
  const returnUrl = sameOriginReturnUrl(body.returnTo, publicUrl);
  if (!returnUrl) {
    throw new HttpError(
      400,
      'invalid_request',
      `returnTo must be on ${new URL(publicUrl).origin}.`,
    );
  }
  const state = randomBytes(32).toString('base64url'); // 256 bits
  const nonce = randomUUID();
  const { verifier, challenge } = await pkce.generatePkceCodes();
  const tenantId = (await services.partners.get(partnerId))?.homeTenantId ?? null;
  const attempt = await services.attempts.start({
    partnerId,
    kind,
    state,
    verifier,
    nonce,
    returnUrl,
    sessionId,
    authorityTenantId: tenantId,
  });
  const authorizeUrl = await services.identity.authorizeUrl({
    kind,
    tenantId,
    state,
    nonce,
    codeChallenge: challenge,
    loginHint: body.loginHint,
  });
  return { attemptId: attempt.id, authorizeUrl, expiresAt: attempt.expiresAt };
}

export function consentsRouter(services: Services, publicUrl: string): Router {
  const router = Router();

  router.post('/partners/:id/consents', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    res
      .status(201)
      .json(await startConsent(services, publicUrl, partner.id, 'partner_center', req.body));
  });

  router.get('/partners/:id/delegated-admin', async (req, res) => {
    const partner = await partnerOr404(services, req.params.id);
    const [admins, attempt, run, token] = await Promise.all([
      services.partners.admins(partner.id),
      services.attempts.latest(partner.id, 'partner_center'),
      services.runs.latest(partner.id),
      services.customLicenses.currentToken(partner.id),
    ]);
    const { status, reason } = customLicenseTokenState(token, new Date());
    const customLicensesFailed = run
      ? await services.customLicenses.companiesNotCounted(run.id)
      : 0;
    res.json({
      ...delegatedAdminStatus(partner.id, admins, attempt, run, customLicensesFailed),
      customLicenseToken: { status, reason },
    });
  });

  return router;
}
