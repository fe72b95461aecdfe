import { Csrf, Page, when, type Viewer } from './layout.js';

/** One partner's row: who uses it, its consent, and how its last refresh went. */
export interface OperatorPartnerRow {
  id: string;
  name: string;
  users: string[];
  consent: 'active' | 'needs_reconsent' | 'none';
  lastRun: {
    status: 'running' | 'completed' | 'stopped';
    at: Date;
    failed: number;
    noAccess: number;
  } | null;
}

const consentWords = {
  active: <span class="ok">Consent granted</span>,
  needs_reconsent: <span class="bad">Consent must be granted again</span>,
  none: <span class="muted">No consent yet</span>,
};

export interface OperatorPageProps {
  viewer: Viewer;
  partners: OperatorPartnerRow[];
  /** SKUs seen in licenses that Microsoft's SKU reference does not name. */
  unknownSkus: { skuId: string; skuPartNumber: string; companies: number }[];
  /** Notification channels, partners' or global, that refused for good. */
  brokenChannels: number;
  flash?: string | undefined;
  error?: string | undefined;
}

export function OperatorPage({
  viewer,
  partners,
  unknownSkus,
  brokenChannels,
  flash,
  error,
}: OperatorPageProps) {
  return (
    <Page title="Partners" viewer={viewer} current="operator">
      <h1>Partners</h1>
      {flash ? (
        <p class="notice" role="status">
          {flash}
        </p>
      ) : null}
      {error ? (
        <p class="notice bad" role="alert">
          {error}
        </p>
      ) : null}
      <section aria-labelledby="partners">
        <h2 id="partners">Partners</h2>
        {partners.length === 0 ? (
          <p class="muted" data-testid="no-partners">
            No partners yet. Add the first one below; its users can then grant consent.
          </p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">Partner</th>
                <th scope="col">Users</th>
                <th scope="col">Status</th>
                <th scope="col">Last refresh</th>
                <th scope="col">Failures</th>
                <th scope="col">
                  <span class="muted">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {partners.map((p) => (
                <tr data-testid="partner-row">
                  <td>
                    <a href={`/partners/${p.id}/delegated-admin`}>{p.name}</a>
                  </td>
                  <td>{p.users.join(', ') || <span class="muted">none</span>}</td>
                  <td>{consentWords[p.consent]}</td>
                  <td>
                    {p.lastRun ? (
                      p.lastRun.status === 'running' ? (
                        'Running'
                      ) : (
                        `${p.lastRun.status === 'completed' ? 'Completed' : 'Stopped'} ${when(p.lastRun.at)}`
                      )
                    ) : (
                      <span class="muted">never</span>
                    )}
                  </td>
                  <td>
                    {p.lastRun && p.lastRun.failed + p.lastRun.noAccess > 0 ? (
                      <a class="bad" href={`/partners/${p.id}/delegated-admin`}>
                        {[
                          p.lastRun.failed > 0 ? `${p.lastRun.failed} failed` : '',
                          p.lastRun.noAccess > 0 ? `${p.lastRun.noAccess} without access` : '',
                        ]
                          .filter(Boolean)
                          .join(', ')}
                      </a>
                    ) : (
                      <span class="muted">{p.lastRun ? 'none' : '—'}</span>
                    )}
                  </td>
                  <td>
                    <form method="post" action={`/partners/${p.id}/refresh`} class="inline">
                      <Csrf token={viewer.csrfToken} />
                      <button type="submit" aria-label={`Sync now ${p.name}`}>
                        Sync now
                      </button>
                    </form>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p>
          <a href="/admin/queues">Open the queue dashboard (Bull Board)</a>
        </p>
      </section>
      <section aria-labelledby="alert-channels">
        <h2 id="alert-channels">Alert channels</h2>
        <p>
          {brokenChannels === 0 ? (
            <span class="muted">No notification channel is broken.</span>
          ) : (
            <span class="bad" data-testid="broken-channel-count">
              {brokenChannels === 1 ? '1 channel is' : `${brokenChannels} channels are`} broken.
            </span>
          )}{' '}
          <a href="/operator/alerts">Broken channels and the global channels</a>
        </p>
      </section>
      {unknownSkus.length > 0 ? (
        <section aria-labelledby="unknown-skus">
          <h2 id="unknown-skus">SKUs without a product name</h2>
          <p class="muted">
            Microsoft’s SKU reference does not list these SKUs, so pages show their part number. Run{' '}
            <code>npm run skus:update</code> with a newer reference to name them.
          </p>
          <ul>
            {unknownSkus.map((s) => (
              <li data-testid="unknown-sku">
                {s.skuPartNumber}{' '}
                <span class="muted">
                  ({s.skuId}, {s.companies} companies)
                </span>
              </li>
            ))}
          </ul>
        </section>
      ) : null}
      <section aria-labelledby="new-partner">
        <h2 id="new-partner">Add a partner</h2>
        <form method="post" action="/operator/partners">
          <Csrf token={viewer.csrfToken} />
          <label for="partner-name">Name</label>
          <input id="partner-name" name="name" type="text" required maxLength={200} />
          <div class="actions">
            <button type="submit" class="primary">
              Add partner
            </button>
          </div>
        </form>
      </section>
      <section aria-labelledby="new-user">
        <h2 id="new-user">Add a partner user</h2>
        <form method="post" action="/operator/users">
          <Csrf token={viewer.csrfToken} />
          <label for="user-partner">Partner</label>
          <select id="user-partner" name="partnerId" required>
            {partners.map((p) => (
              <option value={p.id}>{p.name}</option>
            ))}
          </select>
          <label for="user-email">Email</label>
          <input id="user-email" name="email" type="email" required />
          <label for="user-password">Password (at least 12 characters)</label>
          <input
            id="user-password"
            name="password"
            type="password"
            required
            minLength={12}
            autocomplete="new-password"
          />
          <div class="actions">
            <button type="submit" class="primary">
              Add user
            </button>
          </div>
        </form>
      </section>
    </Page>
  );
}
