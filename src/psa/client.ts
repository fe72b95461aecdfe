import type { ProrationPolicy } from '../domain/billing.js';

// What the billing sync needs from any PSA, in the sync's own words. Each PSA's client
// (src/psa/<psa>/) maps these onto its API: a "billing container" is a ConnectWise agreement,
// an Autotask contract or a Halo recurring invoice; a "line" is an agreement addition, a
// contract service with its current units, or a recurring invoice line.

export const psaKinds = ['connectwise', 'autotask', 'halo'] as const;
export type PsaKind = (typeof psaKinds)[number];

export interface PsaCompany {
  id: string;
  name: string;
  /** Domain names the PSA knows for the company (web address, domain fields), lower case. */
  domains: string[];
  active: boolean;
  /** Microsoft tenant ids the PSA itself links to the company (Halo's Azure tenant mapping). */
  tenantIds?: string[];
}

export interface PsaProduct {
  id: string;
  name: string;
  /** The PSA's short code (catalog identifier, SKU, item code), when it has one. */
  code?: string;
}

export interface PsaBillingContainer {
  id: string;
  companyId: string;
  name: string;
}

export interface PsaBillingLine {
  id: string;
  companyId: string;
  containerId: string;
  productId: string;
  productName: string;
  /** What the PSA bills today. */
  quantity: number;
  /** Billing stopped (ConnectWise cancelled addition, zero units, inactive Halo line). */
  cancelled: boolean;
}

export interface QuantityChange {
  containerId: string;
  productId: string;
  /** The line to change; omitted: the product's line on the container, made if missing. */
  lineId?: string;
  /** The quantity the PSA should bill from the effective date. */
  target: number;
  /** YYYY-MM-DD */
  effectiveDate: string;
  /** Whether the part of the period left is billed for the change. Default: prorate */
  proration?: ProrationPolicy;
}

export interface AppliedChange {
  lineId: string;
  /** Quantity read just before the write. */
  before: number;
  after: number;
  /** The PSA's id for what was written (addition, adjustment, line); the line's when nothing was. */
  responseId: string;
  /** The PSA already billed the target: nothing was written. */
  alreadyApplied: boolean;
}

/** Called around each request, for pacing across workers (keyed by the PSA's limit scope). */
export interface PsaRequestHooks {
  /** Waits for a slot; returns the function that gives it back. `entity`: the API object. */
  acquire?(entity: string): Promise<() => void>;
}

export interface PsaClient {
  readonly kind: PsaKind;
  /**
   * The PSA prorates every change inside a period and takes no flag to say otherwise
   * (Autotask): only the effective date decides, so no proration means a period's first day.
   */
  readonly prorationByDate: boolean;
  /** Checks the address, credentials and permissions; throws a PsaError saying which failed. */
  testConnection(): Promise<{ description: string }>;
  listCompanies(): Promise<PsaCompany[]>;
  listProducts(): Promise<PsaProduct[]>;
  listContainers(companyId: string): Promise<PsaBillingContainer[]>;
  /**
   * The company's lines with what they bill on `asOf` (YYYY-MM-DD), the day a change planned
   * now would take effect: a change already made for that day is found there. PSAs without
   * dated periods answer their current quantities. Default: today
   */
  listLines(companyId: string, asOf?: string): Promise<PsaBillingLine[]>;
  /**
   * Makes the PSA bill `target` from the effective date. Reads the current quantity first,
   * so a repeated call (a retry after a crash) writes nothing and says `alreadyApplied`.
   */
  setQuantity(change: QuantityChange): Promise<AppliedChange>;
  /** Stops billing a line from the date, keeping its history: never a delete. */
  cancelLine(
    line: { containerId: string; productId: string; lineId: string },
    effectiveDate: string,
  ): Promise<AppliedChange>;
}
