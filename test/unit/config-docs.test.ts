import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'chai';
import { defaultQueueTuning } from '../../config/index.js';
import { envDefaults, envVariables } from '../../config/env.js';
import {
  configurationRows,
  readmeWithConfigurationTable,
} from '../../scripts/configuration-table.js';

describe('configuration documentation', () => {
  it("keeps README.md's configuration table in step with the schema (npm run config:docs)", async () => {
    const readme = readFileSync('README.md', 'utf8');
    const written = await readmeWithConfigurationTable(readme);
    expect(readme, 'README.md differs from what npm run config:docs writes').to.equal(written);
  });

  it('documents every variable: a meaning, and a schema default or what happens when unset', () => {
    const rows = configurationRows();
    expect(rows.map((row) => row.variable)).to.deep.equal(Object.keys(envVariables));
    for (const row of rows) {
      expect(row.meaning, row.variable).to.match(/\S/);
      expect(row.default, row.variable).to.match(/\S/);
    }
    const shown = Object.fromEntries(rows.map((row) => [row.variable, row.default]));
    expect(shown.REFRESH_CONCURRENCY).to.equal(`\`${defaultQueueTuning.refreshConcurrency}\``);
    expect(shown.QUEUE_PREFIX).to.equal('`{ls}`');
  });

  it('takes the queue tuning defaults from the schema', () => {
    expect(defaultQueueTuning).to.deep.equal({
      refreshConcurrency: envDefaults.REFRESH_CONCURRENCY,
      refreshGlobalConcurrency: envDefaults.REFRESH_GLOBAL_CONCURRENCY,
      reconcileIntervalSeconds: envDefaults.RECONCILE_INTERVAL_SECONDS,
      jobLockSeconds: envDefaults.JOB_LOCK_SECONDS,
      alertDigestHourUtc: envDefaults.ALERT_DIGEST_HOUR_UTC,
    });
  });

  it('cites in docs/ only the defaults the schema has ("`VARIABLE`, default `value`")', () => {
    const shown = new Map(configurationRows().map((row) => [row.variable as string, row.default]));
    const cited: string[] = [];
    for (const file of readdirSync('docs').filter((name) => name.endsWith('.md'))) {
      const text = readFileSync(`docs/${file}`, 'utf8');
      for (const [, name, value] of text.matchAll(
        /`([A-Z][A-Z0-9_]+)`[^`]{0,60}?default `([^`]+)`/g,
      )) {
        if (!shown.has(name!)) continue;
        expect(`${file}: ${name} default \`${value}\``).to.equal(
          `${file}: ${name} default ${shown.get(name!)}`,
        );
        cited.push(name!);
      }
    }
    expect(cited).to.include.members(['QUEUE_PREFIX', 'REFRESH_CONCURRENCY', 'JOB_LOCK_SECONDS']);
  });
});
