import { readFileSync } from 'node:fs';
import { Router, type Response } from 'express';
import { z } from 'zod';
import { parseWith, psaScenarioBase } from '../base.js';
import type { PsaEmulatorDefinition } from '../definition.js';

// The Halo emulator: scenario, entities and routes. (Placeholder: routes not written yet.)

const scenarioSchema = z.object({ ...psaScenarioBase }).strict();
type HaloScenario = z.infer<typeof scenarioSchema>;

export const haloEmulator: PsaEmulatorDefinition<HaloScenario, object> = {
  kind: 'halo',
  parseScenario: (input) => parseWith(scenarioSchema, input),
  defaultScenario: () =>
    parseWith(
      scenarioSchema,
      JSON.parse(readFileSync(new URL('../scenarios/halo.json', import.meta.url), 'utf8')),
    ),
  createState: () => ({}),
  router: () => Router(),
  sendError: (res: Response, status: number, message: string) => {
    res.status(status).json({ message });
  },
  snapshot: (state) => state,
};
