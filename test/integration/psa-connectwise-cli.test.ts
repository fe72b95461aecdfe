import { expect } from 'chai';
import { createHttpClient } from '../../src/http-client.js';
import { startService, type ServiceProcess } from '../support/process.js';

describe('npm run psa-emulator -- --psa connectwise', () => {
  let emulator: ServiceProcess | undefined;
  afterEach(async () => {
    if (emulator && emulator.child.exitCode === null) {
      emulator.child.kill('SIGKILL');
      await emulator.exited;
    }
  });

  it('prints one JSON line with the URL, CA file and company id, and serves the site', async () => {
    emulator = startService('emulator/psa/cli.ts', {}, ['--psa', 'connectwise', '--port', '0']);
    const line = await emulator.waitForLog((l) => typeof l.url === 'string');
    expect(line).to.include({
      psa: 'connectwise',
      companyId: 'northwindmsp',
      codebase: 'v4_6_release/',
    });
    const http = createHttpClient({ extraCaFile: line.caFile as string });
    const res = await http.get<string>(`${line.url as string}/login/companyinfo/northwindmsp`);
    expect(res.status).to.equal(200);
    expect(JSON.parse(res.data)).to.include({ Codebase: 'v4_6_release/' });
    emulator.child.kill('SIGTERM');
    expect(await emulator.exited).to.equal(0);
  });
});
