import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { createLogger } from '../../src/logger.js';
import { lockFileName } from '../../src/store/data-dir-lock.js';
import { openStore } from '../../src/store/database.js';
import { UserStore } from '../../src/store/users.js';
import { testEnv } from '../support/config.js';
import { runToEnd, startService, type ServiceProcess } from '../support/process.js';
import { freshPrefix, removePrefix } from '../support/redis.js';

const listening = (line: Record<string, unknown>) => line.msg === 'API listening';

describe('the embedded database (PGlite) shared by two processes', function () {
  // A test starts up to six processes, one after another, each compiling the service anew.
  this.timeout(90_000);
  let dataDir: string;
  let prefix: string;
  const running: ServiceProcess[] = [];

  const env = () =>
    testEnv({
      DATABASE_URL: undefined,
      PGLITE_DATA_DIR: dataDir,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'info',
      SHUTDOWN_GRACE_SECONDS: '1',
    });
  const start = () => {
    const service = startService('workers/all-in-one.ts', env());
    running.push(service);
    return service;
  };
  const createOperator = (email: string) =>
    startService(
      'src/create-operator.ts',
      { ...env(), OPERATOR_PASSWORD: 'a long enough password' },
      [email],
    );
  const operatorExists = async (email: string) => {
    const store = openStore({
      databaseUrl: undefined,
      pgliteDataDir: dataDir,
      log: createLogger({ level: 'silent' }),
    });
    try {
      return (await new UserStore(store.db).byEmail(email)) !== undefined;
    } finally {
      await store.close();
    }
  };

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'license-sync-pglite-'));
    prefix = freshPrefix();
  });
  afterEach(async function () {
    for (const service of running.splice(0)) {
      if (service.child.exitCode === null && service.child.signalCode === null) {
        service.child.kill('SIGKILL');
        await service.exited;
      }
    }
    if (this.currentTest?.state === 'passed') {
      rmSync(dataDir, { recursive: true, force: true });
      await removePrefix(prefix);
    }
  });

  it('refuses a second process while `npm start` runs, saying who holds it; after a stop the operator is saved', async () => {
    const service = start();
    await service.waitForLog(listening);
    const pid = service.child.pid!;

    const refused = await runToEnd(createOperator('first@example.com'), 'create-operator');
    expect(refused.code).to.not.equal(0);
    expect(refused.output).to.contain(dataDir);
    expect(refused.output).to.contain(`pid ${String(pid)}`);
    expect(refused.output).to.contain('DATABASE_URL');
    expect(refused.output).to.contain('No operator was created');
    expect(refused.output).to.not.contain('Operator first@example.com created');

    const keys = await runToEnd(startService('src/keys.ts', env(), ['status']), 'npm run keys');
    expect(keys.code).to.not.equal(0);
    expect(keys.output).to.contain(`pid ${String(pid)}`);

    const second = start();
    const secondEnd = await runToEnd(second, 'a second npm start');
    expect(secondEnd.code).to.not.equal(0);
    expect(secondEnd.output).to.contain(`pid ${String(pid)}`);

    service.child.kill('SIGTERM');
    expect(await runToEnd(service, 'the first service stopping')).to.include({ code: 0 });
    expect(existsSync(join(dataDir, lockFileName)), 'lock released on close').to.equal(false);

    const created = await runToEnd(createOperator('first@example.com'), 'create-operator');
    expect(created.code, created.output).to.equal(0);
    expect(created.output).to.contain('Operator first@example.com created.');
    expect(await operatorExists('first@example.com')).to.equal(true);
  });

  it('is not blocked by the lock of a process that died without releasing it', async () => {
    const service = start();
    await service.waitForLog(listening);
    service.child.kill('SIGKILL');
    await runToEnd(service, 'the killed service');
    expect(existsSync(join(dataDir, lockFileName)), 'a killed process leaves its lock').to.equal(
      true,
    );

    const created = await runToEnd(createOperator('after-crash@example.com'), 'create-operator');
    expect(created.code, created.output).to.equal(0);
    expect(await operatorExists('after-crash@example.com')).to.equal(true);
  });

  it('needs no lock for memory://', async () => {
    const inMemory = () =>
      openStore({
        databaseUrl: undefined,
        pgliteDataDir: 'memory://',
        log: createLogger({ level: 'silent' }),
      });
    const [a, b] = [inMemory(), inMemory()];
    await Promise.all([a.ping(), b.ping()]);
    await Promise.all([a.close(), b.close()]);
  });
});
