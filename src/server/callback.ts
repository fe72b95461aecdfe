import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../logger.js';
import { consentErrorMessage } from '../microsoft/error-table.js';
import { jobIds } from '../queue/catalog.js';
import type { JobQueues } from '../queue/job-queues.js';
import { isDatabaseUnavailable } from '../store/availability.js';
import type { ConsentAttemptStore } from '../store/consent-attempts.js';
import { messagePage } from './pages.js';

/** Longest value accepted per parameter; Entra's codes are about 1–2 KB. */
const limits: Record<string, number> = {
  code: 8192,
  state: 256,
  error: 128,
  error_description: 4096,
  error_subcode: 128,
  error_uri: 2048,
  session_state: 256,
  client_info: 2048,
};

function withParams(url: string, params: Record<string, string>): string {
  const target = new URL(url);
  for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
  return target.toString();
}

/**
 * GET and POST (form_post) /auth/callback: records the code and enqueues the exchange. No
 * Microsoft call happens here; a replayed callback gets the same redirect and no new job.
 */
export function callbackRouter(deps: {
  attempts: ConsentAttemptStore;
  queues: JobQueues;
  log: Logger;
}): Router {
  const router = Router();
  // Every answer here leads back to where consents start: none is a dead end.
  const page = (res: Response, status: number, title: string, message: string) =>
    res
      .status(status)
      .type('html')
      .send(
        messagePage(title, message, {
          href: '/company/delegated-admin',
          text: 'Back to the Delegated Admin page',
        }),
      );
  // A consent started in one browser and completed in another may be someone else's: the
  // partner user who started it must finish it, so nothing is recorded from here.
  const otherSession = (res: Response) =>
    res
      .status(403)
      .type('html')
      .send(
        messagePage(
          'Consent started in another browser',
          'This consent was started in another browser or session, so nothing was completed. To grant it from this browser, sign in and start again from the Delegated Admin page.',
          { href: '/company/delegated-admin', text: 'Start again from the Delegated Admin page' },
        ),
      );

  const handle = async (req: Request, res: Response, raw: Record<string, unknown>) => {
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(raw)) {
      if (Array.isArray(value))
        return page(
          res,
          400,
          'Invalid consent response',
          `The parameter "${name}" appears more than once.`,
        );
      if (typeof value !== 'string')
        return page(res, 400, 'Invalid consent response', `The parameter "${name}" is malformed.`);
      if (value.length > (limits[name] ?? 2048))
        return page(res, 400, 'Invalid consent response', `The parameter "${name}" is too long.`);
      params[name] = value;
    }
    if (!params.state)
      return page(
        res,
        400,
        'Invalid consent response',
        'The response has no state. Start again from the Delegated Admin page.',
      );
    if (params.error) {
      const attempt = await deps.attempts.byState(params.state);
      if (!attempt)
        return page(
          res,
          400,
          'Unknown consent',
          'This consent response matches no consent we started. Start again from the Delegated Admin page.',
        );
      if (!deps.attempts.inStartingSession(attempt, req.sessionID)) return otherSession(res);
      const message = consentErrorMessage(
        params.error,
        params.error_description,
        params.error_subcode,
      );
      await deps.attempts.fail(attempt.id, message, ['started']);
      return res.redirect(
        303,
        withParams(attempt.returnUrl, { consent: 'failed', attempt: attempt.id }),
      );
    }
    if (!params.code)
      return page(
        res,
        400,
        'Invalid consent response',
        'The response has no authorization code. Start again from the Delegated Admin page.',
      );
    const received = await deps.attempts.receiveCode(params.state, params.code, req.sessionID);
    switch (received.outcome) {
      case 'other_session':
        return otherSession(res);
      case 'unknown':
        return page(
          res,
          400,
          'Unknown consent',
          'This consent response matches no consent we started. Start again from the Delegated Admin page.',
        );
      case 'expired':
        return page(
          res,
          400,
          'Consent expired',
          'This consent took longer than 15 minutes. Start again from the Delegated Admin page.',
        );
      case 'used':
        return page(
          res,
          400,
          'Consent already used',
          'This consent was already completed with another response. Start again from the Delegated Admin page.',
        );
      case 'received':
      case 'replayed': {
        const { attempt } = received;
        if (received.outcome === 'received' || attempt.status === 'received') {
          try {
            await deps.queues.enqueue(
              'exchangeConsentCode',
              { attemptId: attempt.id },
              { jobId: jobIds.exchangeConsentCode(attempt.id) },
            );
          } catch (error) {
            // The code is safely recorded; the reconciler enqueues it once Redis is back.
            deps.log.warn(
              { err: error, attemptId: attempt.id },
              'cannot enqueue the code exchange',
            );
            return page(
              res,
              503,
              'Consent received — finishing shortly',
              'We recorded your consent but cannot process it this moment. It will complete on its own within a few minutes; there is no need to grant it again.',
            );
          }
        }
        return res.redirect(
          303,
          withParams(attempt.returnUrl, { consent: 'pending', attempt: attempt.id }),
        );
      }
    }
  };

  router.get('/auth/callback', (req, res, next) => {
    handle(req, res, req.query as Record<string, unknown>).catch(next);
  });
  router.post(
    '/auth/callback',
    express.urlencoded({ extended: false, limit: '32kb', parameterLimit: 20 }),
    (req, res, next) => {
      handle(req, res, (req.body ?? {}) as Record<string, unknown>).catch(next);
    },
  );
  return router;
}

/**
 * Errors of /auth/callback while the database is down, whether reading the session or
 * recording the code: nothing was recorded, and the same link works again shortly (its state
 * stays valid), so the browser gets a page saying so rather than a JSON 500.
 */
export function callbackOutagePage(log: Logger) {
  return (error: unknown, req: Request, res: Response, next: NextFunction): void => {
    if (req.path !== '/auth/callback' || !isDatabaseUnavailable(error) || res.headersSent) {
      next(error);
      return;
    }
    log.warn('cannot record a consent callback: the database is unreachable');
    res
      .status(503)
      .set('Retry-After', '10')
      .type('html')
      .send(
        messagePage(
          'Consent not recorded yet — try again in a moment',
          'We cannot record your consent this moment. Wait a few seconds, then reload this page: your consent is kept for as long as this link is valid, so there is no need to start again.',
        ),
      );
  };
}
