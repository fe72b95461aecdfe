import type { companiesOverview } from '../api/partners.js';
import { Page, when, type Viewer } from './layout.js';

export interface CompaniesPageProps {
  viewer: Viewer;
  partner: { id: string; name: string };
  overview: Awaited<ReturnType<typeof companiesOverview>>;
}

export function CompaniesPage({ viewer, partner, overview }: CompaniesPageProps) {
  const visible = overview.companies.filter((c) => c.visibility !== 'not_visible');
  const gone = overview.companies.filter((c) => c.visibility === 'not_visible');
  return (
    <Page title="Companies" viewer={viewer} partner={partner} current="companies">
      <h1>{partner.name} · Companies</h1>
      <section aria-labelledby="companies">
        <h2 id="companies">Licenses by company</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Company</th>
              <th scope="col">Microsoft licenses (billed / active / assigned)</th>
              <th scope="col">Custom licenses</th>
              <th scope="col">Last refresh</th>
            </tr>
          </thead>
          <tbody>
            {visible.map((c) => (
              <tr data-testid="company-row">
                <td>
                  <a href={`/partners/${partner.id}/companies/${c.id}`}>{c.name}</a>
                  <br />
                  <span class="muted">{c.domain ?? c.customerTenantId}</span>
                </td>
                <td>
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
                          : {l.billedQuantity} / {l.activeUnits} / {l.consumedUnits}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>
                  {c.customLicenses.length === 0 ? (
                    <span class="muted">—</span>
                  ) : (
                    <ul>
                      {c.customLicenses.map((n) => (
                        <li>
                          {n.name}:{' '}
                          {n.state === 'counted' ? (
                            <strong>{n.quantity}</strong>
                          ) : (
                            <>
                              <span class="bad">{n.message}</span>
                              {n.lastCounted ? (
                                <span class="muted"> (last counted: {n.lastCounted.quantity})</span>
                              ) : null}
                            </>
                          )}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
                <td>{when(c.licensesRefreshedAt, 'never')}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <p data-testid="seat-totals">
          Billed seats in total: <strong>{overview.totals.billedQuantity}</strong>, assigned:{' '}
          <strong>{overview.totals.consumedUnits}</strong>
          <span class="muted">
            {overview.includeFreeSkusInTotals
              ? ' (free and trial products included)'
              : ' (free and trial products left out)'}
          </span>
        </p>
      </section>
      {overview.customersNotYetAdded.length > 0 ? (
        <section aria-labelledby="not-added">
          <h2 id="not-added">Customers not yet added</h2>
          <p class="muted">
            Partner Center lists these customers, but no company here matches them.
          </p>
          <ul>
            {overview.customersNotYetAdded.map((c) => (
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
