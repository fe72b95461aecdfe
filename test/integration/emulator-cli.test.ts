import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { expect } from 'chai';
import { createHttpClient } from '../../src/http-client.js';
import { startService, type ServiceProcess } from '../support/process.js';

describe('npm run emulator', () => {
  let emulator: ServiceProcess | undefined;
  afterEach(async () => {
    if (emulator && emulator.child.exitCode === null) {
      emulator.child.kill('SIGKILL');
      await emulator.exited;
    }
  });

  it('prints one JSON line with its URL, CA file and partner, serves over HTTPS, and stops on SIGTERM, taking its CA folder with it', async () => {
    emulator = startService('emulator/cli.ts', {}, [
      '--port',
      '0',
      '--scenario',
      'emulator/scenarios/default.json',
    ]);
    const line = await emulator.waitForLog((l) => typeof l.url === 'string');
    expect(line).to.include.keys(
      'url',
      'caFile',
      'partnerTenantId',
      'partnerCenterUrl',
      'graphUrl',
    );
    expect(readFileSync(line.caFile as string, 'utf8')).to.contain('BEGIN CERTIFICATE');
    const http = createHttpClient({ extraCaFile: line.caFile as string });
    const tenant = line.partnerTenantId as string;
    const res = await http.get(
      `${line.url as string}/${tenant}/v2.0/.well-known/openid-configuration`,
    );
    expect(res.status).to.equal(200);
    expect((JSON.parse(res.data as string) as { issuer: string }).issuer).to.equal(
      `${line.url as string}/${tenant}/v2.0`,
    );
    emulator.child.kill('SIGTERM');
    expect(await emulator.exited).to.equal(0);
    expect(existsSync(dirname(line.caFile as string))).to.equal(false);
  });

  it('refuses an invalid scenario file with a message naming the problem', async () => {
    emulator = startService('emulator/cli.ts', {}, ['--port', '0', '--scenario', 'package.json']);
    expect(await emulator.exited).to.equal(1);
    expect(emulator.lines.join('\n')).to.match(/emulator: invalid scenario: clients: /);
  });
});
