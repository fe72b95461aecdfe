import { z } from 'zod';

// What the partner enters to connect a ConnectWise PSA site: the site address, the company id
// of its login page, an API member's keys, and the integration's clientId.

export const connectwiseConnectionSchema = z
  .object({
    /** The site, e.g. https://na.myconnectwise.net or https://cw.example.com (HTTPS only). */
    siteUrl: z
      .string()
      .url()
      .refine((u) => u.startsWith('https://'), 'the site address must start with https://'),
    /** The company id typed on the ConnectWise login page. */
    companyId: z.string().trim().min(1),
    /** The API member's public key. */
    publicKey: z.string().min(1),
    /** The API member's private key (a secret). */
    privateKey: z.string().min(1),
    /** The integration's clientId issued by ConnectWise's developer portal. */
    clientId: z.string().trim().min(1),
    /** Response model version pinned in the Accept header. Default: 2025.1 */
    apiVersion: z
      .string()
      .regex(/^\d{4}\.\d{1,2}$/, 'a model version such as 2025.1')
      .default('2025.1'),
    /** Records per list request; ConnectWise serves at most 1000. Default: 1000 */
    pageSize: z.number().int().min(1).max(1000).default(1000),
    /** How additions the sync creates are billed. Default: Billable */
    newAdditionBillCustomer: z.enum(['Billable', 'DoNotBill', 'NoCharge']).default('Billable'),
  })
  .strict();
export type ConnectwiseConnection = z.infer<typeof connectwiseConnectionSchema>;

/**
 * The API origin for a site: ConnectWise cloud serves its UI on {region}.myconnectwise.net
 * and the API on api-{region}.myconnectwise.net; an on-premises site serves both.
 */
export function apiOrigin(siteUrl: string): string {
  const url = new URL(siteUrl);
  const cloud = /^(na|eu|au|za|staging)\.myconnectwise\.net$/i.exec(url.hostname);
  if (cloud) url.hostname = `api-${cloud[1]!.toLowerCase()}.myconnectwise.net`;
  return url.origin;
}
