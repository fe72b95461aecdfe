import type { PsaEmulatorBase } from '../base.js';
import { billingPeriods, dayOf, wireDate, type UnitRow } from './periods.js';
import { periodTypes } from './picklists.js';
import type { AutotaskScenario } from './scenario.js';
import { RequestLimits } from './limits.js';

// The live records of the emulated database, shaped as the API serialises them (camelCase).

type Row = Record<string, unknown>;

export interface ContractRecord extends Row {
  id: number;
  companyID: number;
  contractName: string;
  contractType: number;
  contractPeriodType: number;
  startDate: string;
  endDate: string;
}

export interface ContractServiceRecord extends Row {
  id: number;
  contractID: number;
  serviceID: number;
  unitPrice: number;
  unitCost: number;
}

export interface ServiceRecord extends Row {
  id: number;
  name: string;
  unitPrice: number;
  unitCost: number;
}

export interface AdjustmentRecord {
  id: number;
  contractID: number;
  contractServiceID: number;
  serviceID: number;
  effectiveDate: string;
  unitChange: number;
  createdAt: string;
}

export class AutotaskState {
  companies: Row[];
  services: ServiceRecord[];
  products: Row[];
  contracts: ContractRecord[];
  contractServices: ContractServiceRecord[] = [];
  units: UnitRow[] = [];
  /** Create-only: kept for the snapshot, never served by the API. */
  adjustments: AdjustmentRecord[] = [];
  /** Contract id → last day of its approved-and-posted periods. */
  postedThrough = new Map<number, string>();
  /** User name (lower case) → zone path; the control API can move a user. */
  userZones: Map<string, string>;
  readonly limits: RequestLimits;
  private lastId = 29_700_000;

  constructor(
    readonly scenario: AutotaskScenario,
    readonly base: PsaEmulatorBase,
  ) {
    this.limits = new RequestLimits(scenario.limits, () => base.now());
    this.userZones = new Map(scenario.apiUsers.map((u) => [u.userName.toLowerCase(), u.zone]));
    const created = wireDate(dayOf(new Date(base.now()).toISOString()));
    this.companies = scenario.companies.map((c) => ({
      id: c.id,
      companyName: c.companyName,
      companyNumber: c.companyNumber ?? String(c.id),
      companyType: c.companyType,
      isActive: c.isActive,
      parentCompanyID: c.parentCompanyID ?? null,
      webAddress: c.webAddress ?? null,
      createDate: created,
      userDefinedFields: [],
    }));
    this.services = scenario.services.map((s) => ({
      id: s.id,
      name: s.name,
      description: s.description ?? null,
      invoiceDescription: s.name,
      isActive: s.isActive,
      periodType: s.periodType,
      unitPrice: s.unitPrice,
      unitCost: s.unitCost,
      billingCodeID: null,
      vendorCompanyID: null,
      createDate: created,
      lastModifiedDate: created,
      userDefinedFields: [],
    }));
    this.products = scenario.products.map((p) => ({
      id: p.id,
      name: p.name,
      sku: p.sku ?? null,
      description: null,
      manufacturerName: p.manufacturerName ?? null,
      manufacturerProductName: p.name,
      externalProductID: null,
      periodType: p.periodType,
      unitPrice: p.unitPrice,
      unitCost: p.unitCost,
      isActive: p.isActive,
      userDefinedFields: [],
    }));
    this.contracts = scenario.contracts.map((c) => ({
      id: c.id,
      companyID: c.companyID,
      contractName: c.contractName,
      contractNumber: c.contractNumber ?? `C${c.id}`,
      contractType: c.contractType,
      status: c.status,
      startDate: wireDate(c.startDate),
      endDate: wireDate(c.endDate),
      contractPeriodType: c.contractPeriodType,
      isDefaultContract: c.isDefaultContract,
      description: null,
      userDefinedFields: [],
    }));
    for (const c of scenario.contracts) {
      for (const s of c.services) {
        const contract = this.contracts.find((k) => k.id === c.id);
        const service = this.services.find((k) => k.id === s.serviceID);
        if (!contract || !service) continue;
        const cs = this.addContractService(contract, service, s.unitPrice);
        this.units.push(...this.periodRows(contract, cs, dayOf(contract.startDate), s.units));
      }
      if (c.postedThrough) this.approveAndPost(c.id, c.postedThrough);
    }
  }

  newId(): number {
    this.lastId += 1;
    return this.lastId;
  }

  addContractService(
    contract: ContractRecord,
    service: ServiceRecord,
    unitPrice = service.unitPrice,
  ): ContractServiceRecord {
    const record: ContractServiceRecord = {
      id: this.newId(),
      contractID: contract.id,
      serviceID: service.id,
      unitPrice,
      unitCost: service.unitCost,
      internalCurrencyUnitPrice: unitPrice,
      internalCurrencyAdjustedPrice: unitPrice,
      internalDescription: null,
      invoiceDescription: service.name,
      quoteItemID: null,
    };
    this.contractServices.push(record);
    return record;
  }

  /** One row per billing period of the contract from `from` on (the first cut at `from`). */
  periodRows(
    contract: ContractRecord,
    cs: ContractServiceRecord,
    from: string,
    units: number,
  ): UnitRow[] {
    const months = periodTypes[contract.contractPeriodType]?.[1] ?? 1;
    return billingPeriods(dayOf(contract.startDate), dayOf(contract.endDate), months)
      .filter(([, end]) => end >= from)
      .map(([start, end]) => ({
        id: this.newId(),
        contractID: contract.id,
        contractServiceID: cs.id,
        serviceID: cs.serviceID,
        startDate: wireDate(start < from ? from : start),
        endDate: wireDate(end),
        units,
        price: cs.unitPrice,
        cost: cs.unitCost,
        internalCurrencyPrice: cs.unitPrice,
        approveAndPostDate: null,
        organizationalLevelAssociationID: null,
        vendorCompanyID: null,
      }));
  }

  /** Marks the contract's periods ending on or before `through` approved and posted. */
  approveAndPost(contractId: number, through: string): number {
    const previous = this.postedThrough.get(contractId);
    if (!previous || previous < through) this.postedThrough.set(contractId, through);
    const stamp = new Date(this.base.now()).toISOString();
    let marked = 0;
    for (const row of this.units) {
      if (row.contractID !== contractId || dayOf(row.endDate) > through) continue;
      if (!row.approveAndPostDate) marked += 1;
      row.approveAndPostDate ??= stamp;
    }
    return marked;
  }

  /** The records of an entity by its API name (any casing), or undefined. */
  entity(name: string): Row[] | undefined {
    switch (name.toLowerCase()) {
      case 'companies':
        return this.companies;
      case 'contracts':
        return this.contracts;
      case 'contractservices':
        return this.contractServices;
      case 'contractserviceunits':
        return this.units as unknown as Row[];
      case 'services':
        return this.services;
      case 'products':
        return this.products;
      default:
        return undefined;
    }
  }
}
