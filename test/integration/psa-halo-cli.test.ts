import { expect } from 'chai';
import { createHttpClient } from '../../src/http-client.js';
import { startService, type ServiceProcess } from '../support/process.js';

describe('npm run psa-emulator -- --psa halo', () => {
  let emulator: ServiceProcess | undefined;
  afterEach(async () => {
    if (emulator && emulator.child.exitCode === null) {
      emulator.child.kill('SIGKILL');
      await emulator.exited;
    }
  });

  it('prints one JSON line with its URL, CA file and client ids, and grants a token', async () => {
    emulator = startService('emulator/psa/cli.ts', {}, ['--psa', 'halo', '--port', '0']);
    const line = await emulator.waitForLog((l) => l.psa === 'halo');
    expect(line).to.include({ authUrl: '/auth', apiUrl: '/api' });
    expect(line.clientIds).to.deep.equal(['5f0c3b1e-halo-sync']);
    expect(JSON.stringify(line)).to.not.contain('halo-emulator-secret');
    const http = createHttpClient({ extraCaFile: line.caFile as string });
    const res = await http.post(
      `${line.url as string}/auth/token`,
      'grant_type=client_credentials&client_id=5f0c3b1e-halo-sync&client_secret=halo-emulator-secret&scope=all',
      { headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    );
    expect(res.status).to.equal(200);
    emulator.child.kill('SIGTERM');
    expect(await emulator.exited).to.equal(0);
  });
});
