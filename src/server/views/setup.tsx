import type { CustomLicenseKind } from '../../domain/custom-licenses.js';
import type { CustomLicenseDefinition } from '../../store/custom-licenses.js';
import type { Company, DelegatedAdmin } from '../../store/partners.js';
import { Csrf, Page, when, type Viewer } from './layout.js';

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
}

/** What each kind counts, in the words the forms use. */
const kindWords: Record<CustomLicenseKind, string> = {
  licensed_users: 'Licensed users',
  group_members: 'Members of a group',
  user_mailboxes: 'User mailboxes',
  shared_mailboxes: 'Shared mailboxes',
  sku_quantity: 'Quantity of a Microsoft license',
  fixed: 'A fixed quantity',
};
const kinds = Object.keys(kindWords) as CustomLicenseKind[];

const param = (d: CustomLicenseDefinition | undefined, key: string): string => {
  const value = d?.params[key];
  if (Array.isArray(value)) return value.join(', ');
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
};

/** The fields of one kind, filled from a saved definition when editing. */
function KindFields({ kind, saved }: { kind: CustomLicenseKind; saved?: CustomLicenseDefinition }) {
  switch (kind) {
    case 'licensed_users':
      return (
        <label>
          Only users in these domains <span class="muted">(optional; commas between)</span>
          <input type="text" name="domains" value={param(saved, 'domains')} />
        </label>
      );
    case 'group_members':
      return (
        <label>
          Group (display name or object id)
          <input type="text" name="group" value={param(saved, 'group')} />
        </label>
      );
    case 'sku_quantity':
      return (
        <>
          <label>
            SKU part number
            <input type="text" name="skuPartNumber" value={param(saved, 'skuPartNumber')} />
          </label>
          <label>
            Count
            <select name="measure">
              <option value="purchased" selected={param(saved, 'measure') !== 'assigned'}>
                Purchased seats
              </option>
              <option value="assigned" selected={param(saved, 'measure') === 'assigned'}>
                Assigned seats
              </option>
            </select>
          </label>
        </>
      );
    case 'fixed':
      return (
        <label>
          Quantity
          <input type="text" inputmode="numeric" name="quantity" value={param(saved, 'quantity')} />
        </label>
      );
    default:
      return null;
  }
}

/** The companies a definition counts for: none ticked means every company. */
function CompanyChoice(props: { companies: Company[]; chosen: string[] | null }) {
  if (props.companies.length === 0) return null;
  return (
    <fieldset>
      <legend class="small">Companies (none ticked: every company)</legend>
      {props.companies.map((c) => (
        <label class="small">
          <input
            type="checkbox"
            name="companyIds"
            value={c.id}
            checked={props.chosen?.includes(c.id) ?? false}
          />{' '}
          {c.name}
        </label>
      ))}
    </fieldset>
  );
}

/** What only the API could set up before: companies, legacy accounts, custom licenses. */
export function SetupPage(props: SetupPageProps) {
  const { viewer, partner, companies, notYetAdded } = props;
  const base = `/partners/${partner.id}/setup`;
  const legacy = props.admins.filter((a) => a.kind === 'legacy');
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
            {companies.map((c) => (
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
                  <details>
                    <summary>Edit</summary>
                    <form method="post" action={`${base}/companies/${c.id}`}>
                      <Csrf token={viewer.csrfToken} />
                      <label>
                        Name
                        <input type="text" name="name" value={c.name} />
                      </label>
                      <label>
                        Domain
                        <input type="text" name="domain" value={c.domain ?? ''} />
                      </label>
                      <label>
                        Customer tenant id
                        <input
                          type="text"
                          name="customerTenantId"
                          value={c.customerTenantId ?? ''}
                        />
                      </label>
                      {notYetAdded.length > 0 ? (
                        <label>
                          Or link to a Partner Center customer
                          <select name="linkTenantId">
                            <option value="">—</option>
                            {notYetAdded.map((n) => (
                              <option value={n.customerTenantId}>
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
            ))}
          </tbody>
        </table>
        <details>
          <summary>Add a company</summary>
          <form method="post" action={`${base}/companies`}>
            <Csrf token={viewer.csrfToken} />
            <label>
              Name
              <input type="text" name="name" />
            </label>
            <label>
              Domain <span class="muted">(a refresh links the customer with this domain)</span>
              <input type="text" name="domain" />
            </label>
            <label>
              Customer tenant id <span class="muted">(or this)</span>
              <input type="text" name="customerTenantId" />
            </label>
            {legacy.some((a) => a.status === 'active') ? (
              <label>
                Legacy account
                <select name="delegatedAdminId">
                  <option value="">None: the Partner Center consent</option>
                  {legacy
                    .filter((a) => a.status === 'active')
                    .map((a) => (
                      <option value={a.id}>{a.username}</option>
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
        <details>
          <summary>Add a legacy account</summary>
          <form method="post" action={`${base}/delegated-admins`}>
            <Csrf token={viewer.csrfToken} />
            <label>
              User principal name
              <input type="text" name="username" autocomplete="off" />
            </label>
            <label>
              Password <span class="muted">(kept encrypted, never shown again)</span>
              <input type="password" name="password" autocomplete="new-password" />
            </label>
            <button type="submit">Add the account</button>
          </form>
        </details>
      </section>

      <section aria-labelledby="custom-licenses">
        <h2 id="custom-licenses">Custom licenses</h2>
        {props.definitions.length === 0 ? <p class="muted">No custom licenses.</p> : null}
        <ul class="plain" data-testid="custom-licenses">
          {props.definitions.map((d) => (
            <li data-testid="custom-license">
              <strong>{d.name}</strong> <span class="muted">· {kindWords[d.kind]}</span>
              <details>
                <summary>Edit</summary>
                <form method="post" action={`${base}/custom-licenses/${d.id}`}>
                  <Csrf token={viewer.csrfToken} />
                  <label>
                    Name
                    <input type="text" name="name" value={d.name} />
                  </label>
                  <KindFields kind={d.kind} saved={d} />
                  <CompanyChoice companies={companies} chosen={d.companyIds} />
                  <button type="submit">Save</button>
                </form>
                <form
                  method="post"
                  action={`${base}/custom-licenses/${d.id}/delete`}
                  class="small-form"
                >
                  <Csrf token={viewer.csrfToken} />
                  <button type="submit">Delete</button>
                </form>
              </details>
            </li>
          ))}
        </ul>
        <h3>New custom license</h3>
        {kinds.map((kind) => (
          <details>
            <summary>{kindWords[kind]}</summary>
            <form method="post" action={`${base}/custom-licenses`}>
              <Csrf token={viewer.csrfToken} />
              <input type="hidden" name="kind" value={kind} />
              <label>
                Name
                <input type="text" name="name" />
              </label>
              <KindFields kind={kind} />
              <CompanyChoice companies={companies} chosen={null} />
              <button type="submit">Create</button>
            </form>
          </details>
        ))}
      </section>
    </Page>
  );
}
