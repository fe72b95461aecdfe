import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { csrfSync } from 'csrf-sync';
import type { Redis } from 'ioredis';
import type { Config } from '../../../config/index.js';
import type { JobQueues } from '../../queue/job-queues.js';
import type { Services } from '../../dependencies.js';
import { loginFormToken } from '../auth/login-form-token.js';
import { errorAnswer } from '../http-error.js';
import { messagePage } from '../pages.js';
import { stylesheet } from '../views/style.js';
import { accessPages } from './access.js';
import { billingPages } from './billing.js';
import { loginPages } from './login.js';
import { operatorPages } from './operator.js';
import { pageContext } from './page-context.js';
import { partnerPages } from './partner.js';
import { renewalsPages } from './renewals.js';

export { siteSession } from './session.js';

/**
 * The pages: login, a partner's Delegated Admin, Companies, Access, Billing and Renewals tabs,
 * the operators' page.
 * Every form below is CSRF-checked: the login form by its own signed token, the others by the
 * session's.
 */
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

  const page = pageContext(services, (req) => generateToken(req));
  router.use(loginPages({ config, services, redis, loginForm }));
  router.use(partnerPages({ config, services, queues, redis, page }));
  router.use(accessPages({ services, queues, page }));
  router.use(billingPages({ services, queues, page }));
  router.use(renewalsPages({ services, page }));
  router.use(operatorPages({ services, queues, page }));
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
