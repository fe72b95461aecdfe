// Writes README.md's configuration table from the env schema (npm run config:docs).
import { readFileSync, writeFileSync } from 'node:fs';
import { readmeWithConfigurationTable } from './configuration-table.js';

const file = 'README.md';
writeFileSync(file, await readmeWithConfigurationTable(readFileSync(file, 'utf8'), file));
