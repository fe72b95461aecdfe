import { Router, type Request, type Response } from 'express';
import { authenticateApiRequest, requireLevel } from './access.js';
import { additionRoutes } from './additions.js';
import { sendConnectwiseError } from './errors.js';
import { sendCount, sendList } from './listing.js';
import type { ConnectwiseState } from './state.js';
import { agreementView, catalogItemView, companyView } from './views.js';

// The site: /login/companyinfo/{companyId} (no authentication) names the codebase, and the
// REST API answers under /{codebase}apis/3.0.

type Row = { id: number } & Record<string, unknown>;

export function connectwiseRouter(state: ConnectwiseState, url: () => string): Router {
  const { scenario } = state;
  const apiBase = () => `${url()}/${state.codebase}apis/3.0`;
  const router = Router();

  router.get('/login/companyinfo/:companyId', (req, res) => {
    if (req.params.companyId.toLowerCase() !== scenario.companyId.toLowerCase())
      return void res.json(null);
    res.json({
      CompanyName: scenario.companyName ?? scenario.companyId,
      Codebase: state.codebase,
      VersionCode: `v${scenario.apiVersion}`,
      VersionNumber: `v${scenario.apiVersion}.0`,
      CompanyID: scenario.companyId,
      IsCloud: scenario.isCloud,
    });
  });

  const api = Router();
  api.use(authenticateApiRequest(state));
  api.get('/system/info', (_req, res) => {
    res.json({
      version: `v${scenario.apiVersion}.0`,
      isCloud: scenario.isCloud,
      serverTimeZone: 'Eastern Standard Time',
    });
  });

  /** GET list, /count and /{id} of one entity family. */
  const collection = (
    path: string,
    module: Parameters<typeof requireLevel>[0],
    rows: (res: Response) => Row[],
    noun: string,
  ) => {
    const inquire = requireLevel(module, 'inquire');
    api.get(`${path}/count`, inquire, (req, res) => sendCount(req, res, rows(res)));
    api.get(path, inquire, (req, res) =>
      sendList(req, res, rows(res), {
        origin: url(),
        oversizedPageSize: scenario.oversizedPageSize,
      }),
    );
    api.get(`${path}/:id`, inquire, (req: Request, res: Response) => {
      const row = rows(res).find((r) => String(r.id) === req.params.id);
      if (row) return void res.json(row);
      sendConnectwiseError(res, 404, `${noun} with id ${String(req.params.id)} was not found.`);
    });
  };
  collection(
    '/company/companies',
    'companyMaintenance',
    () => [...state.companies.values()].map((c) => companyView(c, apiBase())),
    'Company',
  );
  collection(
    '/procurement/catalog',
    'productCatalog',
    () => [...state.catalog.values()].map((item) => catalogItemView(item, apiBase())),
    'Catalog item',
  );
  api.use('/finance/agreements/:agreementId/additions', additionRoutes(state, apiBase, url));
  collection(
    '/finance/agreements',
    'agreements',
    (res) =>
      [...state.agreements.keys()].map((id) =>
        agreementView(state, id, apiBase(), res.locals.model as string),
      ),
    'Agreement',
  );
  api.use((req, res) =>
    sendConnectwiseError(res, 404, `No resource at ${req.method} ${req.path}.`),
  );

  // The codebase is read on each request: an upgrade moves it while clients hold the old one.
  router.use('/:codebase/apis/3.0', (req, res, next) => {
    if (`${req.params.codebase}/`.toLowerCase() === state.codebase.toLowerCase())
      return api(req, res, next);
    sendConnectwiseError(res, 404, `No codebase '${req.params.codebase}/' on this site.`);
  });
  return router;
}
