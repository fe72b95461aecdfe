import { createHash } from 'node:crypto';
import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import session from 'express-session';
import { csrfSync } from 'csrf-sync';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../../config/index.js';
import { customLicenseTokenState } from '../domain/custom-licenses.js';
import { singleLineText } from '../domain/text.js';
import { deduplicationKeys, jobIds } from '../queue/catalog.js';
import type { JobQueues } from '../queue/job-queues.js';
import type { Services } from '../dependencies.js';
import type { Store } from '../store/database.js';
import type { UserRole } from '../store/schema.js';
import { attemptView, delegatedAdminStatus, startConsent } from './api/consents.js';
import { companiesOverview } from './api/partners.js';
import { retryFailures, syncNow } from './api/refresh.js';
import { decoyHash, hashPassword, verifyPassword } from './auth/passwords.js';
import { loginFormToken } from './auth/login-form-token.js';
import { PostgresSessionStore } from './auth/session-store.js';
import {
  consentStarts,
  requestLimiter,
  tooManyConsentStarts,
  tooManyValidations,
  validationRequests,
} from './request-limits.js';
import { redisLimitStore } from './rate-limit-store.js';
import { HttpError, errorAnswer } from './http-error.js';
import { CompaniesPage } from './views/companies.js';
import { DelegatedAdminPage } from './views/delegated-admin.js';
import { html, type Viewer } from './views/layout.js';
import { LoginPage } from './views/login.js';
import { OperatorPage } from './views/operator.js';
import { stylesheet } from './views/style.js';
import { messagePage } from './pages.js';
import { invalidRequestSentence } from './validation.js';

declare module 'express-session' {
  interface SessionData {
    userId?: string;
    /** One sentence shown once on the next page (what the last form did). */
    flash?: string;
  }
}

/** Failed login attempts per address per window. Default: 10 per 15 minutes */
const loginAttempts = { limit: 10, windowMs: 15 * 60 * 1000 };
/**
 * Failed login attempts per account (the normalised email) per window, from any number of
 * addresses. Default: 10 per 15 minutes
 */
const accountLoginAttempts = { limit: 10, windowMs: 15 * 60 * 1000 };
/** A session ends after this long without a request. Default: 8 hours */
const sessionIdleMs = 8 * 3600 * 1000;

export interface SiteUser {
  id: string;
  email: string;
  role: UserRole;
  partnerId: string | null;
}

declare module 'express-serve-static-core' {
  interface Request {
    user?: SiteUser;
  }
}

/**
 * The session every page and the dashboard share: in PostgreSQL, cookie HttpOnly, SameSite=Lax
 * (so the session survives the top-level redirect back from Microsoft), Secure on https.
 */
export function siteSession(config: Config, store: Store, services: Services) {
  const sessions = session({
    name: 'ls.sid',
    secret: config.sessionSecret,
    store: new PostgresSessionStore(store.db),
    resave: false,
    saveUninitialized: false,
    rolling: true,
    cookie: {
      httpOnly: true,
      sameSite: 'lax',
      secure: config.publicUrl.startsWith('https:'),
      maxAge: sessionIdleMs,
    },
  });
  const loadUser = async (req: Request) => {
    const id = req.session?.userId;
    if (!id) return;
    const user = await services.users.get(id);
    if (user) {
      req.user = { id: user.id, email: user.email, role: user.role, partnerId: user.partnerId };
    }
  };
  return (req: Request, res: Response, next: NextFunction): void => {
    sessions(req, res, (error?: unknown) => {
      if (error) return next(error);
      loadUser(req).then(() => next(), next);
    });
  };
}

/** The pages: login, a partner's Delegated Admin and Companies tabs, the operators' page. */
export function siteRouter(options: {
  config: Config;
  services: Services;
  queues: JobQueues;
  redis: Redis;
}): Router {
  const { config, services, queues, redis } = options;
  const router = Router();
  const { csrfSynchronisedProtection, generateToken } = csrfSync({
    getTokenFromRequest: (req) => (req.body as { _csrf?: string } | undefined)?._csrf,
    errorConfig: {
      statusCode: 403,
      message: 'The form expired or did not come from this site. Reload the page and try again.',
      code: 'csrf',
    },
  });

  router.get('/static/style.css', (_req, res) => {
    res.type('text/css').set('Cache-Control', 'public, max-age=3600').send(stylesheet);
  });
  router.use(express.urlencoded({ extended: false, limit: '20kb' }));
  // The login form has no session to keep a token in (none is made before a login).
  const loginForm = loginFormToken(config.sessionSecret, config.publicUrl.startsWith('https:'));
  router.use((req, res, next) =>
    req.path === '/login'
      ? loginForm.protect(req, res, next)
      : csrfSynchronisedProtection(req, res, next),
  );

  const viewerOf = (req: Request): Viewer => ({
    email: req.user!.email,
    role: req.user!.role,
    csrfToken: generateToken(req),
  });
  const takeFlash = (req: Request) => {
    const flash = req.session.flash;
    delete req.session.flash;
    return flash;
  };
  const back = (req: Request, res: Response, path: string, flash?: string) => {
    if (flash) req.session.flash = flash;
    res.redirect(303, path);
  };
  const signedIn = (req: Request, res: Response, next: NextFunction) => {
    if (!req.user) return res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
    next();
  };
  const operatorsOnly = (req: Request, _res: Response, next: NextFunction) => {
    if (req.user?.role !== 'operator') throw new HttpError(403, 'forbidden', 'Operators only.');
    next();
  };
  /** The partner in the path, if this user may see it; 404 otherwise (no hint it exists). */
  const partnerFor = async (req: Request) => {
    const id = String(req.params.id);
    const allowed = req.user!.role === 'operator' || req.user!.partnerId === id;
    const partner =
      allowed && z.uuid().safeParse(id).success ? await services.partners.get(id) : undefined;
    if (!partner) throw new HttpError(404, 'not_found', 'No such page.');
    return partner;
  };

  router.get('/', signedIn, (req, res) => {
    res.redirect(
      303,
      req.user!.role === 'operator'
        ? '/operator'
        : `/partners/${req.user!.partnerId}/delegated-admin`,
    );
  });

  router.get('/login', (req, res) => {
    if (req.user) return res.redirect(303, '/');
    res.type('html').send(html(<LoginPage csrfToken={loginForm.issue(req, res)} />));
  });

  const redisStore = (name: string) => redisLimitStore(redis, `${config.queuePrefix}:${name}:`);
  const tooMany = (req: Request, res: Response, error: string) => {
    res
      .status(429)
      .type('html')
      .send(html(<LoginPage csrfToken={loginForm.issue(req, res)} error={error} />));
  };
  const limiter = rateLimit({
    ...loginAttempts,
    // Failed attempts count; a user who logs in fine is never slowed down.
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    store: redisStore('login'),
    // A Redis outage must not lock everyone out of logging in.
    passOnStoreError: true,
    // Any client may send X-Forwarded-For; TRUST_PROXY decides whether it is believed.
    validate: { xForwardedForHeader: false },
    handler: (req, res) =>
      tooMany(req, res, 'Too many login attempts. Wait 15 minutes and try again.'),
  });
  // Guessing one account's password from many addresses is limited here; the email is hashed
  // so the keys in Redis do not list who tried to log in.
  const accountLimiter = rateLimit({
    ...accountLoginAttempts,
    skipSuccessfulRequests: true,
    standardHeaders: false,
    legacyHeaders: false,
    keyGenerator: (req) =>
      createHash('sha256')
        .update(
          String((req.body as { email?: unknown } | undefined)?.email)
            .trim()
            .toLowerCase(),
        )
        .digest('base64url'),
    store: redisStore('login-account'),
    passOnStoreError: true,
    handler: (req, res) =>
      tooMany(req, res, 'Too many failed logins for this account. Wait 15 minutes and try again.'),
  });

  router.post('/login', limiter, accountLimiter, async (req, res) => {
    const body = z
      .object({ email: singleLineText({ max: 320 }), password: z.string().max(1024) })
      .safeParse(req.body);
    if (!body.success) {
      res
        .status(400)
        .type('html')
        .send(
          html(
            <LoginPage
              csrfToken={loginForm.issue(req, res)}
              error={invalidRequestSentence(body.error)}
            />,
          ),
        );
      return;
    }
    const email = body.data.email;
    const user = await services.users.byEmail(email);
    // Same work whether or not the email exists.
    const ok = await verifyPassword(body.data.password, user?.passwordHash ?? decoyHash);
    if (!user || !ok) {
      res
        .status(401)
        .type('html')
        .send(
          html(
            <LoginPage
              csrfToken={loginForm.issue(req, res)}
              email={email}
              error="Wrong email or password."
            />,
          ),
        );
      return;
    }
    // A new session id at login: a session fixed before it is worth nothing.
    await new Promise<void>((resolve, reject) =>
      req.session.regenerate((e?: Error) => (e ? reject(e) : resolve())),
    );
    req.session.userId = user.id;
    await services.users.loggedIn(user.id);
    const next =
      typeof req.query.next === 'string' && /^\/[^/\\]/.test(req.query.next) ? req.query.next : '/';
    res.redirect(303, next);
  });

  router.post('/logout', (req, res, next) => {
    req.session.destroy((error) => {
      if (error) return next(error);
      res.clearCookie('ls.sid').redirect(303, '/login');
    });
  });

  // The return address of consents started from the API's examples: the user's own partner.
  router.get('/company/delegated-admin', signedIn, (req, res) => {
    const query = new URLSearchParams(req.query as Record<string, string>).toString();
    if (req.user!.role === 'operator') return res.redirect(303, '/operator');
    res.redirect(
      303,
      `/partners/${req.user!.partnerId}/delegated-admin${query ? `?${query}` : ''}`,
    );
  });

  router.get('/partners/:id/delegated-admin', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const [admins, attempt, run, token, tokenAttempt, companies, failures] = await Promise.all([
      services.partners.admins(partner.id),
      services.attempts.latest(partner.id, 'partner_center'),
      services.runs.latest(partner.id),
      services.customLicenses.currentToken(partner.id),
      services.attempts.latest(partner.id, 'custom_license'),
      services.partners.companies(partner.id),
      services.runs.failures(partner.id),
    ]);
    const status = delegatedAdminStatus(partner.id, admins, attempt, run);
    const names = new Map(companies.map((c) => [c.id, c.name]));
    const tokenAttemptView = tokenAttempt ? attemptView(tokenAttempt) : null;
    res.type('html').send(
      html(
        <DelegatedAdminPage
          viewer={viewerOf(req)}
          partner={partner}
          status={status}
          companiesOnNewModel={
            companies.filter((c) => c.delegatedAdminId && c.delegatedAdminId === status.consent?.id)
              .length
          }
          failures={failures.failures.map((f) => ({
            customerTenantId: f.customerTenantId,
            companyName: f.companyId ? (names.get(f.companyId) ?? null) : null,
            error: f.errorMessage,
            attempts: f.attempts,
            lastTriedAt: f.finishedAt,
          }))}
          token={{
            ...customLicenseTokenState(token, new Date()),
            upn: token?.username ?? null,
            lastValidatedAt: token?.lastValidatedAt ?? null,
            attemptMessage: tokenAttemptView?.status === 'failed' ? tokenAttemptView.message : null,
          }}
          flash={takeFlash(req)}
        />,
      ),
    );
  });

  router.get('/partners/:id/companies', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    res
      .type('html')
      .send(
        html(
          <CompaniesPage
            viewer={viewerOf(req)}
            partner={partner}
            overview={await companiesOverview(services, partner.id)}
          />,
        ),
      );
  });

  const startAndGo =
    (kind: 'partner_center' | 'custom_license') => async (req: Request, res: Response) => {
      const partner = await partnerFor(req);
      // Bound to this session: a callback completed in another browser binds nothing.
      const { authorizeUrl } = await startConsent(
        services,
        config.publicUrl,
        partner.id,
        kind,
        { returnTo: `/partners/${partner.id}/delegated-admin` },
        req.sessionID,
      );
      res.redirect(303, authorizeUrl);
    };
  const consentLimit = requestLimiter({
    redis,
    budget: consentStarts,
    prefix: `${config.queuePrefix}:consent-starts:pages:`,
    keyOf: (req) => `user:${req.user!.id}`,
    refuse: (_req, res) => {
      res.status(429).type('html').send(messagePage('Too many requests', tooManyConsentStarts));
    },
  });
  router.post('/partners/:id/consent', signedIn, consentLimit, startAndGo('partner_center'));
  router.post(
    '/partners/:id/custom-license-token/consent',
    signedIn,
    consentLimit,
    startAndGo('custom_license'),
  );

  const validationLimit = requestLimiter({
    redis,
    budget: validationRequests,
    prefix: `${config.queuePrefix}:validations:pages:`,
    keyOf: (req) => `user:${req.user!.id}`,
    refuse: (_req, res) => {
      res.status(429).type('html').send(messagePage('Too many requests', tooManyValidations));
    },
  });
  router.post(
    '/partners/:id/custom-license-token/validate',
    signedIn,
    validationLimit,
    async (req, res) => {
      const partner = await partnerFor(req);
      await queues.enqueue(
        'validateCustomLicenseToken',
        { partnerId: partner.id },
        {
          jobId: jobIds.validateCustomLicenseToken(partner.id, `page-${Date.now()}`),
          deduplicationKey: deduplicationKeys.validateCustomLicenseToken(partner.id),
        },
      );
      back(
        req,
        res,
        `/partners/${partner.id}/delegated-admin`,
        'Validating the custom-license token; this page shows the result once it is done.',
      );
    },
  );

  router.post('/partners/:id/retry', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const tenant = z
      .uuid()
      .safeParse((req.body as { customerTenantId?: unknown }).customerTenantId);
    const { retried } = await retryFailures(
      services,
      queues,
      partner.id,
      tenant.success ? [tenant.data] : undefined,
    );
    back(
      req,
      res,
      `/partners/${partner.id}/delegated-admin`,
      retried.length > 0
        ? `Retrying ${retried.length} ${retried.length === 1 ? 'company' : 'companies'}.`
        : 'Nothing to retry.',
    );
  });

  router.post('/partners/:id/refresh', signedIn, operatorsOnly, async (req, res) => {
    const partner = await partnerFor(req);
    const { deduplicated } = await syncNow(services, queues, partner.id);
    back(
      req,
      res,
      `/partners/${partner.id}/delegated-admin`,
      deduplicated ? 'A refresh is already running.' : 'Refresh started.',
    );
  });

  router.get('/operator', signedIn, operatorsOnly, async (req, res) => {
    const partners = await services.partners.list();
    const withUsers = await Promise.all(
      partners.map(async (p) => ({
        id: p.id,
        name: p.name,
        users: (await services.users.ofPartner(p.id)).map((u) => u.email),
      })),
    );
    res
      .type('html')
      .send(
        html(<OperatorPage viewer={viewerOf(req)} partners={withUsers} flash={takeFlash(req)} />),
      );
  });

  router.post('/operator/partners', signedIn, operatorsOnly, async (req, res) => {
    const body = z.object({ name: singleLineText({ min: 1, max: 200 }) }).safeParse(req.body);
    if (!body.success) {
      if (body.error.issues.some((i) => i.code === 'too_small')) {
        return back(req, res, '/operator', 'A partner needs a name.');
      }
      throw new HttpError(400, 'invalid_request', invalidRequestSentence(body.error));
    }
    const partner = await services.partners.create(body.data.name, req.user!.email);
    back(req, res, '/operator', `Added ${partner.name}.`);
  });

  router.post('/operator/users', signedIn, operatorsOnly, async (req, res) => {
    const body = z
      .object({
        partnerId: z.uuid(),
        email: z.email().max(320),
        password: z.string().min(12).max(1024),
      })
      .safeParse(req.body);
    if (!body.success || !(await services.partners.get(body.data.partnerId))) {
      return back(
        req,
        res,
        '/operator',
        'A user needs a partner, a valid email and a password of at least 12 characters.',
      );
    }
    const user = await services.users.create(
      {
        email: body.data.email,
        passwordHash: await hashPassword(body.data.password),
        role: 'partner',
        partnerId: body.data.partnerId,
      },
      req.user!.email,
    );
    back(
      req,
      res,
      '/operator',
      user ? `Added ${user.email}.` : `${body.data.email} already has an account.`,
    );
  });

  return router;
}

/** Errors of the pages as pages (the API answers JSON). */
export function sitePageError(error: unknown, req: Request, res: Response, next: NextFunction) {
  if (req.path.startsWith('/api/') || res.headersSent) return next(error);
  const { status, message } = errorAnswer(error);
  if (status >= 500) return next(error);
  res
    .status(status)
    .type('html')
    .send(messagePage(status === 404 ? 'Not found' : 'Refused', message));
}
