import type { CustomLicenseKind } from '../../domain/custom-licenses.js';
import type { CustomLicenseDefinition } from '../../store/custom-licenses.js';
import type { Company } from '../../store/partners.js';
import { Csrf } from './layout.js';
import { keptList, keptValue, Refusal, type RefusedForm } from './refused-form.js';

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

/** The fields of one kind, filled from what was sent when refused, else from the saved one. */
function KindFields(props: {
  kind: CustomLicenseKind;
  saved?: CustomLicenseDefinition;
  refused: RefusedForm | undefined;
}) {
  const value = (key: string) => keptValue(props.refused, key, param(props.saved, key));
  switch (props.kind) {
    case 'licensed_users':
      return (
        <label>
          Only users in these domains <span class="muted">(optional; commas between)</span>
          <input type="text" name="domains" value={value('domains')} />
        </label>
      );
    case 'group_members':
      return (
        <label>
          Group (display name or object id)
          <input type="text" name="group" value={value('group')} />
        </label>
      );
    case 'sku_quantity':
      return (
        <>
          <label>
            SKU part number
            <input type="text" name="skuPartNumber" value={value('skuPartNumber')} />
          </label>
          <label>
            Count
            <select name="measure">
              <option value="purchased" selected={value('measure') !== 'assigned'}>
                Purchased seats
              </option>
              <option value="assigned" selected={value('measure') === 'assigned'}>
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
          <input type="text" inputmode="numeric" name="quantity" value={value('quantity')} />
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

/** The saved custom licenses (each editable and deletable), and a form to create one of each kind. */
export function CustomLicensesSection(props: {
  base: string;
  csrfToken: string;
  companies: Company[];
  definitions: CustomLicenseDefinition[];
  refusedFor: (form: string) => RefusedForm | undefined;
}) {
  const { base, csrfToken, companies } = props;
  return (
    <section aria-labelledby="custom-licenses">
      <h2 id="custom-licenses">Custom licenses</h2>
      {props.definitions.length === 0 ? <p class="muted">No custom licenses.</p> : null}
      <ul class="plain" data-testid="custom-licenses">
        {props.definitions.map((d) => {
          const refused = props.refusedFor(`license-${d.id}`);
          return (
            <li data-testid="custom-license">
              <strong>{d.name}</strong> <span class="muted">· {kindWords[d.kind]}</span>
              <details id={`license-${d.id}`} open={refused !== undefined}>
                <summary>Edit</summary>
                <Refusal refused={refused} />
                <form method="post" action={`${base}/custom-licenses/${d.id}`}>
                  <Csrf token={csrfToken} />
                  <label>
                    Name
                    <input type="text" name="name" value={keptValue(refused, 'name', d.name)} />
                  </label>
                  <KindFields kind={d.kind} saved={d} refused={refused} />
                  <CompanyChoice
                    companies={companies}
                    chosen={keptList(refused, 'companyIds', d.companyIds)}
                  />
                  <button type="submit">Save</button>
                </form>
                <form
                  method="post"
                  action={`${base}/custom-licenses/${d.id}/delete`}
                  class="small-form"
                >
                  <Csrf token={csrfToken} />
                  <button type="submit">Delete</button>
                </form>
              </details>
            </li>
          );
        })}
      </ul>
      <h3>New custom license</h3>
      {kinds.map((kind) => {
        const refused = props.refusedFor(`new-license-${kind}`);
        return (
          <details id={`new-license-${kind}`} open={refused !== undefined}>
            <summary>{kindWords[kind]}</summary>
            <Refusal refused={refused} />
            <form method="post" action={`${base}/custom-licenses`}>
              <Csrf token={csrfToken} />
              <input type="hidden" name="kind" value={kind} />
              <label>
                Name
                <input type="text" name="name" value={keptValue(refused, 'name')} />
              </label>
              <KindFields kind={kind} refused={refused} />
              <CompanyChoice companies={companies} chosen={keptList(refused, 'companyIds', null)} />
              <button type="submit">Create</button>
            </form>
          </details>
        );
      })}
    </section>
  );
}
