import { expect } from 'chai';
import {
  matchesFilter,
  parseCompanyQuery,
  selectCompanies,
  staleness,
  type CompanyFacts,
} from '../../src/domain/companies.js';

const at = (iso: string) => new Date(iso);

const company = (over: Partial<CompanyFacts> = {}): CompanyFacts => ({
  name: 'Contoso',
  domain: 'contoso.example',
  customerTenantId: '11111111-0000-4000-8000-000000000001',
  stale: false,
  latestResult: { status: 'succeeded', errorMessage: null },
  accessState: 'ok',
  customLicensesFailed: 0,
  billed: 10,
  unassigned: 0,
  refreshedAt: at('2026-12-01T10:00:00Z'),
  ...over,
});

describe('companies: stale counts, filters, search and sort', () => {
  describe('staleness', () => {
    it('is fresh when the counts come from the last completed run or later', () => {
      expect(
        staleness({
          countsAt: at('2026-12-01T10:05:00Z'),
          lastCompletedRunStartedAt: at('2026-12-01T10:00:00Z'),
          latestResult: { status: 'succeeded', errorMessage: null },
        }),
      ).to.deep.equal({ stale: false, reason: null });
    });

    it('is stale, with the dates, when the counts predate the last completed run', () => {
      const s = staleness({
        countsAt: at('2026-11-28T09:00:00Z'),
        lastCompletedRunStartedAt: at('2026-12-01T10:00:00Z'),
        latestResult: { status: 'no_access', errorMessage: null },
      });
      expect(s.stale).to.equal(true);
      expect(s.reason).to.equal(
        'These counts are from 2026-11-28, before the last completed refresh (2026-12-01), which did not read them again.',
      );
    });

    it('is stale, with the error, when the latest run failed for the company', () => {
      // Even while that run is still open (no completed run after the counts yet).
      const s = staleness({
        countsAt: at('2026-12-01T10:05:00Z'),
        lastCompletedRunStartedAt: at('2026-12-01T10:00:00Z'),
        latestResult: { status: 'failed', errorMessage: 'Partner Center refused the request' },
      });
      expect(s).to.deep.equal({
        stale: true,
        reason:
          'The latest refresh failed for this company. Partner Center refused the request. These counts are from 2026-12-01.',
      });
    });

    it('marks nothing when there are no counts, or no run completed yet', () => {
      expect(
        staleness({
          countsAt: null,
          lastCompletedRunStartedAt: at('2026-12-01T10:00:00Z'),
          latestResult: { status: 'failed', errorMessage: 'x' },
        }).stale,
      ).to.equal(false);
      expect(
        staleness({
          countsAt: at('2026-11-01T00:00:00Z'),
          lastCompletedRunStartedAt: null,
          latestResult: { status: 'pending', errorMessage: null },
        }).stale,
      ).to.equal(false);
    });
  });

  describe('filters', () => {
    it('has_failures: a failed refresh or a custom license that did not count', () => {
      expect(matchesFilter('has_failures', company())).to.equal(false);
      expect(
        matchesFilter(
          'has_failures',
          company({ latestResult: { status: 'failed', errorMessage: 'x' } }),
        ),
      ).to.equal(true);
      expect(matchesFilter('has_failures', company({ customLicensesFailed: 1 }))).to.equal(true);
    });

    it('no_access: no access in the latest run, or GDAP access that cannot read', () => {
      expect(matchesFilter('no_access', company({ accessState: 'expiring' }))).to.equal(false);
      expect(matchesFilter('no_access', company({ accessState: null }))).to.equal(false);
      expect(matchesFilter('no_access', company({ accessState: 'expired' }))).to.equal(true);
      expect(
        matchesFilter(
          'no_access',
          company({ latestResult: { status: 'no_access', errorMessage: null } }),
        ),
      ).to.equal(true);
    });

    it('stale and unassigned_seats', () => {
      expect(matchesFilter('stale', company({ stale: true }))).to.equal(true);
      expect(matchesFilter('stale', company())).to.equal(false);
      expect(matchesFilter('unassigned_seats', company({ unassigned: 3 }))).to.equal(true);
      expect(matchesFilter('unassigned_seats', company())).to.equal(false);
    });
  });

  describe('selectCompanies', () => {
    const list = [
      company({ name: 'beta', billed: 5, unassigned: 2, refreshedAt: at('2026-12-01T00:00Z') }),
      company({
        name: 'Alpha',
        domain: 'alpha.example',
        customerTenantId: 'aaaaaaaa-0000-4000-8000-00000000000a',
        billed: 20,
        unassigned: 0,
        refreshedAt: null,
      }),
      company({ name: 'Gamma', billed: 5, unassigned: 7, stale: true }),
    ];
    const names = (q: Partial<Parameters<typeof selectCompanies>[1]>) =>
      selectCompanies(list, { search: '', filters: [], sort: 'name', ...q }).map((c) => c.name);

    it('sorts by name (any case), billed, unassigned and oldest refresh; ties by name', () => {
      expect(names({})).to.deep.equal(['Alpha', 'beta', 'Gamma']);
      expect(names({ sort: 'billed' })).to.deep.equal(['Alpha', 'beta', 'Gamma']);
      expect(names({ sort: 'unassigned' })).to.deep.equal(['Gamma', 'beta', 'Alpha']);
      expect(names({ sort: 'refreshed' })).to.deep.equal(['Alpha', 'beta', 'Gamma']);
    });

    it('searches name, domain and tenant id, and keeps companies matching every filter', () => {
      expect(names({ search: 'ALP' })).to.deep.equal(['Alpha']);
      expect(names({ search: 'aaaaaaaa-0000' })).to.deep.equal(['Alpha']);
      expect(names({ search: 'contoso.example' })).to.deep.equal(['beta', 'Gamma']);
      expect(names({ filters: ['unassigned_seats'] })).to.deep.equal(['beta', 'Gamma']);
      expect(names({ filters: ['unassigned_seats', 'stale'] })).to.deep.equal(['Gamma']);
      expect(names({ search: 'alpha', filters: ['stale'] })).to.deep.equal([]);
    });
  });

  describe('parseCompanyQuery', () => {
    it('reads repeated and comma-separated filters, the sort and the search', () => {
      expect(
        parseCompanyQuery({ search: 'con', filter: ['stale', 'no_access,stale'], sort: 'billed' }),
      ).to.deep.equal({
        search: 'con',
        filters: ['stale', 'no_access'],
        sort: 'billed',
        unknown: [],
      });
      expect(parseCompanyQuery({})).to.deep.equal({
        search: '',
        filters: [],
        sort: 'name',
        unknown: [],
      });
    });

    it('names unknown filters and sorts, and sorts by name then', () => {
      expect(parseCompanyQuery({ filter: 'stale,broken', sort: 'price' })).to.deep.equal({
        search: '',
        filters: ['stale'],
        sort: 'name',
        unknown: ['filter=broken', 'sort=price'],
      });
    });
  });
});
