import type { PsaEmulatorBase } from '../base.js';
import type {
  ConnectwiseScenario,
  ScenarioAgreement,
  ScenarioCatalogItem,
  ScenarioCompany,
  billCustomerValues,
} from './scenario.js';

// The live entities of one ConnectWise site, changed by the API's writes.

export interface StoredAddition {
  id: number;
  agreementId: number;
  productId: number;
  quantity: number;
  lessIncluded: number;
  unitPrice: number;
  unitCost: number;
  billCustomer: (typeof billCustomerValues)[number];
  effectiveDate?: string | undefined;
  cancelledDate?: string | undefined;
  description: string;
  invoiceDescription?: string | undefined;
  serialNumber?: string | undefined;
  taxableFlag: boolean;
  /** Bill the rest of the current period for a change (emulator-proration in additions.ts). */
  prorateCurrentPeriodFlag: boolean;
  /** The unit price and cost for the rest of the month the last quantity change was made in. */
  proratePrice: number;
  prorateCost: number;
  /** The prorated price and cost of that change's seats (negative: a credit). */
  extendedProratePrice: number;
  extendedProrateCost: number;
  lastUpdated: string;
  updatedBy: string;
}

type StoredAgreement = Omit<ScenarioAgreement, 'additions'>;

export interface ConnectwiseState {
  scenario: ConnectwiseScenario;
  base: PsaEmulatorBase;
  /** The hosted release path; POST /_emulator/codebase moves it, as an upgrade does. */
  codebase: string;
  companies: Map<number, ScenarioCompany>;
  catalog: Map<number, ScenarioCatalogItem>;
  agreements: Map<number, StoredAgreement>;
  additions: Map<number, StoredAddition>;
  nextAdditionId: number;
  /** Requests per API member in the current rate-limit window. */
  rateWindows: Map<string, { startedAt: number; count: number }>;
}

/** ConnectWise writes dates as yyyy-MM-ddTHH:mm:ssZ. */
export function formatDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function createConnectwiseState(
  scenario: ConnectwiseScenario,
  base: PsaEmulatorBase,
): ConnectwiseState {
  const catalog = new Map(scenario.catalog.map((item) => [item.id, item]));
  const additions = new Map<number, StoredAddition>();
  const created = formatDate(base.now());
  for (const agreement of scenario.agreements)
    for (const line of agreement.additions) {
      const product = catalog.get(line.productId)!;
      additions.set(line.id, {
        id: line.id,
        agreementId: agreement.id,
        productId: line.productId,
        quantity: line.quantity,
        lessIncluded: 0,
        unitPrice: line.unitPrice ?? product.price,
        unitCost: product.cost,
        billCustomer: line.billCustomer,
        effectiveDate: line.effectiveDate && formatDate(Date.parse(line.effectiveDate)),
        cancelledDate: line.cancelledDate && formatDate(Date.parse(line.cancelledDate)),
        description: product.description,
        taxableFlag: false,
        prorateCurrentPeriodFlag: false,
        proratePrice: 0,
        prorateCost: 0,
        extendedProratePrice: 0,
        extendedProrateCost: 0,
        lastUpdated: created,
        updatedBy: 'scenario',
      });
    }
  return {
    scenario,
    base,
    codebase: scenario.codebase,
    companies: new Map(scenario.companies.map((c) => [c.id, c])),
    catalog,
    agreements: new Map(scenario.agreements.map(({ additions: _a, ...a }) => [a.id, a])),
    additions,
    nextAdditionId: Math.max(0, ...additions.keys()) + 1,
    rateWindows: new Map(),
  };
}

/** The additions an agreement's list shows: its own and those of its child agreements. */
export function additionsVisibleFrom(state: ConnectwiseState, agreementId: number) {
  const children = new Set(
    [...state.agreements.values()]
      .filter((a) => a.parentAgreementId === agreementId)
      .map((a) => a.id),
  );
  return [...state.additions.values()].filter(
    (a) => a.agreementId === agreementId || children.has(a.agreementId),
  );
}

export function connectwiseSnapshot(state: ConnectwiseState) {
  return {
    codebase: state.codebase,
    companies: [...state.companies.values()],
    catalog: [...state.catalog.values()],
    agreements: [...state.agreements.values()],
    additions: [...state.additions.values()],
  };
}
