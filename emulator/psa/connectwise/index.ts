import { readFileSync } from 'node:fs';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { parseWith, psaScenarioBase } from '../base.js';
import type { PsaEmulatorDefinition } from '../definition.js';

// The ConnectWise emulator: scenario, entities and routes. (Placeholder: routes not written yet.)

const scenarioSchema = z.object({ ...psaScenarioBase }).strict();
type ConnectWiseScenario = z.infer<typeof scenarioSchema>;

export const connectwiseEmulator: PsaEmulatorDefinition<ConnectWiseScenario, object> = {
  kind: 'connectwise',
  parseScenario: (input) => parseWith(scenarioSchema, input),
  defaultScenario: () =>
    parseWith(
      scenarioSchema,
      JSON.parse(readFileSync(new URL('../scenarios/connectwise.json', import.meta.url), 'utf8')),
    ),
  createState: () => ({}),
  router: () => Router(),
  sendError: (res: Response, status: number, message: string) => {
    res.status(status).json({ message });
  },
  snapshot: (state) => state,
};
