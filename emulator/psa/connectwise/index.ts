import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseWith } from '../base.js';
import type { PsaEmulatorDefinition } from '../definition.js';
import { sendConnectwiseError } from './errors.js';
import { connectwiseRouter } from './routes.js';
import { connectwiseScenarioSchema, type ConnectwiseScenario } from './scenario.js';
import { connectwiseSnapshot, createConnectwiseState, type ConnectwiseState } from './state.js';

// ConnectWise PSA (Manage) REST API 3.0 as the emulator plays it (docs/psa-emulators.md).

const codebaseBody = z.object({ codebase: z.string().regex(/^[A-Za-z0-9_.-]+\/$/) }).strict();

export const connectwiseEmulator: PsaEmulatorDefinition<ConnectwiseScenario, ConnectwiseState> = {
  kind: 'connectwise',
  parseScenario: (input) => parseWith(connectwiseScenarioSchema, input),
  defaultScenario: () =>
    parseWith(
      connectwiseScenarioSchema,
      JSON.parse(readFileSync(new URL('../scenarios/connectwise.json', import.meta.url), 'utf8')),
    ),
  createState: createConnectwiseState,
  router: (state, _base, url) => connectwiseRouter(state, url),
  sendError: (res, status, message) => sendConnectwiseError(res, status, message),
  snapshot: connectwiseSnapshot,
  control(router, holder) {
    // Moves the hosted codebase, as a ConnectWise upgrade does: the old API path answers 404.
    router.post('/codebase', (req, res) => {
      const body = codebaseBody.safeParse(req.body);
      if (!body.success)
        return void res.status(400).json({ error: 'expected {"codebase": "v2025_1/"}' });
      holder().state.codebase = body.data.codebase;
      res.json({ codebase: body.data.codebase });
    });
  },
  describe: (scenario) => ({
    companyId: scenario.companyId,
    codebase: scenario.codebase,
    clientId: scenario.clientIds[0],
  }),
};
