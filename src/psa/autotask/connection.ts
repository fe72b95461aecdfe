import { z } from 'zod';

// What the partner enters to connect the sync to its Autotask database. The secret is held
// in memory only while a client exists; callers store it encrypted.

const defaultZoneLookupUrl = 'https://webservices.autotask.net/atservicesrest/';

export const autotaskConnectionSchema = z
  .object({
    /** The API-only user (UserName header); the zone lookup is made for this user. */
    userName: z.string().trim().min(1, 'the API user name is required'),
    /** The API user's secret (Secret header). */
    secret: z.string().min(1, 'the API secret is required'),
    /** The API tracking identifier of the integration (ApiIntegrationCode header). */
    integrationCode: z.string().trim().min(1, 'the API integration code is required'),
    /** Where the zone of the user is looked up. Default: https://webservices.autotask.net/atservicesrest/ */
    zoneLookupUrl: z
      .url({ protocol: /^https?$/ })
      .transform((u) => (u.endsWith('/') ? u : `${u}/`))
      .default(defaultZoneLookupUrl),
    /** A resource the writes are made on behalf of (ImpersonationResourceId header). Default: none */
    impersonationResourceId: z.number().int().positive().optional(),
    /** Records per query page (MaxRecords, 1 to 500). Default: 500 */
    pageSize: z.number().int().min(1).max(500).default(500),
  })
  .strict();

export type AutotaskConnection = z.output<typeof autotaskConnectionSchema>;
export type AutotaskConnectionInput = z.input<typeof autotaskConnectionSchema>;
