// npm run emulator -- [--port 4443] [--scenario file.json] [--hostname localhost]
//                     [--cert cert.pem --key key.pem] [--dir folder-for-the-CA-file]
// Prints one JSON line (url, caFile, partnerTenantId, ...) once it listens; Ctrl-C stops it.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadDefaultScenario, loadScenarioFile } from './scenario.js';
import { startEmulator } from './server.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '4443' },
    scenario: { type: 'string' },
    hostname: { type: 'string', default: '127.0.0.1' },
    cert: { type: 'string' },
    key: { type: 'string' },
    dir: { type: 'string' },
  },
});

try {
  const scenario = values.scenario ? loadScenarioFile(values.scenario) : loadDefaultScenario();
  if (Boolean(values.cert) !== Boolean(values.key)) throw new Error('--cert and --key go together');
  const emulator = await startEmulator({
    scenario,
    port: Number(values.port),
    hostname: values.hostname,
    ...(values.dir ? { dir: values.dir } : {}),
    ...(values.cert && values.key
      ? { tls: { cert: readFileSync(values.cert, 'utf8'), key: readFileSync(values.key, 'utf8') } }
      : {}),
  });
  process.stdout.write(
    `${JSON.stringify({
      url: emulator.url,
      caFile: emulator.caFile,
      partnerTenantId: emulator.partnerTenantId,
      authorityHost: emulator.url,
      partnerCenterUrl: emulator.url,
      graphUrl: emulator.url,
      clientId: scenario.clients[0]!.clientId,
      control: `${emulator.url}/_emulator`,
    })}\n`,
  );
  const stop = () => void emulator.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
} catch (error) {
  process.stderr.write(`emulator: ${(error as Error).message}\n`);
  process.exit(1);
}
