import type { CompanyFilter, CompanySort } from '../../domain/companies.js';
import { companyFilters, companySorts } from '../../domain/companies.js';
import type { companiesView } from '../api/companies.js';
import { Page, when, type Viewer } from './layout.js';

export interface CompaniesPageProps {
  viewer: Viewer;
  partner: { id: string; name: string };
  view: Awaited<ReturnType<typeof companiesView>>;
  /** What the page ignored of the query string, in a sentence. */
  notice?: string | undefined;
}

const filterWords: Record<CompanyFilter, string> = {
  has_failures: 'Has failures',
  stale: 'Stale counts',
  no_access: 'No access',
  unassigned_seats: 'Unassigned seats',
};

const sortWords: Record<CompanySort, string> = {
  name: 'Name',
  billed: 'Billed seats, most first',
  unassigned: 'Unassigned seats, most first',
  refreshed: 'Last refresh, oldest first',
};

const lastRunWords = {
  pending: 'Refreshing',
  succeeded: 'Refreshed',
  failed: 'Failed',
  no_access: 'No access',
} as const;

/** The query string of the current view, with `extra` added (the CSV link). */
function viewQuery(query: CompaniesPageProps['view']['query'], extra: Record<string, string> = {}) {
  const params = new URLSearchParams();
  if (query.search) params.set('search', query.search);
  for (const f of query.filters) params.append('filter', f);
  if (query.sort !== 'name') params.set('sort', query.sort);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  const text = params.toString();
  return text ? `?${text}` : '';
}

export function CompaniesPage({ viewer, partner, view, notice }: CompaniesPageProps) {
  const visible = view.companies.filter((c) => c.visibility !== 'not_visible');
  const gone = view.companies.filter((c) => c.visibility === 'not_visible');
  const base = `/partners/${partner.id}/companies`;
  return (
    <Page title="Companies" viewer={viewer} partner={partner} current="companies" wide>
      <h1>{partner.name} · Companies</h1>
      {notice ? (
        <p class="notice" role="status" data-testid="query-notice">
          {notice}
        </p>
      ) : null}
      <form method="get" action={base} class="companies-query" role="search">
        <label for="search">Search by name, domain or tenant id</label>
        <input type="text" id="search" name="search" value={view.query.search} />
        <fieldset>
          <legend>Show only companies with</legend>
          {companyFilters.map((f) => (
            <label class="check">
              <input
                type="checkbox"
                name="filter"
                value={f}
                checked={view.query.filters.includes(f)}
              />{' '}
              {filterWords[f]}
            </label>
          ))}
        </fieldset>
        <label for="sort">Sort by</label>
        <select id="sort" name="sort">
          {companySorts.map((s) => (
            <option value={s} selected={view.query.sort === s}>
              {sortWords[s]}
            </option>
          ))}
        </select>{' '}
        <button type="submit">Show</button> <a href={base}>Clear</a>
      </form>
      <section aria-labelledby="companies">
        <h2 id="companies">Licenses by company</h2>
        <p class="muted small" data-testid="showing">
          Showing {view.companies.length} of {view.companiesInAll} companies.{' '}
          <a href={`${base}${viewQuery(view.query, { format: 'csv' })}`} download>
            Download CSV
          </a>
        </p>
        {visible.length === 0 ? (
          <p class="muted" data-testid="no-companies">
            No company matches.
          </p>
        ) : (
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">Company</th>
                <th scope="col">Microsoft licenses (billed / purchased / assigned)</th>
                <th scope="col" class="num">
                  Billed
                </th>
                <th scope="col" class="num">
                  Unassigned
                </th>
                <th scope="col">Custom licenses</th>
                <th scope="col">Last refresh</th>
              </tr>
            </thead>
            <tbody>
              {visible.map((c) => (
                <tr data-testid="company-row" class={c.stale ? 'differs' : undefined}>
                  <td data-label="Company">
                    <a href={`${base}/${c.id}`}>{c.name}</a>
                    <br />
                    <span class="muted small">{c.domain ?? c.customerTenantId}</span>
                  </td>
                  <td data-label="Microsoft licenses (billed / purchased / assigned)">
                    {c.licenses.length === 0 ? (
                      <span class="muted">No licenses yet</span>
                    ) : (
                      <ul>
                        {c.licenses.map((l) => (
                          <li data-testid="license" title={l.skuPartNumber}>
                            {l.productName}
                            {l.productName !== l.skuPartNumber ? (
                              <span class="muted"> ({l.skuPartNumber})</span>
                            ) : null}
                            {l.pricing !== 'paid' ? (
                              <span class="muted" data-testid="pricing">
                                {' '}
                                · {l.pricing}
                                {l.inBilledTotals ? '' : ', not in totals'}
                              </span>
                            ) : null}
                            :{' '}
                            <span class="nowrap">
                              {l.billedQuantity} / {l.activeUnits} / {l.consumedUnits}
                            </span>
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td data-label="Billed" class="num">
                    {c.totals.billedQuantity}
                  </td>
                  <td data-label="Unassigned" class="num">
                    {c.unassignedSeats}
                  </td>
                  <td data-label="Custom licenses">
                    {c.customLicenses.length === 0 ? (
                      <span class="muted">—</span>
                    ) : (
                      <ul>
                        {c.customLicenses.map((n) => (
                          <li>
                            {n.name}:{' '}
                            {n.state === 'counted' ? (
                              <strong class="nowrap">{n.quantity}</strong>
                            ) : (
                              <>
                                <span class="bad">{n.message}</span>
                                {n.lastCounted ? (
                                  <span class="muted nowrap">
                                    {' '}
                                    (last counted: {n.lastCounted.quantity})
                                  </span>
                                ) : null}
                              </>
                            )}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td data-label="Last refresh">
                    <span class="nowrap">{when(c.licensesRefreshedAt, 'never')}</span>
                    {c.lastRun && c.lastRun.status !== 'succeeded' ? (
                      <>
                        <br />
                        <span
                          class={c.lastRun.status === 'pending' ? 'muted' : 'bad'}
                          data-testid="last-run"
                        >
                          {lastRunWords[c.lastRun.status]}
                        </span>
                      </>
                    ) : null}
                    {c.stale ? (
                      <>
                        <br />
                        <span class="warn small" data-testid="stale">
                          Stale: {c.staleReason}
                        </span>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p data-testid="seat-totals">
          Billed seats in total: <strong>{view.totals.billedQuantity}</strong>, assigned:{' '}
          <strong>{view.totals.consumedUnits}</strong>
          <span class="muted">
            {view.includeFreeSkusInTotals
              ? ' (free and trial products included)'
              : ' (free and trial products left out)'}
          </span>
        </p>
      </section>
      {view.productTotals.length > 0 ? (
        <section aria-labelledby="product-totals">
          <h2 id="product-totals">Totals per product</h2>
          <p class="muted small">Across every company of the partner, whatever the filters.</p>
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col" class="num">
                  Companies
                </th>
                <th scope="col" class="num">
                  Purchased
                </th>
                <th scope="col" class="num">
                  Assigned
                </th>
                <th scope="col" class="num">
                  Billed
                </th>
              </tr>
            </thead>
            <tbody>
              {view.productTotals.map((p) => (
                <tr data-testid="product-total">
                  <td data-label="Product" title={p.skuPartNumber}>
                    {p.productName}
                    {p.inBilledTotals ? null : (
                      <span class="muted small"> · {p.pricing}, not in totals</span>
                    )}
                  </td>
                  <td data-label="Companies" class="num">
                    {p.companies}
                  </td>
                  <td data-label="Purchased" class="num">
                    {p.purchased}
                  </td>
                  <td data-label="Assigned" class="num">
                    {p.assigned}
                  </td>
                  <td data-label="Billed" class="num">
                    {p.billed}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {view.customersNotYetAdded.length > 0 ? (
        <section aria-labelledby="not-added">
          <h2 id="not-added">Customers not yet added</h2>
          <p class="muted">
            Partner Center lists these customers, but no company here matches them.
          </p>
          <ul>
            {view.customersNotYetAdded.map((c) => (
              <li>
                {c.name} <span class="muted">({c.domain})</span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      {gone.length > 0 ? (
        <section aria-labelledby="not-visible">
          <h2 id="not-visible">Companies no longer visible</h2>
          <p class="muted">The last refresh did not find these customers in Partner Center.</p>
          <ul>
            {gone.map((c) => (
              <li>{c.name}</li>
            ))}
          </ul>
        </section>
      ) : null}
    </Page>
  );
}
