import { expect } from 'chai';
import { jobData, jobNames, retryDelay, splitJobData } from '../../src/queue/catalog.js';
import { assertProcessorsMatchCatalog } from '../../src/queue/worker-pool.js';
import { processors } from '../../workers/processors.js';

describe('job catalog', () => {
  it("keeps a job's label beside its payload, short, and gives processors the payload alone", () => {
    const payload = { runId: 'r', customerTenantId: 't' };
    expect(jobData(payload)).to.deep.equal(payload);
    expect(jobData(payload, '  ')).to.deep.equal(payload);
    const data = jobData(payload, ` Contoso ${'x'.repeat(200)}`) as { label: string };
    expect(data.label)
      .to.have.length(80)
      .and.match(/^Contoso x/);
    expect(splitJobData(data)).to.deep.equal({ payload, label: data.label });
    expect(splitJobData(payload)).to.deep.equal({ payload });
  });

  it('waits exponentially longer between retries, capped, with up to half of it random', () => {
    const waits = [1, 2, 3, 4, 5, 6, 9].map((n) => retryDelay('refreshCustomer', n, 1));
    expect(waits).to.deep.equal([2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
    expect(retryDelay('refreshCustomer', 3, 0)).to.equal(4_000);
    expect(retryDelay('no such job', 3)).to.equal(0);
  });

  it('has a processor for every job the service ships', () => {
    expect(() => assertProcessorsMatchCatalog(jobNames, processors)).to.not.throw();
  });

  it('stops start-up naming a job without a processor and a processor without a job', () => {
    const noop = async () => {};
    expect(() =>
      assertProcessorsMatchCatalog(['reconcile', 'refresh'], { reconcile: noop }),
    ).to.throw(/job "refresh" has no processor/);
    expect(() =>
      assertProcessorsMatchCatalog(['reconcile'], { reconcile: noop, stray: noop }),
    ).to.throw(/processor "stray" has no catalog entry/);
  });
});
