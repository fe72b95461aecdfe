import express, { type NextFunction, type Request, type Response } from 'express';
import { pinoHttp } from 'pino-http';
import type { Runtime } from '../runtime.js';
import { redactUrl } from '../logger.js';
import { requireAdmin, requireOperator } from './admin-auth.js';
import { consentsRouter } from './api/consents.js';
import { customLicensesRouter } from './api/custom-licenses.js';
import { partnersRouter } from './api/partners.js';
import { refreshRouter } from './api/refresh.js';
import { callbackRouter } from './callback.js';
import { HttpError } from './http-error.js';
import { healthRouter, readinessChecks } from './health.js';
import { createMetrics } from './metrics.js';
import { queueBoardPath, queueBoardRouter } from './queue-board.js';
import { siteRouter, sitePageError, siteSession } from './site.js';

type AppRuntime = Pick<Runtime, 'config' | 'log' | 'store' | 'producer' | 'queues' | 'services'>;

/** The Express app: thin routes that validate, record and enqueue. */
export function createApp(runtime: AppRuntime): express.Express {
  const { config, log, store, producer, queues, services } = runtime;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');

  const metrics = createMetrics(() => queues.all());
  app.use((req, res, next) => metrics.observe(req, res, next));
  app.use(
    pinoHttp({
      logger: log,
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
      },
    }),
  );

  app.use(healthRouter(readinessChecks(store, producer)));
  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  const admin = requireAdmin(config.adminApiToken);
  // The pages' session, for the pages, the dashboard and the callback (which must come back in
  // the session that started a consent from the pages); the API (a bearer token) does without.
  const session = siteSession(config, store, services);
  app.use((req, res, next) => (req.path.startsWith('/api/') ? next() : session(req, res, next)));
  app.use(queueBoardPath, requireOperator(config.adminApiToken), queueBoardRouter(queues.all()));

  app.use(callbackRouter({ attempts: services.attempts, queues, log }));

  const api = express.Router();
  api.use(admin);
  api.use(express.json({ limit: '100kb' }));
  // The admin token is the only API credential so far; audit events name it so.
  api.use(partnersRouter(services, 'admin-api'));
  api.use(consentsRouter(services, config.publicUrl));
  api.use(refreshRouter(services, queues));
  api.use(customLicensesRouter(services, queues, config.publicUrl, 'admin-api'));
  api.use((_req, _res, next) => next(new HttpError(404, 'not_found', 'No such resource.')));
  app.use('/api/v1', api);

  app.use(siteRouter({ config, services, queues, redis: producer }));
  app.use(sitePageError);

  app.use((_req, _res, next) => next(new HttpError(404, 'not_found', 'No such resource.')));
  app.use((error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const status =
      error instanceof HttpError
        ? error.status
        : // body-parser's errors (malformed JSON, too large) carry a 4xx status.
          typeof (error as { status?: unknown }).status === 'number' &&
            (error as { status: number }).status < 500
          ? (error as { status: number }).status
          : 500;
    if (status >= 500) req.log.error({ err: error }, 'request failed');
    const code =
      error instanceof HttpError ? error.code : status >= 500 ? 'internal' : 'bad_request';
    const message = status >= 500 ? 'Something went wrong on our side.' : (error as Error).message;
    res.status(status).json({ error: { code, message } });
  });
  return app;
}
