import type { ReconciliationProgress } from '../../services/billing-reconciliation.js';
import type { ReconciliationView, reconciliationTotals } from '../api/billing.js';
import { Csrf, day, Page, when, type Viewer } from './layout.js';

export type ReconciliationFilter = 'all' | 'differences' | 'unmapped';

export interface PlanRow {
  id: string;
  companyName: string;
  product: string;
  action: 'set_quantity' | 'cancel';
  before: number;
  target: number;
  effectiveDate: string;
  proration: string;
  status: string;
  error: string | null;
  approvedBy: string | null;
}

export interface BillingPageProps {
  viewer: Viewer;
  partner: { id: string; name: string };
  connection: { kind: string; status: string; lastError: string | null } | undefined;
  filter: ReconciliationFilter;
  rows: ReconciliationView[];
  totals: ReturnType<typeof reconciliationTotals>;
  plan: PlanRow[];
  unmappedProducts: number;
  unlinkedCompanies: number;
  /** The comparison this page asked for, which it follows until it is done. */
  comparing?: ReconciliationProgress | undefined;
  flash?: string | undefined;
}

export const psaNames: Record<string, string> = {
  connectwise: 'ConnectWise PSA',
  autotask: 'Autotask',
  halo: 'HaloPSA',
};

export const prorationWords: Record<string, string> = {
  prorate: 'prorated',
  none: 'not prorated',
};

const filterWords: Record<ReconciliationFilter, string> = {
  all: 'All',
  differences: 'Differences only',
  unmapped: 'Unmapped',
};

const count = (n: number | null) => (n === null ? '—' : String(n));
const signed = (n: number | null) => (n === null ? '—' : n > 0 ? `+${n}` : String(n));
const actionWords = (row: PlanRow) =>
  row.action === 'cancel'
    ? `Cancel the line (billed ${row.before})`
    : `${row.before} → ${row.target}`;
const several = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
/** What is left to set up, in a sentence; empty when nothing is. */
const missingWords = (props: Pick<BillingPageProps, 'unlinkedCompanies' | 'unmappedProducts'>) =>
  [
    props.unlinkedCompanies
      ? `${several(props.unlinkedCompanies, 'company is', 'companies are')} not linked to a PSA company`
      : '',
    props.unmappedProducts
      ? `${several(props.unmappedProducts, 'product is', 'products are')} not mapped`
      : '',
  ]
    .filter(Boolean)
    .join(' and ');
const statusWords: Record<string, string> = {
  planned: 'Waiting for approval',
  approved: 'Approved, queued',
  applying: 'Being written',
  failed: 'Failed',
};

/**
 * The Billing tab: Microsoft's counts beside the PSA's, the changes a sync would write (a dry
 * run until someone approves them), and where to set up what is missing.
 */
export function BillingPage(props: BillingPageProps) {
  const { viewer, partner, rows, totals, filter, plan, connection } = props;
  const base = `/partners/${partner.id}/billing`;
  const query = filter === 'all' ? '' : `?${filter}=true`;
  const planned = plan.filter((p) => p.status === 'planned');
  const comparing = props.comparing;
  // Changes approved automatically are written right after the comparison: followed too.
  const writing =
    connection?.status !== 'broken' &&
    plan.some((p) => p.status === 'approved' || p.status === 'applying');
  const following = comparing ? !comparing.finished || writing : false;
  return (
    <Page
      title="Billing"
      viewer={viewer}
      partner={partner}
      current="billing"
      wide
      refreshSeconds={following ? 2 : undefined}
    >
      <h1>{partner.name} · Billing</h1>
      {props.flash ? (
        <p class="notice" role="status">
          {props.flash}
        </p>
      ) : null}
      {comparing ? (
        <p class="notice" data-testid="comparing" aria-live="polite">
          {!following
            ? 'Compared with the PSA: the numbers below are the new ones.'
            : comparing.finished
              ? 'Compared with the PSA; writing the approved changes. This page follows it.'
              : comparing.companies > 0
                ? `Comparing with the PSA: ${comparing.companiesDone} of ${several(comparing.companies, 'company', 'companies')} compared. This page follows it.`
                : 'Comparing with the PSA: starting. This page follows it.'}
        </p>
      ) : null}
      {!connection ? (
        <p class="notice">
          No PSA is connected.{' '}
          <a href={`${base}/setup`}>Connect ConnectWise PSA, Autotask or HaloPSA</a> to compare and
          sync what it bills.
        </p>
      ) : connection.status === 'broken' ? (
        <p class="notice bad" role="alert">
          {psaNames[connection.kind]} refused the connection: {connection.lastError}{' '}
          <a href={`${base}/setup`}>Fix the connection</a>.
        </p>
      ) : null}
      {missingWords(props) && connection ? (
        <p class="notice" data-testid="unmapped-notice">
          {missingWords(props)}: <a href={`${base}/setup`}>set them up</a>.
        </p>
      ) : null}

      <section aria-labelledby="plan">
        <h2 id="plan">Changes to write to the PSA</h2>
        {plan.length === 0 ? (
          <p class="muted">Nothing to change: the PSA bills what the mappings say.</p>
        ) : (
          <form method="post" action={`${base}/approve`}>
            <Csrf token={viewer.csrfToken} />
            <table class="stack" data-testid="plan">
              <thead>
                <tr>
                  <th scope="col">Approve</th>
                  <th scope="col">Company</th>
                  <th scope="col">Product</th>
                  <th scope="col">PSA quantity</th>
                  <th scope="col">Effective</th>
                  <th scope="col">Status</th>
                </tr>
              </thead>
              <tbody>
                {plan.map((p) => (
                  <tr data-testid="plan-row">
                    <td data-label="Approve">
                      {p.status === 'planned' ? (
                        <input
                          type="checkbox"
                          name="changeId"
                          value={p.id}
                          aria-label={`Approve ${p.product} for ${p.companyName}`}
                        />
                      ) : null}
                    </td>
                    <td data-label="Company">{p.companyName}</td>
                    <td data-label="Product">{p.product}</td>
                    <td data-label="PSA quantity" class="nowrap">
                      {actionWords(p)}
                    </td>
                    <td data-label="Effective" class="nowrap">
                      {day(p.effectiveDate)}
                      <span class="muted"> {prorationWords[p.proration]}</span>
                    </td>
                    <td data-label="Status">
                      {statusWords[p.status] ?? p.status}
                      {p.error ? <span class="bad"> {p.error}</span> : null}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {planned.length > 0 ? (
              <p>
                <button type="submit" name="scope" value="selected">
                  Approve selected
                </button>{' '}
                <button type="submit" name="scope" value="all">
                  Approve all {planned.length}
                </button>
              </p>
            ) : null}
          </form>
        )}
      </section>

      <section aria-labelledby="reconciliation">
        <h2 id="reconciliation">Microsoft beside the PSA</h2>
        <nav aria-label="Filter the rows" class="filters">
          {(['all', 'differences', 'unmapped'] as const).map((f) => (
            <a
              href={f === 'all' ? base : `${base}?${f}=true`}
              aria-current={filter === f ? 'page' : undefined}
            >
              {filterWords[f]}
            </a>
          ))}
        </nav>
        {/* A div, not a p: a form may not sit inside a paragraph. */}
        <div class="actions">
          <a
            class="button"
            href={`/partners/${partner.id}/billing/reconciliation.csv${query}`}
            download
          >
            Export CSV
          </a>
          {connection ? (
            <form method="post" action={`${base}/reconcile`} class="inline">
              <Csrf token={viewer.csrfToken} /> <button type="submit">Compare again now</button>
            </form>
          ) : null}
        </div>
        <table class="stack" data-testid="reconciliation">
          <thead>
            <tr>
              <th scope="col">Company</th>
              <th scope="col">Product</th>
              <th scope="col" class="num">
                Purchased
              </th>
              <th scope="col" class="num">
                Assigned
              </th>
              <th scope="col" class="num">
                PSA bills
              </th>
              <th scope="col" class="num">
                Difference
              </th>
              <th scope="col">Since</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr data-testid="reconciliation-row" class={r.difference ? 'differs' : undefined}>
                <td data-label="Company">{r.companyName}</td>
                <td
                  data-label="Product"
                  title={'skuId' in r.product ? (r.product.skuPartNumber ?? undefined) : undefined}
                >
                  {r.product.name}
                  {'skuId' in r.product && r.product.pricing !== 'paid' ? (
                    <span class="muted">
                      {' '}
                      · {r.product.pricing}
                      {r.inBilledTotals ? '' : ', not in totals'}
                    </span>
                  ) : null}
                  {r.mapped ? null : <span class="muted"> (not mapped)</span>}
                </td>
                <td data-label="Purchased" class="num">
                  {'customLicenseId' in r.product
                    ? count(r.customCount)
                    : count(r.microsoftPurchased)}
                </td>
                <td data-label="Assigned" class="num">
                  {count(r.microsoftAssigned)}
                </td>
                <td data-label="PSA bills" class="num">
                  {count(r.psaBilled)}
                </td>
                <td data-label="Difference" class="num">
                  <strong>{signed(r.difference)}</strong>
                </td>
                <td data-label="Since">{r.differenceSince ? when(r.differenceSince) : '—'}</td>
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr data-testid="totals">
              <th scope="row" colspan={2}>
                Totals ({totals.rows} rows, {totals.differences} differing)
              </th>
              <td data-label="Purchased" class="num">
                {totals.microsoftPurchased}
              </td>
              <td data-label="Assigned" class="num">
                {totals.microsoftAssigned}
              </td>
              <td data-label="PSA bills" class="num">
                {totals.psaBilled}
              </td>
              <td data-label="Difference" class="num">
                {signed(totals.difference)}
              </td>
              <td />
            </tr>
          </tfoot>
        </table>
        <p>
          <a href={`${base}/ledger`}>Every change written to the PSA</a>
        </p>
      </section>
    </Page>
  );
}
