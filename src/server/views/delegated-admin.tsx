import type { AccessProblem } from '../../domain/access.js';
import type { CustomLicenseTokenState } from '../../domain/custom-licenses.js';
import type { delegatedAdminStatus } from '../api/consents.js';
import { Csrf, Page, when, type Viewer } from './layout.js';

export interface DelegatedAdminPageProps {
  viewer: Viewer;
  partner: { id: string; name: string };
  status: ReturnType<typeof delegatedAdminStatus>;
  companiesOnNewModel: number;
  failures: {
    customerTenantId: string;
    companyName: string | null;
    error: string | null;
    attempts: number;
    lastTriedAt: Date | null;
  }[];
  token: CustomLicenseTokenState & {
    upn: string | null;
    lastValidatedAt: Date | null;
    /** The latest custom-license token consent, followed like the Partner Center one. */
    attempt: { status: string; message: string | null } | null;
  };
  /** Customers by GDAP access problem, once access has been read. */
  access: { total: number; counts: Record<AccessProblem, number> } | null;
  /** A sentence from the last action (retry queued, validation queued...). */
  flash?: string | undefined;
}

/** The access problems the summary counts, in its order and words. */
const accessProblemLines: [AccessProblem, string][] = [
  ['expiring', 'relationship expiring within 30 days'],
  ['expiring_7_days', 'relationship expiring within 7 days'],
  ['expired', 'relationship expired'],
  ['no_relationship', 'no relationship (none, or terminated)'],
  ['missing_role', 'missing a role'],
  ['app_not_consented', 'app not consented'],
  ['no_auto_extend', 'relationship that cannot auto-extend'],
];

/** A sentence from elsewhere, ended once: "… again." is not followed by another period. */
const sentence = (text: string) => (/[.!?…]$/.test(text.trim()) ? text.trim() : `${text.trim()}.`);

const yesNo = (value: boolean) =>
  value ? <span class="ok">Yes</span> : <span class="bad">No</span>;

export function DelegatedAdminPage(props: DelegatedAdminPageProps) {
  const { viewer, partner, status, failures, token } = props;
  const run = status.run;
  const completing = (a: { status: string } | null) =>
    a?.status === 'received' || a?.status === 'exchanging';
  const consentCompleting = completing(status.attempt);
  const tokenCompleting = completing(token.attempt);
  // Reloads until what runs in the background ends: a refresh, or either consent completing.
  const working = run?.status === 'running' || consentCompleting || tokenCompleting;
  const replaced = status.legacyAccounts.filter((a) => a.status === 'replaced');
  const base = `/partners/${partner.id}`;
  return (
    <Page
      title="Delegated Admin"
      viewer={viewer}
      partner={partner}
      current="delegated-admin"
      refreshSeconds={working ? 2 : undefined}
    >
      <h1>{partner.name} · Delegated Admin</h1>
      {props.flash ? (
        <p class="notice" role="status">
          {props.flash}
        </p>
      ) : null}
      {status.nextAction ? (
        <p
          class={
            status.attempt?.status === 'failed' || status.consent?.status === 'needs_reconsent'
              ? 'notice bad'
              : 'notice'
          }
          role="alert"
          data-testid="next-action"
        >
          {status.nextAction}
        </p>
      ) : null}

      <section aria-labelledby="accounts">
        <h2 id="accounts">Accounts</h2>
        <table>
          <thead>
            <tr>
              <th scope="col">Account</th>
              <th scope="col">Model</th>
              <th scope="col">MFA</th>
              <th scope="col">Admin Agent</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {status.consent ? (
              <tr data-testid="consent-row">
                <td>{status.consent.upn}</td>
                <td>New (Secure Application Model)</td>
                <td>{yesNo(status.consent.mfa)}</td>
                <td>{yesNo(status.consent.adminAgent)}</td>
                <td>
                  {status.consent.status === 'active'
                    ? `Consent granted ${when(status.consent.grantedAt)}`
                    : status.consent.status === 'needs_reconsent'
                      ? 'Consent must be granted again'
                      : 'Replaced'}
                </td>
              </tr>
            ) : null}
            {status.legacyAccounts.map((a) => (
              <tr data-testid="legacy-row">
                <td>{a.username}</td>
                <td>Old (delegated admin)</td>
                <td class="muted">—</td>
                <td class="muted">—</td>
                <td>
                  {a.status === 'replaced'
                    ? `Replaced by ${status.consent?.upn ?? 'the consent'}`
                    : 'In use'}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {status.attempt &&
        status.attempt.status !== 'failed' &&
        status.attempt.status !== 'completed' ? (
          <p class="muted" role="status">
            {status.attempt.message}
          </p>
        ) : null}
        <form method="post" action={`${base}/consent`} class="actions">
          <Csrf token={viewer.csrfToken} />
          {consentCompleting ? (
            <button type="submit" disabled>
              Completing consent…
            </button>
          ) : (
            <button type="submit" class="primary">
              Grant Partner Center Consent
            </button>
          )}
          <span class="muted">
            Sign in with an Admin Agent account that uses MFA. This may take a few minutes while
            consent is granted and we do the initial refresh.
          </span>
        </form>
      </section>

      <section aria-labelledby="refresh">
        <h2 id="refresh">License refresh</h2>
        {run ? (
          <div data-testid="run">
            <p role="status">
              {run.status === 'running' && run.total === 0 ? (
                'Refreshing: listing the partner’s customers…'
              ) : (
                <>
                  {run.status === 'running'
                    ? `Refreshing: ${run.succeeded + run.failed + run.noAccess} of ${run.total} companies done`
                    : run.status === 'completed'
                      ? `Refresh completed ${when(run.finishedAt)}: ${run.succeeded} of ${run.total} companies refreshed`
                      : run.total > 0
                        ? `Refresh stopped after ${run.succeeded + run.failed + run.noAccess} of ${run.total} companies`
                        : 'Refresh stopped'}
                  {run.failed > 0 ? `, ${run.failed} failed` : ''}
                  {run.noAccess > 0 ? (
                    <>
                      , <a href={`${base}/access?show=attention`}>{run.noAccess} without access</a>
                    </>
                  ) : null}
                  {run.customLicensesFailed > 0
                    ? `; custom licenses failed for ${run.customLicensesFailed}`
                    : ''}
                  .{run.status === 'stopped' && run.message ? ` ${sentence(run.message)}` : ''}
                </>
              )}
            </p>
            <progress
              max={Math.max(run.total, 1)}
              value={run.succeeded + run.failed + run.noAccess}
              aria-label="Refresh progress"
            />
          </div>
        ) : (
          <p class="muted">No refresh has run yet.</p>
        )}
        {replaced.length > 0 && status.consent ? (
          <p data-testid="replaced">
            {`Replaced ${replaced.map((a) => a.username).join(', ')} with ${status.consent.upn}; ${props.companiesOnNewModel} companies are on the new model.`}
          </p>
        ) : null}
        {viewer.role === 'operator' ? (
          <form method="post" action={`${base}/refresh`} class="actions">
            <Csrf token={viewer.csrfToken} />
            <button type="submit">Sync now</button>
          </form>
        ) : null}
      </section>

      <section aria-labelledby="access">
        <h2 id="access">Customer access (GDAP)</h2>
        {props.access ? (
          <>
            <p data-testid="access-total">
              {props.access.counts.attention === 0
                ? `All ${props.access.total} customers can be read.`
                : `${props.access.counts.attention} of ${props.access.total} customers need attention.`}{' '}
              <a href={`${base}/access`}>Open the Access tab</a>
            </p>
            <ul class="summary" data-testid="access-summary">
              {accessProblemLines.map(([problem, words]) => (
                <li data-problem={problem}>
                  <span class="count">{props.access!.counts[problem]}</span>
                  {props.access!.counts[problem] > 0 ? (
                    <a href={`${base}/access?show=${problem}`}>{words}</a>
                  ) : (
                    <span class="muted">{words}</span>
                  )}
                </li>
              ))}
            </ul>
          </>
        ) : (
          <p class="muted">
            Access to each customer is read at the start of every refresh, once consent is granted.
          </p>
        )}
      </section>

      {failures.length > 0 ? (
        <section aria-labelledby="failures">
          <h2 id="failures">Failed companies</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Company</th>
                <th scope="col">Error</th>
                <th scope="col">Attempts</th>
                <th scope="col">Last tried</th>
                <th scope="col">
                  <span class="muted">Action</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {failures.map((f) => (
                <tr data-testid="failure-row">
                  <td>{f.companyName ?? f.customerTenantId}</td>
                  <td>{f.error}</td>
                  <td>{f.attempts}</td>
                  <td>{when(f.lastTriedAt)}</td>
                  <td>
                    <form method="post" action={`${base}/retry`} class="inline">
                      <Csrf token={viewer.csrfToken} />
                      <input type="hidden" name="customerTenantId" value={f.customerTenantId} />
                      <button
                        type="submit"
                        aria-label={`Retry ${f.companyName ?? f.customerTenantId}`}
                      >
                        Retry
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <form method="post" action={`${base}/retry`} class="actions">
            <Csrf token={viewer.csrfToken} />
            <button type="submit">Retry all</button>
          </form>
        </section>
      ) : null}

      <section aria-labelledby="custom-license-token">
        <h2 id="custom-license-token">Custom-license token</h2>
        <p class="muted">
          Custom licenses (Managed Users, Exclaimer, antispam...) are counted through Microsoft
          Graph with a token of their own.
        </p>
        <p role="status" data-testid="token-status">
          <strong>
            {token.status === 'valid'
              ? 'Valid'
              : token.status === 'missing'
                ? 'Missing'
                : token.status === 'expiring'
                  ? 'Expiring'
                  : 'Invalid'}
          </strong>
          {token.upn ? ` · ${token.upn}` : ''}
          {token.lastValidatedAt ? ` · validated ${when(token.lastValidatedAt)}` : ''}
        </p>
        {token.attempt?.status === 'failed' && token.attempt.message ? (
          <p class="notice bad">{token.attempt.message}</p>
        ) : tokenCompleting ? (
          <p class="muted" role="status" data-testid="token-attempt">
            {token.attempt?.message}
          </p>
        ) : null}
        {token.reason ? (
          <p class={token.status === 'expiring' ? 'warn' : 'bad'}>{token.reason}</p>
        ) : null}
        {token.nextAction ? <p>{token.nextAction}</p> : null}
        <div class="actions">
          <form method="post" action={`${base}/custom-license-token/consent`} class="inline">
            <Csrf token={viewer.csrfToken} />
            <button type="submit" disabled={tokenCompleting}>
              {tokenCompleting ? 'Completing the token…' : 'Generate custom-license token'}
            </button>
          </form>
          {token.status !== 'missing' ? (
            <form method="post" action={`${base}/custom-license-token/validate`} class="inline">
              <Csrf token={viewer.csrfToken} />
              <button type="submit">Validate now</button>
            </form>
          ) : null}
        </div>
      </section>
    </Page>
  );
}
