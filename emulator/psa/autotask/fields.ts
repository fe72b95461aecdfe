import {
  companyTypes,
  contractStatuses,
  contractTypes,
  periodTypes,
  picklist,
  type PicklistValue,
} from './picklists.js';

// Field metadata per entity, as GET /V1.0/{Entity}/entityInformation/fields lists it, and
// what each entity allows (GET /V1.0/{Entity}/entityInformation).

interface FieldOptions {
  required?: boolean;
  readOnly?: boolean;
  length?: number;
  reference?: string;
  picklist?: PicklistValue[];
}
type FieldSpec = [name: string, dataType: string, options?: FieldOptions];

const id: FieldSpec = ['id', 'long', { readOnly: true, required: true }];
const ro = { readOnly: true };
const periodType = picklist(periodTypes);

const specs: Record<string, FieldSpec[]> = {
  Companies: [
    id,
    ['companyName', 'string', { required: true, length: 100 }],
    ['companyNumber', 'string', { length: 50 }],
    ['companyType', 'integer', { required: true, picklist: picklist(companyTypes) }],
    ['isActive', 'boolean'],
    ['parentCompanyID', 'integer', { reference: 'Company' }],
    ['webAddress', 'string', { length: 255 }],
    ['createDate', 'datetime', ro],
  ],
  Contracts: [
    id,
    ['companyID', 'integer', { required: true, reference: 'Company' }],
    ['contractName', 'string', { required: true, length: 100 }],
    ['contractNumber', 'string', { length: 50 }],
    ['contractType', 'integer', { required: true, picklist: picklist(contractTypes) }],
    ['status', 'integer', { required: true, picklist: picklist(contractStatuses) }],
    ['startDate', 'datetime', { required: true }],
    ['endDate', 'datetime', { required: true }],
    ['contractPeriodType', 'integer', { picklist: periodType }],
    ['isDefaultContract', 'boolean'],
    ['description', 'string', { length: 2000 }],
  ],
  ContractServices: [
    id,
    ['contractID', 'integer', { required: true, reference: 'Contract' }],
    ['serviceID', 'integer', { required: true, reference: 'Service' }],
    ['unitPrice', 'double'],
    ['unitCost', 'double'],
    ['internalCurrencyUnitPrice', 'double'],
    ['internalCurrencyAdjustedPrice', 'double', ro],
    ['internalDescription', 'string', { length: 100 }],
    ['invoiceDescription', 'string', { length: 1000 }],
    ['quoteItemID', 'long', { reference: 'QuoteItem' }],
  ],
  ContractServiceUnits: [
    id,
    ['contractID', 'integer', { ...ro, reference: 'Contract' }],
    ['contractServiceID', 'integer', { ...ro, reference: 'ContractService' }],
    ['serviceID', 'integer', { ...ro, reference: 'Service' }],
    ['startDate', 'datetime', ro],
    ['endDate', 'datetime', ro],
    ['units', 'integer', ro],
    ['price', 'double', ro],
    ['cost', 'double', ro],
    ['internalCurrencyPrice', 'double', ro],
    ['approveAndPostDate', 'datetime', ro],
    ['organizationalLevelAssociationID', 'integer', ro],
    ['vendorCompanyID', 'integer', { ...ro, reference: 'Company' }],
  ],
  ContractServiceAdjustments: [
    id,
    ['contractID', 'integer', { required: true, reference: 'Contract' }],
    ['contractServiceID', 'integer', { reference: 'ContractService' }],
    ['serviceID', 'integer', { reference: 'Service' }],
    ['effectiveDate', 'datetime', { required: true }],
    ['unitChange', 'integer', { required: true }],
    ['adjustedUnitPrice', 'double'],
    ['adjustedUnitCost', 'double'],
    ['allowRepeatService', 'boolean'],
    ['quoteItemID', 'integer', { reference: 'QuoteItem' }],
  ],
  Services: [
    id,
    ['name', 'string', { required: true, length: 150 }],
    ['description', 'string', { length: 400 }],
    ['invoiceDescription', 'string', { length: 1000 }],
    ['isActive', 'boolean'],
    ['periodType', 'integer', { required: true, picklist: periodType }],
    ['unitPrice', 'double'],
    ['unitCost', 'double'],
    ['billingCodeID', 'integer', { reference: 'BillingCode' }],
    ['vendorCompanyID', 'integer', { reference: 'Company' }],
    ['createDate', 'datetime', ro],
    ['lastModifiedDate', 'datetime', ro],
  ],
  Products: [
    id,
    ['name', 'string', { required: true, length: 100 }],
    ['sku', 'string', { length: 50 }],
    ['description', 'string', { length: 8000 }],
    ['manufacturerName', 'string', { length: 100 }],
    ['manufacturerProductName', 'string', { length: 100 }],
    ['externalProductID', 'string', { length: 50 }],
    ['periodType', 'integer', { picklist: periodType }],
    ['unitPrice', 'double'],
    ['unitCost', 'double'],
    ['isActive', 'boolean'],
  ],
};

/** Entities the emulator serves, by their API name. */
const entityNames = Object.keys(specs);

/** The API's spelling of an entity name given in any casing, or undefined. */
export function canonicalEntity(name: string): string | undefined {
  return entityNames.find((e) => e.toLowerCase() === name.toLowerCase());
}

export function fieldNames(entity: string): string[] {
  return (specs[entity] ?? []).map(([name]) => name);
}

export function fieldInformation(entity: string) {
  return (specs[entity] ?? []).map(([name, dataType, o = {}]) => ({
    name,
    dataType,
    length: o.length ?? 0,
    isRequired: o.required ?? false,
    isReadOnly: o.readOnly ?? false,
    isQueryable: true,
    isReference: o.reference !== undefined,
    referenceEntityType: o.reference ?? '',
    isPickList: o.picklist !== undefined,
    picklistValues: o.picklist ?? null,
    picklistParentValueField: '',
    isSupportedWebhookField: false,
  }));
}

/** What Autotask allows per entity: [create, update, delete, query]. */
const abilities: Record<string, [boolean, boolean, boolean, boolean]> = {
  Companies: [true, true, false, true],
  Contracts: [true, true, false, true],
  ContractServices: [true, true, true, true],
  ContractServiceUnits: [false, false, false, true],
  ContractServiceAdjustments: [true, false, false, false],
  Services: [true, true, false, true],
  Products: [true, true, false, true],
};

export function entityInformation(entity: string) {
  const [canCreate, canUpdate, canDelete, canQuery] = abilities[entity] ?? [
    false,
    false,
    false,
    false,
  ];
  return {
    name: entity.replace(/ies$/, 'y').replace(/s$/, ''),
    canCreate,
    canDelete,
    canQuery,
    canUpdate,
    hasUserDefinedFields: ['Companies', 'Contracts', 'Services', 'Products'].includes(entity),
    supportsWebhookCallouts: entity === 'Companies',
  };
}
