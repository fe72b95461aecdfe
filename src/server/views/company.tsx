import type { AccessState } from '../../domain/access.js';
import type { ProductSeries, SeatField } from '../../domain/seat-history.js';
import type { companiesOverview } from '../api/companies.js';
import type { seatChangeView } from '../api/seat-history.js';
import { day, Page, when, type Viewer } from './layout.js';
import { SeatChart } from './seat-chart.js';

export interface CompanyPageProps {
  viewer: Viewer;
  partner: { id: string; name: string };
  company: Awaited<ReturnType<typeof companiesOverview>>['companies'][number];
  series: ProductSeries[];
  days: number;
  history: ReturnType<typeof seatChangeView>[];
}

const fieldLabel: Record<SeatField, string> = {
  purchased: 'Purchased',
  assigned: 'Assigned',
  billed: 'Billed by Microsoft',
  psaBilled: 'Billed in the PSA',
};

const lastRunSentence = {
  pending: 'Refreshing now.',
  succeeded: 'Refreshed.',
  failed: 'The refresh failed for this company.',
  no_access: 'The refresh could not reach this customer.',
} as const;

const accessWords: Record<AccessState, string> = {
  ok: 'Access is in order.',
  expiring: 'Access is expiring.',
  expired: 'Access has expired.',
  no_relationship: 'No GDAP relationship.',
  missing_role: 'A role is missing.',
  app_not_consented: 'The app is not consented.',
};

/** "+3" or "−2" (a minus sign, not a hyphen). */
const signed = (n: number) => (n > 0 ? `+${n}` : n < 0 ? `\u2212${-n}` : '0');

export function CompanyPage({ viewer, partner, company, series, days, history }: CompanyPageProps) {
  const base = `/partners/${partner.id}/companies/${company.id}`;
  const { licenses, lastRun, access } = company;
  return (
    <Page title={company.name} viewer={viewer} partner={partner} current="companies">
      <p class="small">
        <a href={`/partners/${partner.id}/companies`}>← Companies</a>
      </p>
      <h1>
        {partner.name} · {company.name}
      </h1>
      <p class="muted">
        {company.domain ? `${company.domain} · ` : ''}
        {company.customerTenantId ?? 'no tenant id yet'}
      </p>
      {company.stale ? (
        <p class="notice bad" data-testid="stale">
          Stale counts: {company.staleReason}
        </p>
      ) : null}
      <section aria-labelledby="last-run">
        <h2 id="last-run">Last run</h2>
        {lastRun ? (
          <p data-testid="last-run">
            <span
              class={lastRun.status === 'failed' || lastRun.status === 'no_access' ? 'bad' : ''}
            >
              {lastRunSentence[lastRun.status]}
            </span>{' '}
            <span class="muted nowrap">
              (run {lastRun.runId.slice(0, 8)}, started {when(lastRun.runStartedAt)}
              {lastRun.finishedAt ? `, done ${when(lastRun.finishedAt)}` : ''}
              {lastRun.attempts > 1 ? `, ${lastRun.attempts} attempts` : ''})
            </span>
            {lastRun.errorMessage ? (
              <>
                <br />
                <span class="bad">{lastRun.errorMessage}</span>
              </>
            ) : null}
          </p>
        ) : (
          <p class="muted" data-testid="last-run">
            The latest run did not cover this company.
          </p>
        )}
        <p class="muted small">
          Counts as of <span class="nowrap">{when(company.licensesRefreshedAt, 'never')}</span>.
        </p>
      </section>
      <section aria-labelledby="licenses">
        <h2 id="licenses">Licenses now</h2>
        {licenses.length === 0 ? (
          <p class="muted">No licenses yet.</p>
        ) : (
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">Product</th>
                <th scope="col" class="num">
                  Purchased
                </th>
                <th scope="col" class="num">
                  Assigned
                </th>
                <th scope="col" class="num">
                  Billed by Microsoft
                </th>
              </tr>
            </thead>
            <tbody>
              {licenses.map((l) => (
                <tr data-testid="license">
                  <td data-label="Product" title={l.skuPartNumber}>
                    {l.productName}
                    {l.productName !== l.skuPartNumber ? (
                      <span class="muted small"> ({l.skuPartNumber})</span>
                    ) : null}
                    {l.pricing !== 'paid' ? (
                      <span class="muted small">
                        {' '}
                        · {l.pricing}
                        {l.inBilledTotals ? '' : ', not in totals'}
                      </span>
                    ) : null}
                  </td>
                  <td data-label="Purchased" class="num">
                    {l.activeUnits}
                  </td>
                  <td data-label="Assigned" class="num">
                    {l.consumedUnits}
                  </td>
                  <td data-label="Billed by Microsoft" class="num">
                    {l.billedQuantity}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="custom-licenses">
        <h2 id="custom-licenses">Custom licenses</h2>
        {company.customLicenses.length === 0 ? (
          <p class="muted">No custom licenses counted for this company.</p>
        ) : (
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" class="num">
                  Count
                </th>
                <th scope="col">Counted</th>
              </tr>
            </thead>
            <tbody>
              {company.customLicenses.map((n) => (
                <tr data-testid="custom-license">
                  <td data-label="Name">{n.name}</td>
                  <td data-label="Count" class="num">
                    {n.state === 'counted' ? (
                      n.quantity
                    ) : (
                      <span class="bad">
                        {n.lastCounted ? `${n.lastCounted.quantity} (last counted)` : '—'}
                      </span>
                    )}
                  </td>
                  <td data-label="Counted">
                    <span class="nowrap">{when(n.countedAt)}</span>
                    {n.state === 'counted' ? null : (
                      <>
                        <br />
                        <span class="bad small">{n.message}</span>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section aria-labelledby="access">
        <h2 id="access">Access</h2>
        {access ? (
          <div data-testid="access">
            <p>
              <span
                class={access.state === 'ok' ? 'ok' : access.state === 'expiring' ? 'warn' : 'bad'}
              >
                {accessWords[access.state]}
              </span>
              <span class="muted small nowrap"> · checked {when(access.checkedAt, 'never')}</span>
            </p>
            {access.reason ? <p class="small">{access.reason}</p> : null}
            {access.relationships.length > 0 ? (
              <ul class="small">
                {access.relationships.map((r) => (
                  <li>
                    {r.displayName} <span class="muted">({r.status}</span>
                    {r.endDateTime ? (
                      <span class="muted nowrap">, ends {day(r.endDateTime)}</span>
                    ) : null}
                    <span class="muted">)</span>
                    {r.roles.length > 0 ? `: ${r.roles.join(', ')}` : ''}
                  </li>
                ))}
              </ul>
            ) : null}
            <p class="small">
              <a href={`/partners/${partner.id}/access`}>All customers' access</a>
            </p>
          </div>
        ) : (
          <p class="muted" data-testid="access">
            This customer's GDAP access has not been checked yet.
          </p>
        )}
      </section>
      <section aria-labelledby="seats">
        <h2 id="seats">Seats over {days} days</h2>
        {series.length === 0 ? (
          <p class="muted">No seats recorded in the last {days} days.</p>
        ) : (
          <div class="charts">
            {series.map((s) => (
              <SeatChart series={s} days={days} />
            ))}
          </div>
        )}
      </section>
      <section aria-labelledby="history">
        <h2 id="history">Seat history</h2>
        <p class="muted small">
          Every change between readings, newest first. <a href={`${base}?format=csv`}>CSV</a>
        </p>
        {history.length === 0 ? (
          <p class="muted">No changes recorded yet: the first refresh records the seats found.</p>
        ) : (
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Product</th>
                <th scope="col">Count</th>
                <th scope="col" class="num">
                  Change
                </th>
                <th scope="col" class="num">
                  From → to
                </th>
                <th scope="col">Run</th>
              </tr>
            </thead>
            <tbody>
              {history.map((h) => (
                <tr data-testid="seat-change">
                  <td data-label="When" class="nowrap">
                    {when(h.at)}
                  </td>
                  <td data-label="Product">{h.productName}</td>
                  <td data-label="Count">{fieldLabel[h.field]}</td>
                  <td data-label="Change" class="num">
                    {h.initial ? <span class="muted">first reading</span> : signed(h.to - h.from)}
                  </td>
                  <td data-label="From → to" class="num">
                    {h.from} → {h.to}
                  </td>
                  <td data-label="Run" class="small muted">
                    {h.runId ? h.runId.slice(0, 8) : 'reconciliation'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </Page>
  );
}
