import { applyUnitChange, dayAt, dayOf, wireDate } from './periods.js';
import { recurringServiceContractType } from './picklists.js';
import type { AutotaskState } from './state.js';

// POST /V1.0/ContractServiceAdjustments (or /V1.0/Contracts/{id}/ServiceAdjustments): a unit
// DELTA from an effective date. It splits the period row holding that date, creates the
// contract service when the contract has none for the service, and never touches a period
// that is approved and posted. Nothing changes when it is refused.

/** Autotask's words when a change would reach into an approved-and-posted period. */
const postedPeriodMessage =
  'Unable to make changes as it would result in the deletion/modification of an already approved and posted contract period.';

const referenceMessage = (field: string, type: string) =>
  `Reference value on field: ${field} of type: ${type} does not exist or is invalid.`;

type Outcome = { itemId: number } | { error: string };

export function createAdjustment(state: AutotaskState, body: unknown, parentId?: number): Outcome {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    return { error: 'The request body must be a ContractServiceAdjustment object.' };
  const input = Object.fromEntries(
    Object.entries(body as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]),
  );
  const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) ? v : undefined);
  const contractId = parentId ?? int(input.contractid);
  const unitChange = int(input.unitchange);
  const effective = typeof input.effectivedate === 'string' ? Date.parse(input.effectivedate) : NaN;
  if (contractId === undefined) return { error: 'Missing required field: contractID.' };
  if (unitChange === undefined) return { error: 'Missing required field: unitChange.' };
  if (Number.isNaN(effective)) return { error: 'Missing required field: effectiveDate.' };
  const contractServiceId = int(input.contractserviceid);
  const serviceId = int(input.serviceid);
  if (contractServiceId === undefined && serviceId === undefined)
    return { error: 'Either contractServiceID or serviceID is required.' };

  const contract = state.contracts.find((c) => c.id === contractId);
  if (!contract) return { error: referenceMessage('contractID', 'Contract') };
  if (contract.contractType !== recurringServiceContractType)
    return { error: 'Services can only be adjusted on a Recurring Service contract.' };
  let cs = state.contractServices.find((c) =>
    contractServiceId !== undefined
      ? c.id === contractServiceId
      : c.contractID === contractId && c.serviceID === serviceId,
  );
  if (contractServiceId !== undefined && (!cs || cs.contractID !== contractId))
    return { error: referenceMessage('contractServiceID', 'ContractService') };
  const service = state.services.find((s) => s.id === (cs?.serviceID ?? serviceId));
  if (!service) return { error: referenceMessage('serviceID', 'Service') };

  const day = dayAt(effective);
  if (day < dayOf(contract.startDate) || day > dayOf(contract.endDate))
    return { error: 'The effective date must be within the contract start and end dates.' };
  const posted = state.postedThrough.get(contract.id);
  if (posted && day <= posted) return { error: postedPeriodMessage };

  const newId = () => state.newId();
  if (!cs) {
    if (unitChange < 0)
      return { error: 'The adjustment would reduce the units of a contract service below zero.' };
    cs = state.addContractService(contract, service);
    state.units.push(...state.periodRows(contract, cs, day, unitChange));
  } else {
    const id = cs.id;
    const own = state.units.filter((r) => r.contractServiceID === id);
    const applied = applyUnitChange(own, day, unitChange, newId);
    if ('error' in applied) return applied;
    state.units = [...state.units.filter((r) => r.contractServiceID !== id), ...applied.rows];
  }
  const itemId = newId();
  state.adjustments.push({
    id: itemId,
    contractID: contract.id,
    contractServiceID: cs.id,
    serviceID: cs.serviceID,
    effectiveDate: wireDate(day),
    unitChange,
    createdAt: new Date(state.base.now()).toISOString(),
  });
  return { itemId };
}
