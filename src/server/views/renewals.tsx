import type { RenewalRow } from '../api/renewals.js';
import { day, Page, when, type Viewer } from './layout.js';

export interface RenewalsPageProps {
  viewer: Viewer;
  partner: { id: string; name: string };
  days: number;
  spans: readonly number[];
  rows: RenewalRow[];
}

const termWords: Record<RenewalRow['term'], string> = {
  monthly: 'Monthly',
  yearly: 'Yearly',
  'three-year': 'Three years',
  other: 'Other',
};
const cycleWords: Record<string, string> = {
  monthly: 'billed monthly',
  annual: 'billed yearly',
  triennial: 'billed every three years',
};
const count = (n: number | null) => (n === null ? '—' : String(n));
const inDays = (n: number | null) =>
  n === null ? '' : n === 0 ? 'today' : n === 1 ? 'in 1 day' : `in ${n} days`;
const several = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** What happens at the commitment end, in words. */
const atEnd = (r: RenewalRow) =>
  r.autoRenew === false ? 'Ends (auto-renew off)' : r.autoRenew ? 'Renews' : 'Renewal unknown';

function Product({ r }: { r: RenewalRow }) {
  return (
    <>
      {r.productName ?? r.skuId ?? r.subscriptionId}
      {r.isTrial ? <span class="muted"> (trial)</span> : null}
      <div class="muted small">
        {termWords[r.term]}
        {r.billingCycle ? `, ${cycleWords[r.billingCycle] ?? `billed ${r.billingCycle}`}` : ''}
      </div>
    </>
  );
}

function Seats({ r }: { r: RenewalRow }) {
  return (
    <>
      <td data-label="Purchased" class="num">
        {r.purchased}
      </td>
      <td data-label="Assigned" class="num">
        {count(r.assigned)}
      </td>
      <td data-label="Unassigned" class="num">
        {r.unassigned ? <strong class="warn">{r.unassigned}</strong> : count(r.unassigned)}
      </td>
    </>
  );
}

/**
 * The Renewals tab: yearly and three-year commitments that end soon with their seats (the
 * unassigned ones are what a reduction at renewal saves), and the windows open now in which a
 * subscription can still be cancelled or reduced.
 */
export function RenewalsPage(props: RenewalsPageProps) {
  const { viewer, partner, days, rows } = props;
  const base = `/partners/${partner.id}/renewals`;
  const renewing = rows.filter((r) => r.renewing);
  const open = rows
    .filter((r) => r.windowOpen)
    .sort((a, b) => a.cancellableUntil!.getTime() - b.cancellableUntil!.getTime());
  const spare = renewing.reduce((n, r) => n + (r.unassigned ?? 0), 0);
  return (
    <Page title="Renewals" viewer={viewer} partner={partner} current="renewals" wide>
      <h1>{partner.name} · Renewals</h1>
      <p class="muted">
        Terms as Partner Center listed them at each company's latest refresh. Monthly terms renew
        every month and are not listed as renewing.
      </p>

      <section aria-labelledby="open-windows">
        <h2 id="open-windows">Can still be cancelled or reduced</h2>
        {open.length === 0 ? (
          <p class="muted" data-testid="no-open-windows">
            No cancellation window is open now.
          </p>
        ) : (
          <table class="stack" data-testid="open-windows">
            <thead>
              <tr>
                <th scope="col">Company</th>
                <th scope="col">Product</th>
                <th scope="col">Until</th>
                <th scope="col" class="num">
                  Purchased
                </th>
                <th scope="col" class="num">
                  Assigned
                </th>
                <th scope="col" class="num">
                  Unassigned
                </th>
              </tr>
            </thead>
            <tbody>
              {open.map((r) => (
                <tr data-testid="open-window-row">
                  <td data-label="Company">{r.companyName}</td>
                  <td data-label="Product">
                    <Product r={r} />
                  </td>
                  <td data-label="Until" class="nowrap">
                    {when(r.cancellableUntil)}
                  </td>
                  <Seats r={r} />
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-labelledby="renewing">
        <h2 id="renewing">Commitments ending in the next {days} days</h2>
        <nav aria-label="How far ahead" class="filters">
          {props.spans.map((n) => (
            <a href={`${base}?days=${n}`} aria-current={days === n ? 'page' : undefined}>
              {n} days
            </a>
          ))}
        </nav>
        <div class="actions">
          <a class="button" href={`${base}.csv?days=${days}`} download>
            Export CSV
          </a>
        </div>
        {renewing.length === 0 ? (
          <p class="muted" data-testid="no-renewals">
            No yearly or three-year commitment ends in the next {days} days.
          </p>
        ) : (
          <>
            <p data-testid="renewals-summary">
              {several(renewing.length, 'commitment ends', 'commitments end')}
              {spare ? (
                <>
                  {' '}
                  with <strong>{several(spare, 'unassigned seat', 'unassigned seats')}</strong> that
                  could be dropped at renewal
                </>
              ) : null}
              .
            </p>
            <table class="stack" data-testid="renewals">
              <thead>
                <tr>
                  <th scope="col">Company</th>
                  <th scope="col">Product</th>
                  <th scope="col">Commitment ends</th>
                  <th scope="col">Then</th>
                  <th scope="col" class="num">
                    Purchased
                  </th>
                  <th scope="col" class="num">
                    Assigned
                  </th>
                  <th scope="col" class="num">
                    Unassigned
                  </th>
                </tr>
              </thead>
              <tbody>
                {renewing.map((r) => (
                  <tr data-testid="renewal-row" class={r.unassigned ? 'differs' : undefined}>
                    <td data-label="Company">{r.companyName}</td>
                    <td data-label="Product">
                      <Product r={r} />
                    </td>
                    <td data-label="Commitment ends" class="nowrap">
                      {r.commitmentEndDate ? day(r.commitmentEndDate) : '—'}
                      <div class="muted small">{inDays(r.daysToCommitmentEnd)}</div>
                    </td>
                    <td data-label="Then" class={r.autoRenew === false ? 'warn' : undefined}>
                      {atEnd(r)}
                    </td>
                    <Seats r={r} />
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </section>
    </Page>
  );
}
