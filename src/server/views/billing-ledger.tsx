import { prorationWords, psaNames } from './billing.js';
import { Csrf, day, Page, when, type Viewer } from './layout.js';

export interface LedgerRow {
  companyName: string;
  psa: string;
  product: string;
  action: 'set_quantity' | 'cancel';
  before: number;
  after: number;
  effectiveDate: string;
  /** Null: written before the proration was recorded. */
  proration: string | null;
  psaResponseId: string;
  alreadyApplied: boolean;
  /** What the PSA billed when the change was planned; null once the change is gone. */
  plannedBefore: number | null;
  approvedBy: string;
  appliedAt: Date;
}

/** Every write made to the PSA, newest first; it is never rewritten. */
function LedgerTable({ rows, showCompany }: { rows: LedgerRow[]; showCompany: boolean }) {
  if (rows.length === 0) return <p class="muted">Nothing has been written to the PSA yet.</p>;
  return (
    <table class="stack" data-testid="ledger">
      <thead>
        <tr>
          <th scope="col">Written</th>
          {showCompany ? <th scope="col">Company</th> : null}
          <th scope="col">Product</th>
          <th scope="col">Quantity</th>
          <th scope="col">Effective</th>
          <th scope="col">Approved by</th>
          <th scope="col">PSA record</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr data-testid="ledger-row">
            <td data-label="Written">{when(r.appliedAt)}</td>
            {showCompany ? <td data-label="Company">{r.companyName}</td> : null}
            <td data-label="Product">{r.product}</td>
            <td data-label="Quantity">
              {r.alreadyApplied ? (
                // Nothing was sent: the PSA read before the write already billed its target,
                // so its before is its after; the plan's before is what it moved from.
                <>
                  Already applied: <span class="nowrap">billed {r.after}</span>
                  {r.plannedBefore === null ? null : (
                    <span class="muted"> (was {r.plannedBefore} when planned)</span>
                  )}
                </>
              ) : (
                <span class="nowrap">
                  {r.before} → {r.after}
                </span>
              )}
              {r.action === 'cancel' ? ' (cancelled)' : ''}
            </td>
            <td data-label="Effective" class="nowrap">
              {day(r.effectiveDate)}
              {r.proration ? <span class="muted"> {prorationWords[r.proration]}</span> : null}
            </td>
            <td data-label="Approved by">{r.approvedBy}</td>
            <td data-label="PSA record">
              {psaNames[r.psa] ?? r.psa} {r.psaResponseId}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function BillingLedgerPage(props: {
  viewer: Viewer;
  partner: { id: string; name: string };
  rows: LedgerRow[];
}) {
  return (
    <Page
      title="Billing ledger"
      viewer={props.viewer}
      partner={props.partner}
      current="billing"
      wide
    >
      <h1>{props.partner.name} · Changes written to the PSA</h1>
      <p>
        <a href={`/partners/${props.partner.id}/billing`}>Back to billing</a>
      </p>
      <LedgerTable rows={props.rows} showCompany />
    </Page>
  );
}

/** One company's link: the container its lines are on, and what was written for it. */
export function BillingCompanyPage(props: {
  viewer: Viewer;
  partner: { id: string; name: string };
  company: { id: string; name: string };
  link: { psaCompanyName: string; containerId: string | null };
  containers: { id: string; name: string }[] | null;
  psaError?: string | undefined;
  rows: LedgerRow[];
  flash?: string | undefined;
}) {
  const { viewer, partner, company, link } = props;
  const base = `/partners/${partner.id}/billing`;
  return (
    <Page title={company.name} viewer={viewer} partner={partner} current="billing" wide>
      <h1>
        {company.name} · {link.psaCompanyName}
      </h1>
      {props.flash ? (
        <p class="notice" role="status">
          {props.flash}
        </p>
      ) : null}
      <p>
        <a href={`${base}/setup`}>Back to billing setup</a>
      </p>
      <section aria-labelledby="container">
        <h2 id="container">Billed on</h2>
        {props.psaError ? (
          <p class="notice bad" role="alert">
            {props.psaError}
          </p>
        ) : null}
        {props.containers ? (
          <form method="post" action={`${base}/companies/${company.id}/container`}>
            <Csrf token={viewer.csrfToken} />
            <select name="containerId" aria-label="Agreement, contract or recurring invoice">
              {props.containers.map((c) => (
                <option value={c.id} selected={c.id === link.containerId}>
                  {c.name}
                </option>
              ))}
            </select>{' '}
            <button type="submit">Bill on this one</button>
          </form>
        ) : null}
      </section>
      <section aria-labelledby="ledger">
        <h2 id="ledger">Changes written</h2>
        <LedgerTable rows={props.rows} showCompany={false} />
      </section>
    </Page>
  );
}
