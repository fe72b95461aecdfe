import { readFileSync } from 'node:fs';
import type { Response } from 'express';
import { parseWith } from '../base.js';
import type { PsaEmulatorDefinition } from '../definition.js';
import { autotaskControls } from './control.js';
import { autotaskRouter } from './routes.js';
import { autotaskScenarioSchema, type AutotaskScenario } from './scenario.js';
import { AutotaskState } from './state.js';

// The Autotask PSA REST API v1.0 as the emulator plays it (docs/psa-emulators.md, "Autotask").

export type { AutotaskScenario } from './scenario.js';

export const autotaskEmulator: PsaEmulatorDefinition<AutotaskScenario, AutotaskState> = {
  kind: 'autotask',
  parseScenario: (input) => parseWith(autotaskScenarioSchema, input),
  defaultScenario: () =>
    parseWith(
      autotaskScenarioSchema,
      JSON.parse(readFileSync(new URL('../scenarios/autotask.json', import.meta.url), 'utf8')),
    ),
  createState: (scenario, base) => new AutotaskState(scenario, base),
  router: (state, _base, url) => autotaskRouter(state, url),
  sendError: (res: Response, status: number, message: string) => {
    res.status(status).json({ errors: [message] });
  },
  snapshot: (state) => ({
    companies: state.companies,
    contracts: state.contracts,
    contractServices: state.contractServices,
    contractServiceUnits: state.units,
    contractServiceAdjustments: state.adjustments,
    services: state.services,
    products: state.products,
    postedThrough: Object.fromEntries(state.postedThrough),
    userZones: Object.fromEntries(state.userZones),
    requestsThisHour: state.limits.used(),
  }),
  control: autotaskControls,
  describe: (scenario) => ({
    zoneLookupPath: '/atservicesrest/',
    userName: scenario.apiUsers[0]?.userName,
    integrationCode: scenario.integrationCodes[0],
  }),
};
