// Writes emulator/scenario.schema.json from the zod schema (npm run emulator:schema).
import { writeFileSync } from 'node:fs';
import { scenarioJsonSchema } from '../emulator/scenario-json-schema.js';

writeFileSync(
  'emulator/scenario.schema.json',
  `${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`,
);
