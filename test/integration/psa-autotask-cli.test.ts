import { expect } from 'chai';
import { createHttpClient } from '../../src/http-client.js';
import { startService, type ServiceProcess } from '../support/process.js';
import { within } from '../support/within.js';

describe('npm run psa-emulator -- --psa autotask', () => {
  let emulator: ServiceProcess | undefined;
  afterEach(async () => {
    if (emulator && emulator.child.exitCode === null) {
      emulator.child.kill('SIGKILL');
      await emulator.exited;
    }
  });

  it('prints one JSON line naming the zone lookup and API user, and answers the zone lookup', async () => {
    emulator = startService('emulator/psa/cli.ts', {}, ['--psa', 'autotask', '--port', '0']);
    const line = await within(
      20_000,
      'the JSON line',
      emulator.waitForLog((l) => typeof l.url === 'string'),
    );
    expect(line).to.include({ psa: 'autotask', zoneLookupPath: '/atservicesrest/' });
    expect(JSON.stringify(line)).to.not.contain('emulator-secret');
    const url = line.url as string;
    const http = createHttpClient({ extraCaFile: line.caFile as string });
    const res = await http.get(
      `${url}/atservicesrest/v1.0/zoneInformation?user=${String(line.userName)}`,
    );
    expect(JSON.parse(res.data as string)).to.include({ url: `${url}/zone5/atservicesrest/` });
    emulator.child.kill('SIGTERM');
    expect(await within(10_000, 'the exit', emulator.exited)).to.equal(0);
  });
});
