import { z } from 'zod';
import { psaScenarioBase } from '../base.js';

// What one ConnectWise PSA site holds: its login company, API members and their security
// roles, the integrations (clientIds) it accepts, companies, the product catalog, and
// agreements with their additions.

const levels = z.array(z.enum(['inquire', 'add', 'edit', 'delete']));
const allLevels = ['inquire', 'add', 'edit', 'delete'] as const;

/** Security role modules the sync touches, each with the levels the role grants. */
const securityRoleSchema = z
  .object({
    name: z.string().default('Admin'),
    /** Companies > Company Maintenance. Default: every level */
    companyMaintenance: levels.default([...allLevels]),
    /** Finance > Agreements (agreements and their additions). Default: every level */
    agreements: levels.default([...allLevels]),
    /** Procurement > Product Catalog. Default: every level */
    productCatalog: levels.default([...allLevels]),
  })
  .strict();
type SecurityRole = z.infer<typeof securityRoleSchema>;
export type SecurityModule = Exclude<keyof SecurityRole, 'name'>;

const memberSchema = z
  .object({
    identifier: z.string().min(1),
    publicKey: z.string().min(1),
    privateKey: z.string().min(1),
    /** Default: a role granting every level of every module */
    securityRole: securityRoleSchema.prefault({}),
  })
  .strict();

const dateTime = z.string().datetime({ offset: true });

const companySchema = z
  .object({
    id: z.number().int().positive(),
    identifier: z.string().min(1).max(25),
    name: z.string().min(1).max(50),
    website: z.string().optional(),
    /** Default: Active */
    status: z.string().default('Active'),
    /** Default: false */
    deletedFlag: z.boolean().default(false),
  })
  .strict();

const catalogItemSchema = z
  .object({
    id: z.number().int().positive(),
    identifier: z.string().min(1).max(75),
    description: z.string().min(1).max(60),
    /** Default: the description */
    customerDescription: z.string().optional(),
    price: z.number().default(0),
    cost: z.number().default(0),
    manufacturerPartNumber: z.string().optional(),
    /** Default: true */
    recurringFlag: z.boolean().default(true),
    /** Default: false */
    inactiveFlag: z.boolean().default(false),
  })
  .strict();

export const billCustomerValues = ['Billable', 'DoNotBill', 'NoCharge'] as const;

const additionSchema = z
  .object({
    id: z.number().int().positive(),
    productId: z.number().int().positive(),
    quantity: z.number(),
    /** Default: the catalog item's price */
    unitPrice: z.number().optional(),
    /** Default: Billable */
    billCustomer: z.enum(billCustomerValues).default('Billable'),
    effectiveDate: dateTime.optional(),
    cancelledDate: dateTime.optional(),
  })
  .strict();

const agreementSchema = z
  .object({
    id: z.number().int().positive(),
    name: z.string().min(1).max(50),
    companyId: z.number().int().positive(),
    /** Default: Microsoft 365 */
    type: z.string().default('Microsoft 365'),
    /** A child agreement: its additions also show in the parent's additions list. */
    parentAgreementId: z.number().int().positive().optional(),
    startDate: dateTime,
    endDate: dateTime.optional(),
    /** Default: false */
    cancelledFlag: z.boolean().default(false),
    additions: z.array(additionSchema).default([]),
  })
  .strict();

export const connectwiseScenarioSchema = z
  .object({
    ...psaScenarioBase,
    /** The company id members log in with (case-insensitive), as in the login page. */
    companyId: z.string().min(1),
    /** Default: the company id */
    companyName: z.string().optional(),
    /** Path segment of the hosted release; ends with "/". Default: v4_6_release/ */
    codebase: z
      .string()
      .regex(/^[A-Za-z0-9_.-]+\/$/, 'a path segment ending with "/"')
      .default('v4_6_release/'),
    /** The current API model version (api-current-version). Default: 2025.1 */
    apiVersion: z
      .string()
      .regex(/^\d{4}\.\d{1,2}$/)
      .default('2025.1'),
    /** Default: true */
    isCloud: z.boolean().default(true),
    /** Integration ids (clientId header) the site accepts. */
    clientIds: z.array(z.string().min(1)).min(1),
    members: z.array(memberSchema).min(1),
    /** pageSize above 1000: "clamp" serves 1000, "reject" answers 400. Default: clamp */
    oversizedPageSize: z.enum(['clamp', 'reject']).default('clamp'),
    /**
     * ConnectWise publishes no request limit; its cloud edge answers 429 with a wait time.
     * Per API member, fixed windows. Default: none (no limit)
     */
    rateLimit: z
      .object({
        requests: z.number().int().positive(),
        windowSeconds: z.number().int().positive(),
      })
      .strict()
      .optional(),
    companies: z.array(companySchema).default([]),
    catalog: z.array(catalogItemSchema).default([]),
    agreements: z.array(agreementSchema).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    const ids = (list: { id: number }[]) => new Set(list.map((e) => e.id));
    const companies = ids(s.companies);
    const products = ids(s.catalog);
    const agreements = ids(s.agreements);
    const additionIds = new Set<number>();
    s.agreements.forEach((a, i) => {
      if (!companies.has(a.companyId))
        ctx.addIssue({
          code: 'custom',
          path: ['agreements', i, 'companyId'],
          message: 'no such company',
        });
      if (a.parentAgreementId !== undefined && !agreements.has(a.parentAgreementId))
        ctx.addIssue({
          code: 'custom',
          path: ['agreements', i, 'parentAgreementId'],
          message: 'no such agreement',
        });
      a.additions.forEach((line, j) => {
        if (!products.has(line.productId))
          ctx.addIssue({
            code: 'custom',
            path: ['agreements', i, 'additions', j, 'productId'],
            message: 'no such catalog item',
          });
        if (additionIds.has(line.id))
          ctx.addIssue({
            code: 'custom',
            path: ['agreements', i, 'additions', j, 'id'],
            message: 'addition ids must be unique across agreements',
          });
        additionIds.add(line.id);
      });
    });
  });
export type ConnectwiseScenario = z.infer<typeof connectwiseScenarioSchema>;
export type ScenarioAgreement = ConnectwiseScenario['agreements'][number];
export type ScenarioCompany = ConnectwiseScenario['companies'][number];
export type ScenarioCatalogItem = ConnectwiseScenario['catalog'][number];
