import { Router, type Request, type Response } from 'express';
import { createAdjustment } from './adjustments.js';
import { canonicalEntity, entityInformation, fieldInformation } from './fields.js';
import { apiGate, sendErrors } from './gate.js';
import { runQuery } from './query-route.js';
import type { AutotaskState } from './state.js';

// The Autotask REST API as one database sees it. The emulator plays both the zone-lookup host
// (its root: /atservicesrest/...) and every zone (/<zone path>/atservicesrest/...).

const adjustments = 'ContractServiceAdjustments';
const unsupported = (req: Request, res: Response) =>
  sendErrors(res, 405, `The requested resource does not support http method '${req.method}'.`);

export function autotaskRouter(state: AutotaskState, url: () => string): Router {
  const router = Router();
  const zoneBase = (path: string) => `${url()}/${path}/atservicesrest/`;

  // Zone lookup needs no credentials and answers on the lookup host and on every zone.
  router.get(
    ['/atservicesrest/v1.0/zoneInformation', '/:zone/atservicesrest/v1.0/zoneInformation'],
    (req, res) => {
      const user = typeof req.query.user === 'string' ? req.query.user.toLowerCase() : '';
      const path = state.userZones.get(user);
      const zone = state.scenario.zones.find((z) => z.path === path);
      if (!zone)
        return sendErrors(res, 500, 'Zone information could not be determined for the user.');
      res.json({
        zoneName: zone.zoneName,
        url: zoneBase(zone.path),
        webUrl: `${url()}/${zone.path}/`,
        ci: zone.ci,
      });
    },
  );
  router.get(
    ['/atservicesrest/versionInformation', '/:zone/atservicesrest/versionInformation'],
    (_req, res) => {
      res.json({ apiVersions: ['1.0'] });
    },
  );
  // The lookup host serves no data: a client that skips the zone lookup is refused.
  router.use('/atservicesrest/v1.0', (_req, res) =>
    sendErrors(res, 401, 'Unauthorized: call the zone returned by zoneInformation.'),
  );

  const api = Router({ mergeParams: true });
  router.use('/:zone/atservicesrest/v1.0', (req, res, next) => {
    if (!state.scenario.zones.some((z) => z.path === req.params.zone?.toLowerCase())) return next();
    api(req, res, next);
  });
  api.use(apiGate(state));

  api.get('/ThresholdInformation', (_req, res) => {
    res.json({
      externalRequestThreshold: state.limits.config.requestsPerHour,
      requestThresholdTimeframe: 60,
      currentTimeframeRequestCount: state.limits.used(),
    });
  });

  api.post(`/${adjustments}`, (req, res) => sendOutcome(res, createAdjustment(state, req.body)));
  api.post('/Contracts/:parentId/ServiceAdjustments', (req, res) =>
    sendOutcome(res, createAdjustment(state, req.body, Number(req.params.parentId))),
  );
  api.all(
    [`/${adjustments}`, `/${adjustments}/*rest`, '/Contracts/:parentId/ServiceAdjustments'],
    (req, res, next) =>
      req.path.toLowerCase().endsWith('/entityinformation') ||
      req.path.toLowerCase().endsWith('/fields')
        ? next()
        : unsupported(req, res),
  );

  api.get('/Contracts/:parentId/:child', (req, res, next) => {
    const child = { services: 'ContractServices', serviceunits: 'ContractServiceUnits' }[
      String(req.params.child).toLowerCase()
    ];
    if (!child) return next();
    const id = Number(req.params.parentId);
    const items = (state.entity(child) ?? []).filter((r) => r.contractID === id);
    res.json({
      items,
      pageDetails: { count: items.length, requestCount: 500, prevPageUrl: null, nextPageUrl: null },
    });
  });

  const withEntity =
    (handler: (entity: string, req: Request, res: Response) => void) =>
    (req: Request, res: Response, next: () => void) => {
      const entity = canonicalEntity(String(req.params.entity));
      if (!entity) return next();
      handler(entity, req, res);
    };
  api.get(
    '/:entity/entityInformation',
    withEntity((entity, _req, res) => res.json({ info: entityInformation(entity) })),
  );
  api.get(
    '/:entity/entityInformation/fields',
    withEntity((entity, _req, res) => res.json({ fields: fieldInformation(entity) })),
  );
  for (const suffix of ['query', 'query/next', 'query/count'])
    api.all(
      `/:entity/${suffix}`,
      withEntity((entity, req, res) => {
        if (req.method !== 'GET' && req.method !== 'POST') return unsupported(req, res);
        runQuery(state, entity, req, res, suffix === 'query/count');
      }),
    );
  api.get(
    '/:entity/:id',
    withEntity((entity, req, res) => {
      const id = Number(req.params.id);
      const item = state.entity(entity)?.find((r) => r.id === id) ?? null;
      res.json({ item });
    }),
  );
  return router;
}

function sendOutcome(res: Response, outcome: { itemId: number } | { error: string }) {
  if ('error' in outcome) return sendErrors(res, 500, outcome.error);
  res.json(outcome);
}
