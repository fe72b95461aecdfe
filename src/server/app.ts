import express, { type NextFunction, type Request, type Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Runtime } from '../runtime.js';
import { redactUrl, serializeError } from '../logger.js';
import { carriesAdminBearer, requireAdmin, requireOperator } from './admin-auth.js';
import { consentsRouter } from './api/consents.js';
import { customLicensesRouter } from './api/custom-licenses.js';
import { companiesRouter } from './api/companies.js';
import { partnersRouter } from './api/partners.js';
import { accessRouter } from './api/access.js';
import { refreshRouter } from './api/refresh.js';
import { billingRouter } from './api/billing.js';
import { seatHistoryRouter } from './api/seat-history.js';
import { psaRouter } from './api/psa.js';
import { skusRouter } from './api/skus.js';
import { renewalsRouter } from './api/renewals.js';
import { notificationsRouter } from './api/notifications.js';
import { callbackOutagePage, callbackRouter } from './callback.js';
import { consentStarts, requestLimiter, tooManyConsentStarts } from './request-limits.js';
import { HttpError, errorAnswer } from './http-error.js';
import { healthRouter, readinessChecks } from './health.js';
import { createMetrics, serveMetrics, type HttpMetrics } from './metrics.js';
import { queueBoardPath, queueBoardRouter } from './queue-board.js';
import { securityHeaders } from './security-headers.js';
import { sendErrorPage, siteRouter, sitePageError, siteSession, wantsPage } from './site/index.js';

type AppRuntime = Pick<Runtime, 'config' | 'log' | 'store' | 'producer' | 'queues' | 'services'>;

export interface AppOptions {
  /**
   * The level of the line each request leaves (a request that fails with a 5xx is logged at
   * `error` as well). Default: `info`
   */
  requestLogLevel?: 'info' | 'debug';
}

/** The Express app: thin routes that validate, record and enqueue. */
export function createApp(
  runtime: AppRuntime,
  /** Request and queue metrics, shared with a METRICS_PORT listener. Default: the app's own */
  metrics: HttpMetrics = createMetrics(() => runtime.queues.all()),
  { requestLogLevel = 'info' }: AppOptions = {},
): express.Express {
  const { config, log, store, producer, queues, services } = runtime;
  const app = express();
  app.disable('x-powered-by');
  // Only the configured proxies may speak for the client (address, https); by default none.
  app.set('trust proxy', config.trustProxy);

  app.use((req, res, next) => metrics.observe(req, res, next));
  app.use(
    pinoHttp({
      logger: log,
      useLevel: requestLogLevel,
      // Health probes every few seconds would drown the log.
      autoLogging: { ignore: (req) => req.url === '/healthz' || req.url === '/readyz' },
      serializers: {
        req: (req: { id: unknown; method: string; url: string; remoteAddress?: string }) => ({
          id: req.id,
          method: req.method,
          // The query (code, state...) is only logged through the redacted URL.
          url: redactUrl(req.url),
          remoteAddress: req.remoteAddress,
        }),
        // A redirect to Microsoft carries the state and nonce in its Location.
        res: (res: { statusCode: number; headers?: Record<string, unknown> }) => ({
          statusCode: res.statusCode,
          headers:
            typeof res.headers?.location === 'string'
              ? { ...res.headers, location: redactUrl(res.headers.location) }
              : res.headers,
        }),
        err: serializeError,
      },
    }),
  );

  app.use(securityHeaders(config, queueBoardPath));

  const admin = requireAdmin(config.adminApiToken);
  app.use(
    healthRouter(readinessChecks(store, producer, config.queuePrefix), {
      showsDetails: (req) => carriesAdminBearer(req, config.adminApiToken),
    }),
  );
  // With METRICS_PORT set, /metrics is served there (see run.ts) and not here.
  if (config.metricsPort === undefined) app.get('/metrics', admin, serveMetrics(metrics));

  // The pages' session, for the pages, the dashboard and the callback (which must come back in
  // the session that started a consent from the pages); the API (a bearer token) does without.
  const session = siteSession(config, store, services);
  app.use((req, res, next) => (req.path.startsWith('/api/') ? next() : session(req, res, next)));
  app.use(
    queueBoardPath,
    requireOperator(config.adminApiToken, config.publicUrl),
    queueBoardRouter(queues.all()),
  );

  app.use(callbackRouter({ attempts: services.attempts, queues, log }));
  // After the session too: reading it is the callback's first database query.
  app.use(callbackOutagePage(log));

  const api = express.Router();
  api.use(admin);
  api.use(express.json({ limit: '100kb' }));
  api.post(
    ['/partners/:id/consents', '/partners/:id/custom-license-token/consents'],
    requestLimiter({
      redis: producer,
      budget: consentStarts,
      prefix: `${config.queuePrefix}:consent-starts:api:`,
      keyOf: (req) => `partner:${String(req.params.id).toLowerCase()}`,
      refuse: (_req, res) => {
        res.status(429).json({ error: { code: 'rate_limited', message: tooManyConsentStarts } });
      },
    }),
  );
  // The admin token is the only API credential so far; audit events name it so.
  api.use(partnersRouter(services, 'admin-api'));
  api.use(companiesRouter(services, 'admin-api'));
  api.use(consentsRouter(services, config.publicUrl));
  api.use(refreshRouter(services, queues));
  api.use(accessRouter(services, queues, 'admin-api'));
  api.use(customLicensesRouter(services, queues, config.publicUrl, 'admin-api'));
  api.use(psaRouter(services, queues, 'admin-api'));
  api.use(billingRouter(services, queues, 'admin-api'));
  api.use(skusRouter(services));
  api.use(renewalsRouter(services));
  api.use(seatHistoryRouter(services));
  api.use(notificationsRouter(services, queues, config, 'admin-api'));
  api.use((_req, _res, next) => next(new HttpError(404, 'not_found', 'No such resource.')));
  app.use('/api/v1', api);

  app.use(siteRouter({ config, services, queues, redis: producer }));
  app.use(sitePageError);

  app.use((req, res, next) => {
    // A browser asking for a page gets one; API clients and scripts keep the JSON answer.
    if (wantsPage(req)) return sendErrorPage(res, 404, 'There is no page at this address.');
    next(new HttpError(404, 'not_found', 'No such resource.'));
  });
  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const { status, code, message } = errorAnswer(error);
    if (status >= 500) req.log.error({ err: error }, 'request failed');
    res.status(status).json({ error: { code, message } });
  });
  return app;
}
