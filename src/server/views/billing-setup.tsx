import type { PsaKind } from '../../psa/client.js';
import type { ConnectionField } from '../../psa/registry.js';
import { psaNames } from './billing.js';
import { Csrf, Page, when, type Viewer } from './layout.js';

export interface SetupCompanyRow {
  companyId: string;
  name: string;
  domain: string | null;
  link: { psaCompanyId: string; psaCompanyName: string; containerName: string | null } | null;
  suggestion: { candidateId: string; candidateName: string; reason: string } | null;
}

interface SetupProductRow {
  sourceKey: string;
  name: string;
  bases: string[];
  companies: number;
  /** False: Microsoft counts it for no company; a mapping or the reconciliation names it. */
  countedByMicrosoft: boolean;
  mapping: {
    id: string;
    psaProductId: string;
    psaProductName: string;
    countBasis: string;
    applyMode: string;
  } | null;
}

export interface BillingSetupProps {
  viewer: Viewer;
  partner: { id: string; name: string };
  connection:
    | {
        kind: PsaKind;
        status: string;
        lastError: string | null;
        lastTestedAt: Date | null;
        settings: Record<string, unknown>;
        effectiveDatePolicy: string;
        proration: string;
      }
    | undefined;
  /** The PSA whose form is shown. */
  formKind: PsaKind;
  fields: ConnectionField[];
  /** Null: the PSA could not be read (the sentence says why). */
  companies: SetupCompanyRow[] | null;
  psaCompanies: { id: string; name: string }[];
  products: SetupProductRow[];
  psaProducts: { id: string; name: string }[];
  psaError?: string | undefined;
  flash?: string | undefined;
}

const prorationHints: Record<PsaKind, string> = {
  connectwise: 'ConnectWise PSA: sets the addition’s “prorate current period” flag.',
  autotask:
    'Autotask always prorates a change inside a period: not prorating moves its effective date to the first day of next month.',
  halo: 'HaloPSA: sets the line’s “pro-rata on next invoice”.',
};

const reasonWords: Record<string, string> = {
  tenant: 'the PSA links this tenant',
  domain: 'same domain',
  name: 'same name',
  similar_name: 'similar name',
};
const basisWords: Record<string, string> = {
  purchased: 'Purchased seats',
  assigned: 'Assigned seats',
  custom_count: 'Custom-license count',
};
const statusWords: Record<string, string> = {
  untested: 'Saved, not tried yet',
  ok: 'Working',
  broken: 'Refused',
};

/** Setting up the sync: the PSA connection, which company is which, which product is which. */
export function BillingSetupPage(props: BillingSetupProps) {
  const { viewer, partner, connection, formKind } = props;
  const base = `/partners/${partner.id}/billing`;
  return (
    <Page title="Billing setup" viewer={viewer} partner={partner} current="billing" wide>
      <h1>{partner.name} · Billing setup</h1>
      {props.flash ? (
        <p class="notice" role="status">
          {props.flash}
        </p>
      ) : null}
      <section aria-labelledby="connection">
        <h2 id="connection">PSA connection</h2>
        {connection ? (
          <p data-testid="connection-status">
            {psaNames[connection.kind]}: <strong>{statusWords[connection.status]}</strong>
            {connection.lastError ? <span class="bad"> {connection.lastError}</span> : null}
            <span class="muted"> (last tried {when(connection.lastTestedAt, 'never')})</span>
          </p>
        ) : (
          <p class="muted">No PSA is connected yet.</p>
        )}
        <nav aria-label="Choose the PSA" class="filters">
          {(['connectwise', 'autotask', 'halo'] as const).map((k) => (
            <a href={`${base}/setup?psa=${k}`} aria-current={k === formKind ? 'page' : undefined}>
              {psaNames[k]}
            </a>
          ))}
        </nav>
        <form method="post" action={`${base}/connection`}>
          <Csrf token={viewer.csrfToken} />
          <input type="hidden" name="kind" value={formKind} />
          {props.fields.map((f) => {
            const shown =
              connection?.kind === formKind && !f.secret ? connection.settings[f.name] : undefined;
            return (
              <p>
                <label>
                  {f.label}
                  {f.optional ? <span class="muted"> (optional)</span> : null}
                  <br />
                  {f.secret ? (
                    <input
                      name={f.name}
                      type="password"
                      autocomplete="off"
                      required={!f.optional && connection?.kind !== formKind}
                      placeholder={connection?.kind === formKind ? 'unchanged' : undefined}
                    />
                  ) : (
                    <input
                      name={f.name}
                      type="text"
                      autocomplete="off"
                      required={!f.optional}
                      value={
                        typeof shown === 'string' || typeof shown === 'number' ? String(shown) : ''
                      }
                    />
                  )}
                </label>
                {f.hint ? <span class="muted small">{f.hint}</span> : null}
              </p>
            );
          })}
          <p>
            <label>
              Changes take effect
              <br />
              <select name="effectiveDatePolicy">
                <option value="today" selected={connection?.effectiveDatePolicy !== 'next_month'}>
                  The day they are written
                </option>
                <option
                  value="next_month"
                  selected={connection?.effectiveDatePolicy === 'next_month'}
                >
                  On the first day of next month
                </option>
              </select>
            </label>
          </p>
          <p>
            <label>
              A change inside a month
              <br />
              <select name="proration">
                <option value="prorate" selected={connection?.proration !== 'none'}>
                  Is prorated: the rest of the month is charged or credited
                </option>
                <option value="none" selected={connection?.proration === 'none'}>
                  Is not prorated: it is billed from the next month
                </option>
              </select>
            </label>
            <br />
            <span class="muted small">
              {prorationHints[props.formKind]} When changes take effect on the first day of next
              month, nothing is prorated whatever this says.
            </span>
          </p>
          <button type="submit">Save and try the connection</button>
        </form>
      </section>
      {props.psaError ? (
        <p class="notice bad" role="alert">
          {props.psaError}
        </p>
      ) : null}
      {connection && props.companies ? (
        <section aria-labelledby="companies-map">
          <h2 id="companies-map">Companies</h2>
          <table class="stack" data-testid="company-links">
            <thead>
              <tr>
                <th scope="col">Company</th>
                <th scope="col">In the PSA</th>
                <th scope="col">Link</th>
              </tr>
            </thead>
            <tbody>
              {props.companies.map((c) => (
                <tr data-testid="company-link-row">
                  <td data-label="Company">
                    {c.name}
                    {c.domain ? <span class="muted"> {c.domain}</span> : null}
                  </td>
                  <td data-label="In the PSA">
                    {c.link ? (
                      <>
                        {c.link.psaCompanyName}
                        <br />
                        <span class="muted">
                          {c.link.containerName ?? 'No agreement or contract chosen'}
                        </span>
                      </>
                    ) : c.suggestion ? (
                      <span>
                        Probably {c.suggestion.candidateName}{' '}
                        <span class="muted">({reasonWords[c.suggestion.reason]})</span>
                      </span>
                    ) : (
                      <span class="muted">Not linked</span>
                    )}
                  </td>
                  <td data-label="Link">
                    <form
                      method="post"
                      action={`${base}/companies/${c.companyId}/link`}
                      class="inline"
                    >
                      <Csrf token={viewer.csrfToken} />
                      {/* Nothing is preselected without a link or a suggestion: one click
                          must not bill a customer as the first PSA company of the list. */}
                      <select name="psaCompanyId" required aria-label={`PSA company for ${c.name}`}>
                        <option value="">Choose a PSA company</option>
                        {props.psaCompanies.map((p) => (
                          <option
                            value={p.id}
                            selected={p.id === (c.link?.psaCompanyId ?? c.suggestion?.candidateId)}
                          >
                            {p.name}
                          </option>
                        ))}
                      </select>{' '}
                      <button type="submit">{c.link ? 'Change' : 'Confirm'}</button>
                    </form>{' '}
                    {c.link ? (
                      <a href={`${base}/companies/${c.companyId}`}>Agreement and history</a>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ) : null}
      {connection ? (
        <section aria-labelledby="products-map">
          <h2 id="products-map">Products</h2>
          <table class="stack" data-testid="product-mappings">
            <thead>
              <tr>
                <th scope="col">Microsoft product</th>
                <th scope="col">Billed as</th>
                <th scope="col">Map</th>
              </tr>
            </thead>
            <tbody>
              {props.products.map((p) => (
                <tr data-testid="product-row">
                  <td data-label="Microsoft product">
                    {p.name}
                    <span class="muted">
                      {' '}
                      {p.countedByMicrosoft
                        ? `(${p.companies} ${p.companies === 1 ? 'company' : 'companies'})`
                        : '(not counted by Microsoft)'}
                    </span>
                  </td>
                  <td data-label="Billed as">
                    {p.mapping ? (
                      <>
                        {p.mapping.psaProductName}, {basisWords[p.mapping.countBasis]},{' '}
                        {p.mapping.applyMode === 'automatic'
                          ? 'applied automatically'
                          : 'after approval'}
                      </>
                    ) : (
                      <span class="muted">Not mapped</span>
                    )}
                  </td>
                  <td data-label="Map">
                    <form method="post" action={`${base}/products`} class="inline">
                      <Csrf token={viewer.csrfToken} />
                      <input type="hidden" name="sourceKey" value={p.sourceKey} />
                      <select name="psaProductId" required aria-label={`PSA product for ${p.name}`}>
                        <option value="">Choose a PSA product</option>
                        {props.psaProducts.map((x) => (
                          <option value={x.id} selected={x.id === p.mapping?.psaProductId}>
                            {x.name}
                          </option>
                        ))}
                      </select>{' '}
                      <select name="countBasis" aria-label={`Count basis for ${p.name}`}>
                        {p.bases.map((b) => (
                          <option value={b} selected={b === p.mapping?.countBasis}>
                            {basisWords[b]}
                          </option>
                        ))}
                      </select>{' '}
                      <select name="applyMode" aria-label={`How changes of ${p.name} are applied`}>
                        <option value="approval">After approval</option>
                        <option value="automatic" selected={p.mapping?.applyMode === 'automatic'}>
                          Automatically
                        </option>
                      </select>{' '}
                      <button type="submit">Map</button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h3 id="other-product">Another Microsoft product</h3>
          <p class="muted small">
            A product no company has any more, still billed in the PSA: its SKU id maps it.
          </p>
          <form
            method="post"
            action={`${base}/products`}
            data-testid="other-product"
            aria-labelledby="other-product"
          >
            <Csrf token={viewer.csrfToken} />
            <p>
              <label>
                SKU id
                <br />
                <input
                  name="skuId"
                  type="text"
                  required
                  autocomplete="off"
                  placeholder="00000000-0000-0000-0000-000000000000"
                />
              </label>
            </p>
            <p>
              <label>
                Term
                <br />
                <select name="term">
                  <option value="">Every term</option>
                  {['P1M', 'P1Y', 'P3Y'].map((t) => (
                    <option value={t}>{t}</option>
                  ))}
                </select>
              </label>
            </p>
            <p>
              <label>
                PSA product
                <br />
                <select name="psaProductId" required>
                  <option value="">Choose a PSA product</option>
                  {props.psaProducts.map((x) => (
                    <option value={x.id}>{x.name}</option>
                  ))}
                </select>
              </label>
            </p>
            <p>
              <label>
                Count basis
                <br />
                <select name="countBasis">
                  <option value="purchased">{basisWords.purchased}</option>
                  <option value="assigned">{basisWords.assigned}</option>
                </select>
              </label>
            </p>
            <p>
              <label>
                Changes applied
                <br />
                <select name="applyMode">
                  <option value="approval">After approval</option>
                  <option value="automatic">Automatically</option>
                </select>
              </label>
            </p>
            <button type="submit">Map this product</button>
          </form>
        </section>
      ) : null}
    </Page>
  );
}
