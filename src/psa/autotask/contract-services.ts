import type { AppliedChange, PsaBillingLine, QuantityChange } from '../client.js';
import { PsaError } from '../errors.js';
import type { AutotaskApi, Condition, Row } from './api.js';

// Billed lines in Autotask: a contract service carries no count; its units live in
// ContractServiceUnits, one row per billing period (split where an adjustment took effect).
// The count billed on a day is the units of the row spanning that day, never a sum of rows.
// A change is a ContractServiceAdjustment: a unit DELTA from an effective date, create-only,
// with no idempotency key, so the current units are read right before each one.

/** Autotask takes at most 500 values in one `in` condition. */
const inChunk = 200;

const dateTime = (day: string) => `${day}T00:00:00Z`;

export class ContractServices {
  constructor(private readonly api: AutotaskApi) {}

  /** Rows of `entity` whose `field` is one of `values`, in as many queries as needed. */
  async whereIn(entity: string, field: string, values: number[], more: Condition[] = []) {
    const rows: Row[] = [];
    for (let i = 0; i < values.length; i += inChunk)
      rows.push(
        ...(await this.api.query(entity, [
          { op: 'in', field, value: values.slice(i, i + inChunk) },
          ...more,
        ])),
      );
    return rows;
  }

  /** Every service on the contracts with the units billed on `day`. */
  async lines(companyId: string, contractIds: number[], day: string): Promise<PsaBillingLine[]> {
    if (contractIds.length === 0) return [];
    const services = await this.whereIn('ContractServices', 'contractID', contractIds);
    const spanning: Condition[] = [
      { op: 'lte', field: 'startDate', value: dateTime(day) },
      { op: 'gte', field: 'endDate', value: dateTime(day) },
    ];
    const units = await this.whereIn('ContractServiceUnits', 'contractID', contractIds, spanning);
    const serviceIds = [...new Set(services.map((s) => Number(s.serviceID)))];
    const catalogue = await this.whereIn('Services', 'id', serviceIds);
    const names = new Map(catalogue.map((s) => [Number(s.id), String(s.name)]));
    return services.map((s) => {
      const quantity = Number(units.find((u) => u.contractServiceID === s.id)?.units ?? 0);
      return {
        id: String(s.id),
        companyId,
        containerId: String(s.contractID),
        productId: String(s.serviceID),
        productName: names.get(Number(s.serviceID)) ?? `Service ${String(s.serviceID)}`,
        quantity,
        cancelled: quantity === 0,
      };
    });
  }

  /** Reads the units billed on the effective date, then posts the one delta that reaches the target. */
  async setQuantity(change: QuantityChange): Promise<AppliedChange> {
    const contractID = Number(change.containerId);
    const serviceID = Number(change.productId);
    const service = await this.find(contractID, serviceID, change.lineId);
    // The units on the effective date, not today's: a delta applies from that date on, and a
    // repeat of the same change must find its own effect there and write nothing.
    const before = service ? await this.unitsOn(Number(service.id), change.effectiveDate) : 0;
    if (before === change.target)
      return {
        lineId: service ? String(service.id) : '',
        before,
        after: before,
        responseId: service ? String(service.id) : '',
        alreadyApplied: true,
      };
    const responseId = await this.api.create(
      'ContractServiceAdjustments',
      'ContractServiceAdjustments',
      {
        contractID,
        ...(service ? { contractServiceID: Number(service.id) } : { serviceID }),
        unitChange: change.target - before,
        effectiveDate: dateTime(change.effectiveDate),
      },
    );
    // Without a contract service, Autotask made one for the adjustment.
    const line = service ?? (await this.find(contractID, serviceID));
    return {
      lineId: line ? String(line.id) : '',
      before,
      after: change.target,
      responseId,
      alreadyApplied: false,
    };
  }

  private async find(
    contractID: number,
    serviceID: number,
    lineId?: string,
  ): Promise<Row | undefined> {
    if (lineId !== undefined) {
      const [row] = await this.api.query('ContractServices', [
        { op: 'eq', field: 'id', value: Number(lineId) },
      ]);
      if (!row) throw new PsaError('not_found', `Autotask has no contract service ${lineId}.`);
      if (Number(row.contractID) !== contractID || Number(row.serviceID) !== serviceID)
        throw new PsaError(
          'validation',
          `Contract service ${lineId} is not service ${serviceID} on contract ${contractID}.`,
        );
      return row;
    }
    const [row] = await this.api.query('ContractServices', [
      { op: 'eq', field: 'contractID', value: contractID },
      { op: 'eq', field: 'serviceID', value: serviceID },
    ]);
    return row;
  }

  private async unitsOn(contractServiceID: number, day: string): Promise<number> {
    const [row] = await this.api.query('ContractServiceUnits', [
      { op: 'eq', field: 'contractServiceID', value: contractServiceID },
      { op: 'lte', field: 'startDate', value: dateTime(day) },
      { op: 'gte', field: 'endDate', value: dateTime(day) },
    ]);
    return Number(row?.units ?? 0);
  }
}
