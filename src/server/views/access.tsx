import type {
  AccessFeature,
  AccessProblem,
  AccessState,
  AppConsentState,
  FeatureAccess,
} from '../../domain/access.js';
import { Csrf, day, Page, when, type Viewer } from './layout.js';

/** One relationship as the Access tab shows it. */
export interface RelationshipRow {
  id: string;
  displayName: string;
  status: string;
  endDateTime: string | null;
  autoExtends: boolean;
  roles: string[];
  /** Auto-extend can be turned on from the page. */
  canAutoExtend: boolean;
  /** Why it cannot, by Microsoft's rules, when it does not auto-extend. */
  autoExtendBlocked?: string | undefined;
}

interface AccessRow {
  customerTenantId: string;
  name: string;
  state: AccessState;
  /** The day the state names (expiring on, expired on). */
  stateDate: string | null;
  relationships: RelationshipRow[];
  appConsent: AppConsentState;
  features: Record<AccessFeature, FeatureAccess>;
  reason: string | null;
  checkedAt: Date | null;
}

export interface AccessPageProps {
  viewer: Viewer;
  partner: { id: string; name: string };
  rows: AccessRow[];
  /** Customers in all, and per problem. */
  total: number;
  counts: Record<AccessProblem, number>;
  show: AccessProblem | 'all';
  flash?: string | undefined;
}

/** The filters, in the order the page lists them, with their words. */
const problemWords: Record<AccessProblem, string> = {
  attention: 'Needs attention',
  ok: 'OK',
  expiring: 'Expiring within 30 days',
  expiring_7_days: 'Expiring within 7 days',
  expired: 'Expired',
  no_relationship: 'No relationship',
  missing_role: 'Missing role',
  app_not_consented: 'App not consented',
  no_auto_extend: 'Cannot auto-extend',
};
const filterOrder: AccessProblem[] = [
  'attention',
  'ok',
  'expiring',
  'expiring_7_days',
  'expired',
  'no_relationship',
  'missing_role',
  'app_not_consented',
  'no_auto_extend',
];

/** A state in words, with its day where it has one: "Expiring 12 Dec 2026". */
export function stateWords(state: AccessState, date: string | null): string {
  const on = date ? ` ${day(date)}` : '';
  switch (state) {
    case 'ok':
      return 'OK';
    case 'expiring':
      return `Expiring${on}`;
    case 'expired':
      return `Expired${on}`;
    case 'no_relationship':
      return 'No relationship';
    case 'missing_role':
      return 'Missing role';
    case 'app_not_consented':
      return 'App not consented';
  }
}

const featureWords: Record<AccessFeature, string> = {
  licenses: 'Licenses',
  mailboxes: 'Mailboxes',
  directory: 'Directory',
};
const appConsentWords: Record<AppConsentState, string> = {
  consented: 'Consented',
  not_consented: 'Not consented',
  unknown: 'Not checked yet',
};

export function AccessPage(props: AccessPageProps) {
  const { viewer, partner, rows, counts, show } = props;
  const base = `/partners/${partner.id}`;
  // Each form brings the page back to the filter it was sent from.
  const Back = () => <input type="hidden" name="show" value={show} />;
  return (
    <Page title="Access" viewer={viewer} partner={partner} current="access" wide>
      <h1>{partner.name} · Access</h1>
      {props.flash ? (
        <p class="notice" role="status">
          {props.flash}
        </p>
      ) : null}
      <section aria-labelledby="access-summary">
        <h2 id="access-summary">GDAP access by customer</h2>
        <nav aria-label="Filter by problem" class="filters">
          <a href={`${base}/access`} aria-current={show === 'all' ? 'page' : undefined}>
            All <span class="count">{props.total}</span>
          </a>
          {filterOrder.map((p) => (
            <a
              href={`${base}/access?show=${p}`}
              aria-current={show === p ? 'page' : undefined}
              data-testid={`filter-${p}`}
            >
              {problemWords[p]} <span class="count">{counts[p]}</span>
            </a>
          ))}
        </nav>
        <div class="actions">
          <form method="post" action={`${base}/access/refresh`} class="inline">
            <Csrf token={viewer.csrfToken} />
            <Back />
            <button type="submit">Check access now</button>
          </form>
          {counts.app_not_consented > 0 ? (
            <form method="post" action={`${base}/access/app-consents`} class="inline">
              <Csrf token={viewer.csrfToken} />
              <Back />
              <button type="submit">Consent the app in all that need it</button>
            </form>
          ) : null}
        </div>
      </section>

      <section aria-labelledby="customers">
        <h2 id="customers">
          {show === 'all' ? 'Customers' : `Customers: ${problemWords[show]}`}{' '}
          <span class="muted">({rows.length})</span>
        </h2>
        {rows.length === 0 ? (
          <p class="muted">
            {props.total === 0
              ? 'No access has been read yet: it is read at the start of every refresh, or with Check access now.'
              : 'No customer shows this problem.'}
          </p>
        ) : (
          <table class="stack access">
            <thead>
              <tr>
                <th scope="col">Customer</th>
                <th scope="col">Access</th>
                <th scope="col">Relationships</th>
                <th scope="col">App consent</th>
                <th scope="col">Works</th>
                <th scope="col">What to do</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr data-testid="access-row" data-tenant={r.customerTenantId}>
                  <td data-label="Customer">
                    <span title={`Tenant ${r.customerTenantId}`}>{r.name}</span>
                  </td>
                  <td data-label="Access">
                    <strong
                      class={`nowrap ${r.state === 'ok' ? 'ok' : r.state === 'expiring' ? 'warn' : 'bad'}`}
                      data-testid="state"
                    >
                      {stateWords(r.state, r.stateDate)}
                    </strong>
                    <br />
                    <span class="muted small nowrap">checked {when(r.checkedAt, 'never')}</span>
                  </td>
                  <td data-label="Relationships">
                    {r.relationships.length === 0 ? (
                      <span class="muted">None</span>
                    ) : (
                      <ul class="plain">
                        {r.relationships.map((rel) => (
                          <li data-testid="relationship">
                            <strong>{rel.displayName}</strong>
                            <br />
                            <span class="nowrap">{rel.status}</span>
                            {' · '}
                            <span class="nowrap">
                              {rel.endDateTime ? `ends ${day(rel.endDateTime)}` : 'no end date'}
                            </span>
                            {' · '}
                            <span class="nowrap">
                              {rel.autoExtends ? 'auto-extends' : 'no auto-extend'}
                            </span>
                            <br />
                            <span class="muted">
                              Roles: {rel.roles.length > 0 ? rel.roles.join(', ') : 'none held'}
                            </span>
                            {rel.canAutoExtend ? (
                              <form
                                method="post"
                                action={`${base}/access/relationships/${rel.id}/auto-extend`}
                                class="small-form"
                              >
                                <Csrf token={viewer.csrfToken} />
                                <Back />
                                <button
                                  type="submit"
                                  aria-label={`Turn on auto-extend for ${rel.displayName}`}
                                >
                                  Turn on auto-extend
                                </button>
                              </form>
                            ) : rel.autoExtendBlocked ? (
                              <p class="small warn" data-testid="auto-extend-blocked">
                                {rel.autoExtendBlocked}
                              </p>
                            ) : null}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td data-label="App consent">
                    <span class={r.appConsent === 'not_consented' ? 'bad' : undefined}>
                      {appConsentWords[r.appConsent]}
                    </span>
                  </td>
                  <td data-label="Works">
                    <ul class="plain">
                      {(Object.keys(featureWords) as AccessFeature[]).map((f) => (
                        <li class="nowrap" title={r.features[f]?.reason}>
                          {r.features[f]?.ok ? (
                            <span class="ok">✓ {featureWords[f]}</span>
                          ) : (
                            <span class="bad">✗ {featureWords[f]}</span>
                          )}
                        </li>
                      ))}
                    </ul>
                  </td>
                  <td data-label="What to do">
                    {r.reason ? <span data-testid="reason">{r.reason}</span> : '—'}
                    {r.state === 'app_not_consented' ? (
                      <form method="post" action={`${base}/access/app-consents`} class="small-form">
                        <Csrf token={viewer.csrfToken} />
                        <Back />
                        <input type="hidden" name="customerTenantId" value={r.customerTenantId} />
                        <button type="submit" aria-label={`Consent the app in ${r.name}`}>
                          Consent the app
                        </button>
                      </form>
                    ) : null}
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
