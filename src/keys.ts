// The encryption keys' use: npm run keys -- status|reseal
// status: how many sealed values each key id seals, per column, and which keys may go.
// reseal: seals again with the first key of ENCRYPTION_KEYS what older keys sealed.
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import { createLogger } from './logger.js';
import { DataDirInUseError } from './store/data-dir-lock.js';
import { openStore, type Store } from './store/database.js';
import { KeyRing } from './store/encryption.js';
import { countSealedValues, resealStaleValues, type SealedCount } from './store/key-rotation.js';

const command = process.argv[2];
if (command !== 'status' && command !== 'reseal') {
  process.stderr.write('usage: npm run keys -- status|reseal\n');
  process.exit(64);
}
let config: Config;
try {
  config = loadConfig().config;
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(78);
}
const log = createLogger({ level: 'warn', name: 'keys' });
let store: Store;
try {
  store = openStore({ databaseUrl: config.databaseUrl, pgliteDataDir: config.pgliteDataDir, log });
} catch (error) {
  if (!(error instanceof DataDirInUseError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(75); // EX_TEMPFAIL
}
const keyRing = new KeyRing(config.encryptionKeys);
const ringIds = config.encryptionKeys.map((k) => k.id);
const out = (line = '') => process.stdout.write(`${line}\n`);

try {
  await store.migrate();
  if (command === 'reseal') {
    const columns = await resealStaleValues(store.db, keyRing);
    out(`Resealed with key ${keyRing.currentKeyId}:`);
    for (const c of columns) {
      out(
        `  ${c.column.padEnd(36)} ${String(c.resealed)} resealed, ${String(c.changedMeanwhile)} changed meanwhile (left as written), ${String(c.unreadable)} unreadable`,
      );
    }
    if (columns.some((c) => c.unreadable > 0)) process.exitCode = 1;
    out();
  }
  printStatus(await countSealedValues(store.db));
} finally {
  await store.close();
}

function printStatus(counts: SealedCount[]): void {
  const totals = new Map<string, number>(ringIds.map((id) => [id, 0]));
  for (const c of counts) totals.set(c.keyId, (totals.get(c.keyId) ?? 0) + c.values);
  out(`Sealed values by key (ENCRYPTION_KEYS: ${ringIds.join(', ')}):`);
  for (const [keyId, values] of totals) {
    const role = keyId === keyRing.currentKeyId ? ' (first: seals new values)' : '';
    const missing = ringIds.includes(keyId) ? '' : ' (not in ENCRYPTION_KEYS: cannot be opened)';
    out(`  ${keyId}${role}${missing}: ${String(values)}`);
  }
  out('By column:');
  if (counts.length === 0) out('  (no sealed values)');
  for (const c of counts) out(`  ${c.column.padEnd(36)} ${c.keyId}: ${String(c.values)}`);
  for (const keyId of ringIds.slice(1)) {
    out(
      totals.get(keyId)
        ? `Key ${keyId} still seals ${plural(totals.get(keyId)!, 'value')}: run \`npm run keys -- reseal\` once every process has ${keyRing.currentKeyId} first.`
        : `Key ${keyId} seals nothing: it can be removed from ENCRYPTION_KEYS.`,
    );
  }
}

function plural(n: number, noun: string): string {
  return `${String(n)} ${noun}${n === 1 ? '' : 's'}`;
}
