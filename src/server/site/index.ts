import express, { Router, type NextFunction, type Request, type Response } from 'express';
import { csrfSync } from 'csrf-sync';
import type { RedisClient } from '../../queue/connections.js';
import type { Config } from '../../../config/index.js';
import type { JobQueues } from '../../queue/job-queues.js';
import type { Services } from '../../dependencies.js';
import { loginFormToken } from '../auth/login-form-token.js';
import { errorAnswer } from '../http-error.js';
import { favicon, messagePage } from '../pages.js';
import { stylesheet } from '../views/style.js';
import { accessPages } from './access.js';
import { alertsPages } from './alerts.js';
import { billingPages } from './billing.js';
import { loginPages } from './login.js';
import { operatorPages } from './operator.js';
import { pageContext } from './page-context.js';
import { partnerPages } from './partner.js';
import { renewalsPages } from './renewals.js';
import { setupPages } from './setup.js';

export { siteSession } from './session.js';

/**
 * The pages: login, a partner's Delegated Admin, Companies, Access, Billing, Renewals, Setup
 * and Alerts, the operators' pages.
 * Every form below is CSRF-checked: the login form by its own signed token, the others by the
 * session's.
 */
export function siteRouter(options: {
  config: Config;
  services: Services;
  queues: JobQueues;
  redis: RedisClient;
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
  router.get('/favicon.ico', (_req, res) => {
    res.type('image/svg+xml').set('Cache-Control', 'public, max-age=86400').send(favicon);
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
  router.use(setupPages({ config, services, queues, redis, page }));
  router.use(alertsPages({ config, services, queues, page }));
  router.use(operatorPages({ services, queues, page }));
  return router;
}

/** Whether a request is a browser's asking for a page: never the API's, which answers JSON. */
export const wantsPage = (req: Request) =>
  !req.path.startsWith('/api/') && req.accepts(['json', 'html']) === 'html';

/** The title of a page that answers an error status. */
const errorTitles: Record<number, string> = { 403: 'Not allowed', 404: 'Page not found' };

/** An error answered as a page: a browser route's 404 or 403, styled, with a way back. */
export function sendErrorPage(res: Response, status: number, message: string): void {
  res
    .status(status)
    .type('html')
    .send(messagePage(errorTitles[status] ?? 'Refused', message));
}

/** Errors of the pages as pages (the API answers JSON). */
export function sitePageError(error: unknown, req: Request, res: Response, next: NextFunction) {
  if (req.path.startsWith('/api/') || res.headersSent) return next(error);
  const { status, message } = errorAnswer(error);
  if (status >= 500) return next(error);
  sendErrorPage(res, status, status === 404 ? 'There is no page at this address.' : message);
}
