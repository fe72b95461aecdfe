import type { ScenarioInput } from '../../emulator/scenario.js';

type CustomerInput = Extract<
  NonNullable<ScenarioInput['partners'][number]['customers']>,
  unknown[]
>[number];

/** One SKU of a customer as the refresh must store and list it, worked out by hand. */
interface ExpectedLicense {
  skuId: string;
  skuPartNumber: string;
  activeUnits: number;
  suspendedUnits: number;
  warningUnits: number;
  consumedUnits: number;
  /** Shown by the companies listing: active and warning units not assigned. */
  availableUnits: number;
  billedQuantity: number;
}

interface LicenseCase {
  customer: CustomerInput;
  /** Every SKU the customer's snapshot set holds, in no particular order. */
  expected: ExpectedLicense[];
}

// Entra SKU ids, from emulator/data/microsoft-skus.csv.
const spb = 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46';
const exchange = '4b9405b0-7788-4568-add1-99614e613b69';
const businessStandard = 'f245ecc8-75af-4f8e-b61f-27d8114de5f3';
const businessBasic = '3b555118-da6a-4418-894f-7df1e2096870';
const powerBi = 'f8a1db68-be16-40ed-86d5-cb42ce701560';
const visio = 'c5928f49-12ba-48f7-ada3-0d743a3601d5';

/** `count` users of `domain` named prefix1, prefix2…, each assigned `licenses`. */
function users(domain: string, prefix: string, count: number, licenses: string[]) {
  return Array.from({ length: count }, (_, i) => ({
    upn: `${prefix}${i + 1}@${domain}`,
    licenses,
  }));
}

/**
 * Customers of the first partner, each beside the counts its refresh must produce. The
 * numbers are written out, not derived: a change to how units or billed seats are counted
 * shows up here as a difference from what Partner Center's data says.
 */
export const licenseCases: LicenseCase[] = [
  {
    // Three terms of one SKU, a pending order, and a legacy offer.
    customer: {
      tenantId: 'dddddddd-0000-4000-8000-000000000001',
      name: 'Mixed Terms Ltd',
      domain: 'mixed-terms.example',
      subscriptions: [
        { skuPartNumber: 'SPB', quantity: 10, termDuration: 'P1M' },
        { skuPartNumber: 'SPB', quantity: 5, termDuration: 'P1Y' },
        { skuPartNumber: 'SPB', quantity: 2, termDuration: 'P3Y' },
        { skuPartNumber: 'SPB', quantity: 20, termDuration: 'P1M', status: 'pending' },
        { skuPartNumber: 'EXCHANGESTANDARD', quantity: 3, commerce: 'legacy' },
      ],
      users: [
        ...users('mixed-terms.example', 'staff', 9, ['SPB']),
        ...users('mixed-terms.example', 'mail', 3, ['SPB', 'EXCHANGESTANDARD']),
      ],
    },
    expected: [
      {
        skuId: spb,
        skuPartNumber: 'SPB',
        activeUnits: 17,
        suspendedUnits: 0,
        warningUnits: 0,
        consumedUnits: 12,
        availableUnits: 5,
        billedQuantity: 17,
      },
      {
        skuId: exchange,
        skuPartNumber: 'EXCHANGESTANDARD',
        activeUnits: 3,
        suspendedUnits: 0,
        warningUnits: 0,
        consumedUnits: 3,
        availableUnits: 0,
        billedQuantity: 3,
      },
    ],
  },
  {
    // Suspended and disabled seats beside active ones, and a SKU whose only order is suspended
    // while a user still holds one of its licenses.
    customer: {
      tenantId: 'dddddddd-0000-4000-8000-000000000002',
      name: 'Suspended Seats Inc',
      domain: 'suspended.example',
      subscriptions: [
        { skuPartNumber: 'O365_BUSINESS_PREMIUM', quantity: 8 },
        { skuPartNumber: 'O365_BUSINESS_PREMIUM', quantity: 4, status: 'suspended' },
        { skuPartNumber: 'O365_BUSINESS_PREMIUM', quantity: 2, status: 'disabled' },
        { skuPartNumber: 'POWER_BI_PRO', quantity: 3, status: 'suspended' },
      ],
      users: [
        ...users('suspended.example', 'user', 5, ['O365_BUSINESS_PREMIUM']),
        { upn: 'analyst@suspended.example', licenses: ['O365_BUSINESS_PREMIUM', 'POWER_BI_PRO'] },
      ],
    },
    expected: [
      {
        skuId: businessStandard,
        skuPartNumber: 'O365_BUSINESS_PREMIUM',
        activeUnits: 8,
        suspendedUnits: 6,
        warningUnits: 0,
        consumedUnits: 6,
        availableUnits: 2,
        billedQuantity: 8,
      },
      {
        skuId: powerBi,
        skuPartNumber: 'POWER_BI_PRO',
        activeUnits: 0,
        suspendedUnits: 3,
        warningUnits: 0,
        consumedUnits: 1,
        availableUnits: -1,
        billedQuantity: 0,
      },
    ],
  },
  {
    // An expired order in its grace period (warning units), and a deleted order of a SKU
    // that also has an active one.
    customer: {
      tenantId: 'dddddddd-0000-4000-8000-000000000003',
      name: 'Grace Period GmbH',
      domain: 'grace.example',
      subscriptions: [
        { skuPartNumber: 'EXCHANGESTANDARD', quantity: 5, status: 'expired' },
        { skuPartNumber: 'O365_BUSINESS_ESSENTIALS', quantity: 3 },
        { skuPartNumber: 'O365_BUSINESS_ESSENTIALS', quantity: 10, status: 'deleted' },
      ],
      users: [
        ...users('grace.example', 'mailbox', 5, ['EXCHANGESTANDARD']),
        ...users('grace.example', 'basic', 2, ['O365_BUSINESS_ESSENTIALS']),
      ],
    },
    expected: [
      {
        skuId: exchange,
        skuPartNumber: 'EXCHANGESTANDARD',
        activeUnits: 0,
        suspendedUnits: 0,
        warningUnits: 5,
        consumedUnits: 5,
        availableUnits: 0,
        billedQuantity: 0,
      },
      {
        skuId: businessBasic,
        skuPartNumber: 'O365_BUSINESS_ESSENTIALS',
        activeUnits: 3,
        suspendedUnits: 0,
        warningUnits: 0,
        consumedUnits: 2,
        availableUnits: 1,
        billedQuantity: 3,
      },
    ],
  },
  {
    // A trial (active, so Partner Center lists its seats like any other), a SKU bought but
    // assigned to no one, and a license assigned from a SKU the customer has no order of.
    customer: {
      tenantId: 'dddddddd-0000-4000-8000-000000000004',
      name: 'Trial and Spare Co',
      domain: 'trial.example',
      subscriptions: [
        { skuPartNumber: 'POWER_BI_PRO', quantity: 25, isTrial: true },
        { skuPartNumber: 'VISIOCLIENT', quantity: 2, termDuration: 'P1Y' },
      ],
      users: [{ upn: 'owner@trial.example', licenses: ['POWER_BI_PRO', 'ENTERPRISEPACK'] }],
    },
    expected: [
      {
        skuId: powerBi,
        skuPartNumber: 'POWER_BI_PRO',
        activeUnits: 25,
        suspendedUnits: 0,
        warningUnits: 0,
        consumedUnits: 1,
        availableUnits: 24,
        billedQuantity: 25,
      },
      {
        skuId: visio,
        skuPartNumber: 'VISIOCLIENT',
        activeUnits: 2,
        suspendedUnits: 0,
        warningUnits: 0,
        consumedUnits: 0,
        availableUnits: 2,
        billedQuantity: 2,
      },
    ],
  },
  {
    // No orders at all: refreshed, with nothing to bill.
    customer: {
      tenantId: 'dddddddd-0000-4000-8000-000000000005',
      name: 'Nothing Bought LLC',
      domain: 'nothing.example',
      users: [{ upn: 'someone@nothing.example', licenses: [] }],
    },
    expected: [],
  },
];
