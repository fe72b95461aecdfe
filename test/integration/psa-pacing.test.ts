import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createHttpClient } from '../../src/http-client.js';
import type { AutotaskState } from '../../emulator/psa/autotask/state.js';
import { createAutotaskClient } from '../../src/psa/autotask/client.js';
import { autotaskConnectionSchema } from '../../src/psa/autotask/connection.js';
import type { PsaError } from '../../src/psa/errors.js';
import { psaLimits } from '../../src/psa/limits.js';
import { PsaPacing } from '../../src/queue/psa-pacing.js';
import { startTestPsa, type TestPsa } from '../support/psa.js';
import { freshPrefix, removePrefix, testRedisUrl } from '../support/redis.js';

// The PSA's limits held across workers: two clients (as two workers would have) share one
// partner's slots in Redis, so Autotask's limit of three requests at once per object is
// never crossed, however many calls they make together.

describe('PSA pacing across workers', function () {
  this.timeout(60_000);
  let psa: TestPsa;
  let redis: Redis;
  let prefix: string;

  before(async () => {
    psa = await startTestPsa('autotask', {
      products: [{ id: 101, code: 'M365-BP', name: 'Microsoft 365 Business Premium' }],
      companies: [{ id: 1, name: 'Contoso', domain: 'contoso.example', containers: [] }],
    });
    // Every request holds its thread a while, so calls made together are in flight together.
    (psa.emulator.state as AutotaskState).limits.config.holdMs = 150;
    redis = new Redis(testRedisUrl);
    prefix = freshPrefix();
  });
  after(async () => {
    await psa?.emulator.stop();
    await removePrefix(prefix);
    redis?.disconnect();
  });

  const clients = (hooks?: ReturnType<PsaPacing['hooks']>) =>
    [0, 1].map(() =>
      createAutotaskClient(autotaskConnectionSchema.parse(psa.fields), {
        http: createHttpClient({ extraCaFile: psa.emulator.caFile }),
        ...(hooks ? { hooks } : {}),
      }),
    );
  /** Eight company listings from each of two clients at once; the failures they met. */
  async function together(pair: ReturnType<typeof clients>): Promise<PsaError[]> {
    // The zone lookup first, so that every call below is a query of the same object.
    await Promise.all(pair.map((c) => c.listCompanies()));
    const outcomes = await Promise.allSettled(
      pair.flatMap((c) => Array.from({ length: 8 }, () => c.listCompanies())),
    );
    return outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as PsaError] : []));
  }

  it('without pacing, calls made together cross the thread limit', async () => {
    const failures = await together(clients());
    expect(failures.length).to.be.greaterThan(0);
    expect(failures.every((f) => f.kind === 'rate_limited')).to.equal(true);
  });

  it('with the pacing hooks, the same calls all go through', async () => {
    const pacing = new PsaPacing(redis, prefix, {
      ...psaLimits,
      // Fast enough for a test; the cap on calls in flight is Autotask's own.
      autotask: { ...psaLimits.autotask, requestsPerSecond: 200 },
    });
    const hooks = pacing.hooks('autotask', 'connection-under-test');
    const failures = await together(clients(hooks));
    expect(failures.map((f) => f.message)).to.deep.equal([]);
  });
});
