import { readFileSync } from 'node:fs';
import { Router, type NextFunction, type Request, type Response } from 'express';
import { parseWith } from '../base.js';
import type { PsaEmulatorDefinition } from '../definition.js';
import { requireBearer, tokenRouter } from './auth.js';
import { HaloRequestError, sendHaloError } from './errors.js';
import { haloRateLimit } from './rate-limit.js';
import { readRoutes } from './read-routes.js';
import { haloScenarioSchema, type HaloScenario } from './scenario.js';
import { HaloState } from './state.js';
import { renderInvoice } from './wire.js';
import { writeRoutes } from './write-routes.js';

// The HaloPSA emulator: the authorisation server at /auth and the resource server at /api on
// one origin, as Halo shows them under Configuration > Integrations > Halo API.

function haloRouter(state: HaloState): Router {
  const router = Router();
  router.use(tokenRouter(state));
  const api = Router();
  api.use(haloRateLimit(state), requireBearer(state));
  api.use(readRoutes(state), writeRoutes(state));
  api.use((error: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (!(error instanceof HaloRequestError)) return next(error);
    sendHaloError(res, error.status, error.message);
  });
  router.use('/api', api);
  return router;
}

export const haloEmulator: PsaEmulatorDefinition<HaloScenario, HaloState> = {
  kind: 'halo',
  parseScenario: (input) => parseWith(haloScenarioSchema, input),
  defaultScenario: () =>
    parseWith(
      haloScenarioSchema,
      JSON.parse(readFileSync(new URL('../scenarios/halo.json', import.meta.url), 'utf8')),
    ),
  createState: (scenario, base) => new HaloState(scenario, base),
  router: (state) => haloRouter(state),
  sendError: sendHaloError,
  snapshot: (state) => ({
    clients: [...state.clients.values()],
    azureTenants: [...state.azureTenants.values()],
    items: [...state.items.values()],
    licences: [...state.licences.values()],
    contracts: [...state.contracts.values()],
    recurringInvoices: [...state.invoices.values()].map((r) => renderInvoice(state, r, true)),
    liveTokens: [...state.tokens.values()].filter((t) => t.expiresAt > state.base.now()).length,
  }),
  control: (router, holder) => {
    // Signs every application out, as revoking the API application's secret does in Halo.
    router.post('/tokens/revoke', (_req, res) => {
      holder().state.tokens.clear();
      res.status(204).end();
    });
  },
  describe: (scenario) => ({
    authUrl: '/auth',
    apiUrl: '/api',
    ...(scenario.tenant ? { tenant: scenario.tenant } : {}),
    clientIds: scenario.applications.map((a) => a.clientId),
  }),
};
