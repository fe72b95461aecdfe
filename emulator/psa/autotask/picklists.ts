// Picklist values of the emulated database. In Autotask these ids are tenant data, read from
// GET /V1.0/{Entity}/entityInformation/fields; clients must look labels up, never hard-code ids.

/** Contract and service period types: value → [label, months per period]. */
export const periodTypes: Record<number, readonly [string, number]> = {
  1: ['Monthly', 1],
  2: ['Quarterly', 3],
  3: ['Semi-Annual', 6],
  4: ['Yearly', 12],
};

export const contractTypes: Record<number, string> = {
  1: 'Time and Materials',
  3: 'Fixed Price',
  4: 'Block Hours',
  6: 'Retainer',
  7: 'Recurring Service',
  8: 'Per Ticket',
};

/** The contract type whose contracts carry services billed per period. */
export const recurringServiceContractType = 7;

export const contractStatuses: Record<number, string> = { 0: 'Inactive', 1: 'Active' };

export const companyTypes: Record<number, string> = {
  1: 'Customer',
  2: 'Lead',
  3: 'Prospect',
  4: 'Dead',
  6: 'Cancelation',
  7: 'Vendor',
  8: 'Partner',
};

export interface PicklistValue {
  value: string;
  label: string;
  isDefaultValue: boolean;
  sortOrder: number;
  parentValue: string;
  isActive: boolean;
  isSystem: boolean;
}

/** A picklist as entityInformation/fields lists it (values are strings on the wire). */
export function picklist(entries: Record<number, string | readonly [string, number]>) {
  return Object.entries(entries).map(([value, entry], index): PicklistValue => ({
    value,
    label: typeof entry === 'string' ? entry : entry[0],
    isDefaultValue: index === 0,
    sortOrder: index + 1,
    parentValue: '',
    isActive: true,
    isSystem: true,
  }));
}
