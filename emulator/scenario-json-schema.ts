import { z } from 'zod';
import { scenarioSchema } from './scenario.js';

/** The scenario format as JSON Schema, for editors and for readers of scenario files. */
export function scenarioJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }),
    title: 'license-sync Microsoft emulator scenario',
  };
}
