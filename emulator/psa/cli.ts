// npm run psa-emulator -- --psa connectwise|autotask|halo [--port 0] [--scenario file.json]
//                         [--hostname 127.0.0.1] [--dir folder-for-the-CA-file]
// Prints one JSON line (psa, url, caFile, control, ...) once it listens; Ctrl-C stops it.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { psaKinds, type PsaKind } from './base.js';
import type { PsaEmulatorDefinition, PsaScenarioCommon } from './definition.js';
import { psaEmulators } from './emulators.js';
import { startPsaEmulator } from './server.js';

const { values } = parseArgs({
  options: {
    psa: { type: 'string' },
    port: { type: 'string', default: '0' },
    scenario: { type: 'string' },
    hostname: { type: 'string', default: '127.0.0.1' },
    dir: { type: 'string' },
  },
});

async function start<Scenario extends PsaScenarioCommon, State>(
  definition: PsaEmulatorDefinition<Scenario, State>,
) {
  const scenario = values.scenario
    ? definition.parseScenario(JSON.parse(readFileSync(values.scenario, 'utf8')))
    : definition.defaultScenario();
  const emulator = await startPsaEmulator(definition, {
    scenario,
    port: Number(values.port),
    hostname: values.hostname,
    ...(values.dir ? { dir: values.dir } : {}),
  });
  process.stdout.write(
    `${JSON.stringify({
      psa: definition.kind,
      url: emulator.url,
      caFile: emulator.caFile,
      control: `${emulator.url}/_emulator`,
      ...definition.describe?.(scenario),
    })}\n`,
  );
  const stop = () => void emulator.stop().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

try {
  const kind = values.psa as PsaKind | undefined;
  if (!kind || !psaKinds.includes(kind))
    throw new Error(`--psa must be one of ${psaKinds.join(', ')}`);
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error('--port must be a port number (0: any free port)');
  await start(psaEmulators[kind] as PsaEmulatorDefinition<PsaScenarioCommon, unknown>);
} catch (error) {
  process.stderr.write(`psa-emulator: ${(error as Error).message}\n`);
  process.exit(1);
}
