import type { CustomLicenseDefinition } from '../../store/custom-licenses.js';
import type { Company, DelegatedAdmin } from '../../store/partners.js';
import { Csrf, Page, when, type Viewer } from './layout.js';
import { keptValue, Refusal, type RefusedForm } from './refused-form.js';
import { CustomLicensesSection } from './setup-custom-licenses.js';

export interface SetupPageProps {
  viewer: Viewer;
  partner: { id: string; name: string };
  companies: Company[];
  /** Partner Center customers the latest refresh found with no company here. */
  notYetAdded: { customerTenantId: string; domain: string; name: string }[];
  /** When the latest refresh listed the customers; null when none has. */
  listedAt: Date | null;
  admins: DelegatedAdmin[];
  definitions: CustomLicenseDefinition[];
  flash?: string | undefined;
  /** The form the server just refused, shown again as it was sent. */
  refused?: RefusedForm | undefined;
}

/** What only the API could set up before: companies, legacy accounts, custom licenses. */
export function SetupPage(props: SetupPageProps) {
  const { viewer, partner, companies, notYetAdded } = props;
  const base = `/partners/${partner.id}/setup`;
  const legacy = props.admins.filter((a) => a.kind === 'legacy');
  const refusedFor = (form: string) =>
    props.refused?.partnerId === partner.id && props.refused.form === form
      ? props.refused
      : undefined;
  const addCompany = refusedFor('add-company');
  const addLegacy = refusedFor('add-legacy');
  return (
    <Page title="Setup" viewer={viewer} partner={partner} current="setup" wide>
      <h1>{partner.name} · Setup</h1>
      {props.flash ? (
        <p class="notice" role="status" data-testid="flash">
          {props.flash}
        </p>
      ) : null}

      <section aria-labelledby="sync">
        <h2 id="sync">Sync now</h2>
        <p class="muted">
          Lists the Partner Center customers and refreshes every company now, rather than at the
          next scheduled refresh.
        </p>
        <form method="post" action={`${base}/sync`}>
          <Csrf token={viewer.csrfToken} />
          <button type="submit" class="primary">
            Sync now
          </button>
        </form>
      </section>

      <section aria-labelledby="companies">
        <h2 id="companies">Companies</h2>
        {companies.length === 0 ? <p class="muted">No companies yet.</p> : null}
        <table class="stack" data-testid="setup-companies">
          <thead>
            <tr>
              <th scope="col">Company</th>
              <th scope="col">Domain</th>
              <th scope="col">Customer tenant</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {companies.map((c) => {
              const refused = refusedFor(`company-${c.id}`);
              return (
                <tr data-testid="setup-company">
                  <td>{c.name}</td>
                  <td>{c.domain ?? <span class="muted">—</span>}</td>
                  <td>
                    {c.customerTenantId ?? <span class="muted">not linked yet</span>}
                    {c.visibility === 'not_visible' ? (
                      <span class="warn small"> · not in the latest customer list</span>
                    ) : null}
                  </td>
                  <td>
                    <details id={`company-${c.id}`} open={refused !== undefined}>
                      <summary>Edit</summary>
                      <Refusal refused={refused} />
                      <form method="post" action={`${base}/companies/${c.id}`}>
                        <Csrf token={viewer.csrfToken} />
                        <label>
                          Name
                          <input
                            type="text"
                            name="name"
                            value={keptValue(refused, 'name', c.name)}
                          />
                        </label>
                        <label>
                          Domain
                          <input
                            type="text"
                            name="domain"
                            value={keptValue(refused, 'domain', c.domain ?? '')}
                          />
                        </label>
                        <label>
                          Customer tenant id
                          <input
                            type="text"
                            name="customerTenantId"
                            value={keptValue(refused, 'customerTenantId', c.customerTenantId ?? '')}
                          />
                        </label>
                        {notYetAdded.length > 0 ? (
                          <label>
                            Or link to a Partner Center customer
                            <select name="linkTenantId">
                              <option value="">—</option>
                              {notYetAdded.map((n) => (
                                <option
                                  value={n.customerTenantId}
                                  selected={
                                    keptValue(refused, 'linkTenantId') === n.customerTenantId
                                  }
                                >
                                  {n.name} ({n.domain})
                                </option>
                              ))}
                            </select>
                          </label>
                        ) : null}
                        <button type="submit">Save</button>
                      </form>
                    </details>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <details id="add-company" open={addCompany !== undefined}>
          <summary>Add a company</summary>
          <Refusal refused={addCompany} />
          <form method="post" action={`${base}/companies`}>
            <Csrf token={viewer.csrfToken} />
            <label>
              Name
              <input type="text" name="name" value={keptValue(addCompany, 'name')} />
            </label>
            <label>
              Domain <span class="muted">(a refresh links the customer with this domain)</span>
              <input type="text" name="domain" value={keptValue(addCompany, 'domain')} />
            </label>
            <label>
              Customer tenant id <span class="muted">(or this)</span>
              <input
                type="text"
                name="customerTenantId"
                value={keptValue(addCompany, 'customerTenantId')}
              />
            </label>
            {legacy.some((a) => a.status === 'active') ? (
              <label>
                Legacy account
                <select name="delegatedAdminId">
                  <option value="">None: the Partner Center consent</option>
                  {legacy
                    .filter((a) => a.status === 'active')
                    .map((a) => (
                      <option
                        value={a.id}
                        selected={keptValue(addCompany, 'delegatedAdminId') === a.id}
                      >
                        {a.username}
                      </option>
                    ))}
                </select>
              </label>
            ) : null}
            <button type="submit">Add the company</button>
          </form>
        </details>
      </section>

      <section aria-labelledby="not-yet-added">
        <h2 id="not-yet-added">Partner Center customers not yet added</h2>
        {props.listedAt === null ? (
          <p class="muted">No refresh has listed the customers yet: sync now to list them.</p>
        ) : notYetAdded.length === 0 ? (
          <p class="muted">
            Every customer of the latest list ({when(props.listedAt)}) is a company.
          </p>
        ) : (
          <>
            <p class="muted">As the latest refresh listed them ({when(props.listedAt)}).</p>
            <table class="stack" data-testid="not-yet-added">
              <tbody>
                {notYetAdded.map((n) => (
                  <tr>
                    <td>{n.name}</td>
                    <td>{n.domain}</td>
                    <td>
                      <form method="post" action={`${base}/customers`} class="inline">
                        <Csrf token={viewer.csrfToken} />
                        <input type="hidden" name="customerTenantId" value={n.customerTenantId} />
                        <button type="submit">Add</button>
                      </form>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <form method="post" action={`${base}/customers`} class="small-form">
              <Csrf token={viewer.csrfToken} />
              <input type="hidden" name="scope" value="all" />
              <button type="submit">Add all {notYetAdded.length}</button>
            </form>
          </>
        )}
      </section>

      <section aria-labelledby="legacy">
        <h2 id="legacy">Legacy delegated-admin accounts</h2>
        {legacy.length === 0 ? (
          <p class="muted">No legacy accounts.</p>
        ) : (
          <table data-testid="legacy-accounts">
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Status</th>
                <th scope="col">Added</th>
              </tr>
            </thead>
            <tbody>
              {legacy.map((a) => (
                <tr>
                  <td>{a.username}</td>
                  <td>{a.status}</td>
                  <td>{when(a.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <details id="add-legacy" open={addLegacy !== undefined}>
          <summary>Add a legacy account</summary>
          <Refusal refused={addLegacy} />
          <form method="post" action={`${base}/delegated-admins`}>
            <Csrf token={viewer.csrfToken} />
            <label>
              User principal name
              <input
                type="text"
                name="username"
                autocomplete="off"
                value={keptValue(addLegacy, 'username')}
              />
            </label>
            <label>
              Password <span class="muted">(kept encrypted, never shown again)</span>
              <input type="password" name="password" autocomplete="new-password" />
            </label>
            <button type="submit">Add the account</button>
          </form>
        </details>
      </section>

      <CustomLicensesSection
        base={base}
        csrfToken={viewer.csrfToken}
        companies={companies}
        definitions={props.definitions}
        refusedFor={refusedFor}
      />
    </Page>
  );
}
