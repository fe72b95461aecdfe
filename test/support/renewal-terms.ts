/**
 * Two customers for the Renewals tab and a company's seat history: terms whose commitments end
 * a known number of days from the day the test loads, and one that changes between runs.
 */

export const renewalsTenant = 'eeeeeeee-0000-4000-8000-0000000000b1';
export const historyTenant = 'eeeeeeee-0000-4000-8000-0000000000b2';
export const dayMs = 86_400_000;

// Every date of the scenario counts from the moment this file loads: `today` is its UTC day
// (a run across midnight UTC would see the pages count from the next one).
const loadedAt = Date.now();
export const today = Math.floor(loadedAt / dayMs) * dayMs;
const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** "11 Dec 2026": the day `n` days from today, as a person reads it. */
export const dayIn = (n: number) => {
  const d = new Date(today + n * dayMs);
  return `${d.getUTCDate()} ${months[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
};
/**
 * A creation date whose `termMonths` term ends with its last day `n` days from today: the term
 * runs to noon of the day after (Partner Center's end date is the term's last day).
 */
function lastDayIn(n: number, termMonths: number): string {
  const d = new Date(today + (n + 1) * dayMs + 12 * 3600_000);
  d.setUTCMonth(d.getUTCMonth() - termMonths);
  return d.toISOString();
}
const boughtDaysAgo = (n: number) => new Date(loadedAt - n * dayMs).toISOString();
/** The cancellation window of a purchase `n` days ago closes 7 days after it, to the minute. */
export const windowClosesAfterBuying = (n: number) =>
  `${new Date(loadedAt + (7 - n) * dayMs).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * Business Premium: A yearly, 6 seats, last day in 10 days; B three-year, 4, in 75 days; C
 * monthly, 5, bought 2 days ago (window open, its month ends within 30 days). Exchange: D
 * yearly, 3, last day in exactly 30 days; E yearly, 2, in 31 days, auto-renew off. Business
 * Basic: F yearly billed monthly, 5, in 61 days; G yearly, 1, in 200 days; H yearly, 2, bought
 * 3 days ago (window open); I monthly, 1, bought 7½ days ago (window closed 12 hours ago).
 * Twelve users have Business Premium, two of them Exchange, one Business Basic.
 *
 * Microsoft counts assigned seats per product; the page puts them on the terms that end last,
 * so: A 3 of 6 assigned, B 4 of 4, C 5 of 5; D 0 of 3, E 2 of 2; F 0 of 5, H 1 of 2.
 */
export const renewalsCustomer = {
  tenantId: renewalsTenant,
  name: 'Renewals Customer',
  domain: 'renewals.example',
  subscriptions: [
    {
      skuPartNumber: 'SPB',
      quantity: 6,
      termDuration: 'P1Y',
      billingCycle: 'annual',
      creationDate: lastDayIn(10, 12),
    },
    {
      skuPartNumber: 'SPB',
      quantity: 4,
      termDuration: 'P3Y',
      billingCycle: 'triennial',
      creationDate: lastDayIn(75, 36),
    },
    {
      skuPartNumber: 'SPB',
      quantity: 5,
      termDuration: 'P1M',
      billingCycle: 'monthly',
      creationDate: boughtDaysAgo(2),
    },
    {
      skuPartNumber: 'EXCHANGESTANDARD',
      quantity: 3,
      termDuration: 'P1Y',
      billingCycle: 'annual',
      creationDate: lastDayIn(30, 12),
    },
    {
      skuPartNumber: 'EXCHANGESTANDARD',
      quantity: 2,
      termDuration: 'P1Y',
      billingCycle: 'annual',
      autoRenewEnabled: false,
      creationDate: lastDayIn(31, 12),
    },
    {
      skuPartNumber: 'O365_BUSINESS_ESSENTIALS',
      quantity: 5,
      termDuration: 'P1Y',
      billingCycle: 'monthly',
      creationDate: lastDayIn(61, 12),
    },
    {
      skuPartNumber: 'O365_BUSINESS_ESSENTIALS',
      quantity: 1,
      termDuration: 'P1Y',
      billingCycle: 'annual',
      creationDate: lastDayIn(200, 12),
    },
    {
      skuPartNumber: 'O365_BUSINESS_ESSENTIALS',
      quantity: 2,
      termDuration: 'P1Y',
      billingCycle: 'annual',
      creationDate: boughtDaysAgo(3),
    },
    {
      skuPartNumber: 'O365_BUSINESS_ESSENTIALS',
      quantity: 1,
      termDuration: 'P1M',
      billingCycle: 'monthly',
      creationDate: boughtDaysAgo(7.5),
    },
  ],
  users: [
    ...Array.from({ length: 12 }, (_, i) => ({
      upn: `user${i}@renewals.example`,
      licenses: i < 2 ? ['SPB', 'EXCHANGESTANDARD'] : ['SPB'],
    })),
    { upn: 'basic@renewals.example', licenses: ['O365_BUSINESS_ESSENTIALS'] },
  ],
};

/**
 * Monthly terms bought 20 days ago (no window open, never renewing): Business Premium 10
 * seats, 3 assigned; Exchange 4 seats, 2 assigned.
 */
export const historyCustomer = {
  tenantId: historyTenant,
  name: 'History Customer',
  domain: 'history.example',
  subscriptions: [
    {
      skuPartNumber: 'SPB',
      quantity: 10,
      termDuration: 'P1M',
      billingCycle: 'monthly',
      creationDate: boughtDaysAgo(20),
    },
    {
      skuPartNumber: 'EXCHANGESTANDARD',
      quantity: 4,
      termDuration: 'P1M',
      billingCycle: 'monthly',
      creationDate: boughtDaysAgo(20),
    },
  ],
  users: [
    { upn: 'ann@history.example', licenses: ['SPB', 'EXCHANGESTANDARD'] },
    { upn: 'bob@history.example', licenses: ['SPB', 'EXCHANGESTANDARD'] },
    { upn: 'cy@history.example', licenses: ['SPB'] },
  ],
};
