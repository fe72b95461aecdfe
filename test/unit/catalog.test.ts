import { expect } from 'chai';
import { jobNames } from '../../src/queue/catalog.js';
import { assertProcessorsMatchCatalog } from '../../src/queue/worker-pool.js';
import { processors } from '../../workers/processors.js';

describe('job catalog', () => {
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
