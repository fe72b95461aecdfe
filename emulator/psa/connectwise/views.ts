import type { ScenarioCatalogItem, ScenarioCompany } from './scenario.js';
import { formatDate, type ConnectwiseState, type StoredAddition } from './state.js';

// The entities as the REST API shows them (field names of the Company, Agreement, Addition
// and CatalogItem models), for the model version the request pinned.

/**
 * Model versions before this one name a child agreement's parent `parentAgreementId`; from it
 * on, a reference `parentAgreement {id,name}`, and additions carry `agreementStatus`. The
 * exact release of the change is not documented (docs/psa-emulators.md).
 */
const referenceModelSince = '2020.1';

/** Compares "2020.4"-style model versions. */
function versionAtLeast(version: string, floor: string): boolean {
  const [a = 0, b = 0] = version.split('.').map(Number);
  const [c = 0, d = 0] = floor.split('.').map(Number);
  return a !== c ? a > c : b >= d;
}

/** `_info` carries links; the sync reads none of them. */
const info = (href: string) => ({ self_href: href });

export function companyView(c: ScenarioCompany, base: string) {
  return {
    id: c.id,
    identifier: c.identifier,
    name: c.name,
    status: { id: c.status === 'Active' ? 1 : 2, name: c.status },
    ...(c.website ? { website: c.website } : {}),
    deletedFlag: c.deletedFlag,
    _info: info(`${base}/company/companies/${c.id}`),
  };
}

export function catalogItemView(item: ScenarioCatalogItem, base: string) {
  return {
    id: item.id,
    identifier: item.identifier,
    description: item.description,
    customerDescription: item.customerDescription ?? item.description,
    inactiveFlag: item.inactiveFlag,
    subcategory: { id: 1, name: 'Licensing' },
    type: { id: 1, name: 'Subscription' },
    productClass: 'NonInventory',
    price: item.price,
    cost: item.cost,
    ...(item.manufacturerPartNumber ? { manufacturerPartNumber: item.manufacturerPartNumber } : {}),
    recurringFlag: item.recurringFlag,
    recurringRevenue: item.recurringFlag ? item.price : 0,
    recurringCost: item.recurringFlag ? item.cost : 0,
    _info: info(`${base}/procurement/catalog/${item.id}`),
  };
}

function agreementStatusOf(state: ConnectwiseState, agreementId: number): string {
  const agreement = state.agreements.get(agreementId);
  if (!agreement) return 'Inactive';
  if (agreement.cancelledFlag) return 'Cancelled';
  if (agreement.endDate && Date.parse(agreement.endDate) < state.base.now()) return 'Expired';
  return 'Active';
}

export function agreementView(state: ConnectwiseState, id: number, base: string, model: string) {
  const a = state.agreements.get(id)!;
  const company = state.companies.get(a.companyId)!;
  const parent = a.parentAgreementId ? state.agreements.get(a.parentAgreementId) : undefined;
  const references = versionAtLeast(model, referenceModelSince);
  return {
    id: a.id,
    name: a.name,
    type: { id: 1, name: a.type },
    company: { id: company.id, identifier: company.identifier, name: company.name },
    ...(parent
      ? references
        ? { parentAgreement: { id: parent.id, name: parent.name } }
        : { parentAgreementId: parent.id }
      : {}),
    startDate: formatDate(Date.parse(a.startDate)),
    ...(a.endDate ? { endDate: formatDate(Date.parse(a.endDate)) } : {}),
    noEndingDateFlag: !a.endDate,
    cancelledFlag: a.cancelledFlag,
    periodType: 'Current',
    ...(references ? { agreementStatus: agreementStatusOf(state, a.id) } : {}),
    _info: info(`${base}/finance/agreements/${a.id}`),
  };
}

/** An addition is Cancelled from its cancelledDate on; else it follows its agreement. */
function additionStatus(state: ConnectwiseState, a: StoredAddition): string {
  if (a.cancelledDate && Date.parse(a.cancelledDate) <= state.base.now()) return 'Cancelled';
  return agreementStatusOf(state, a.agreementId);
}

export function additionView(
  state: ConnectwiseState,
  a: StoredAddition,
  base: string,
  model: string,
) {
  const product = state.catalog.get(a.productId)!;
  return {
    id: a.id,
    product: {
      id: product.id,
      identifier: product.identifier,
      _info: info(`${base}/procurement/catalog/${product.id}`),
    },
    quantity: a.quantity,
    lessIncluded: a.lessIncluded,
    unitPrice: a.unitPrice,
    unitCost: a.unitCost,
    billCustomer: a.billCustomer,
    ...(a.effectiveDate ? { effectiveDate: a.effectiveDate } : {}),
    ...(a.cancelledDate ? { cancelledDate: a.cancelledDate } : {}),
    taxableFlag: a.taxableFlag,
    ...(a.serialNumber ? { serialNumber: a.serialNumber } : {}),
    ...(a.invoiceDescription ? { invoiceDescription: a.invoiceDescription } : {}),
    agreementId: a.agreementId,
    description: a.description,
    billedQuantity: a.quantity - a.lessIncluded,
    uom: 'Each',
    extPrice: a.unitPrice * (a.quantity - a.lessIncluded),
    extCost: a.unitCost * (a.quantity - a.lessIncluded),
    prorateCurrentPeriodFlag: a.prorateCurrentPeriodFlag,
    proratePrice: a.proratePrice,
    prorateCost: a.prorateCost,
    extendedProratePrice: a.extendedProratePrice,
    extendedProrateCost: a.extendedProrateCost,
    ...(versionAtLeast(model, referenceModelSince)
      ? { agreementStatus: additionStatus(state, a) }
      : {}),
    _info: {
      lastUpdated: a.lastUpdated,
      updatedBy: a.updatedBy,
      agreement_href: `${base}/finance/agreements/${a.agreementId}`,
    },
  };
}
