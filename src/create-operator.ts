// Creates an operator account (the first one, or another): npm run create-operator -- <email>
// The password comes from OPERATOR_PASSWORD, or is read from standard input.
import { createInterface } from 'node:readline/promises';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../config/index.js';
import { createLogger } from './logger.js';
import { hashPassword } from './server/auth/passwords.js';
import { DataDirInUseError } from './store/data-dir-lock.js';
import { openStore, type Store } from './store/database.js';
import { UserStore } from './store/users.js';

const email = z.email().safeParse(process.argv[2]);
if (!email.success) {
  process.stderr.write(
    'usage: npm run create-operator -- <email>   (password: OPERATOR_PASSWORD or stdin)\n',
  );
  process.exit(64);
}
let config;
try {
  config = loadConfig().config;
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(78);
}
let password = process.env.OPERATOR_PASSWORD;
if (!password) {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  process.stderr.write('Password (at least 12 characters): ');
  password = (await rl.question('')).trim();
  rl.close();
}
if (password.length < 12) {
  process.stderr.write('The password needs at least 12 characters.\n');
  process.exit(64);
}
const log = createLogger({ level: 'warn', name: 'create-operator' });
let store: Store;
try {
  store = openStore({ databaseUrl: config.databaseUrl, pgliteDataDir: config.pgliteDataDir, log });
} catch (error) {
  if (!(error instanceof DataDirInUseError)) throw error;
  process.stderr.write(`${error.message}\nNo operator was created.\n`);
  process.exit(75); // EX_TEMPFAIL
}
try {
  await store.migrate();
  const user = await new UserStore(store.db).create(
    {
      email: email.data,
      passwordHash: await hashPassword(password),
      role: 'operator',
      partnerId: null,
    },
    'create-operator',
  );
  if (!user) {
    process.stderr.write(`${email.data} already has an account.\n`);
    process.exitCode = 1;
  } else {
    process.stdout.write(`Operator ${user.email} created.\n`);
  }
} finally {
  await store.close();
}
