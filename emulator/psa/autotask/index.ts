import { readFileSync } from 'node:fs';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { parseWith, psaScenarioBase } from '../base.js';
import type { PsaEmulatorDefinition } from '../definition.js';

// The Autotask emulator: scenario, entities and routes. (Placeholder: routes not written yet.)

const scenarioSchema = z.object({ ...psaScenarioBase }).strict();
type AutotaskScenario = z.infer<typeof scenarioSchema>;

export const autotaskEmulator: PsaEmulatorDefinition<AutotaskScenario, object> = {
  kind: 'autotask',
  parseScenario: (input) => parseWith(scenarioSchema, input),
  defaultScenario: () =>
    parseWith(
      scenarioSchema,
      JSON.parse(readFileSync(new URL('../scenarios/autotask.json', import.meta.url), 'utf8')),
    ),
  createState: () => ({}),
  router: () => Router(),
  sendError: (res: Response, status: number, message: string) => {
    res.status(status).json({ message });
  },
  snapshot: (state) => state,
};
