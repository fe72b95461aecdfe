import { z } from 'zod';
import { psaScenarioBase } from '../base.js';
import { periodTypes } from './picklists.js';

// What an Autotask database holds for the emulator: its API users and their zone, the
// request limits, and the companies, catalogue and recurring-service contracts.

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected a date YYYY-MM-DD');
const id = z.number().int().positive();
const periodType = z
  .number()
  .int()
  .refine((v) => v in periodTypes, { message: 'unknown period type (1, 2, 3 or 4)' });

const zoneSchema = z
  .object({
    /** Path segment the zone is served under: https://host:port/<path>/atservicesrest/ */
    path: z.string().regex(/^[a-z0-9-]+$/, 'lower-case letters, digits and dashes'),
    zoneName: z.string(),
    ci: z.number().int(),
  })
  .strict();

const apiUserSchema = z
  .object({
    userName: z.string().min(1),
    secret: z.string().min(1),
    /** The zone path the user's database lives in. */
    zone: z.string(),
    /** Entities this user's security level may not touch (answered with the permission error). */
    deniedEntities: z.array(z.string()).default([]),
  })
  .strict();

const limitsSchema = z
  .object({
    /** Requests per rolling hour for the whole database. Default: 10000 */
    requestsPerHour: z.number().int().positive().default(10_000),
    /** Usage (percent of the hourly limit) past which each call is slowed. Default: 50 */
    slowAbovePercent: z.number().min(0).max(100).default(50),
    /** Delay added to each call past that usage. Default: 500 */
    slowDelayMs: z.number().int().min(0).default(500),
    /** Concurrent requests per (integration code × entity). Default: 3 */
    threadLimit: z.number().int().positive().default(3),
    /** Time each call holds its thread slot, to make concurrency observable. Default: 0 */
    holdMs: z.number().int().min(0).default(0),
  })
  .strict();

const companySchema = z
  .object({
    id,
    companyName: z.string(),
    companyNumber: z.string().optional(),
    /** Picklist companyType; 1 = Customer. Default: 1 */
    companyType: z.number().int().default(1),
    isActive: z.boolean().default(true),
    webAddress: z.string().optional(),
    parentCompanyID: id.optional(),
  })
  .strict();

const serviceSchema = z
  .object({
    id,
    name: z.string(),
    description: z.string().optional(),
    unitPrice: z.number(),
    unitCost: z.number().default(0),
    /** Default: 1 (Monthly) */
    periodType: periodType.default(1),
    isActive: z.boolean().default(true),
  })
  .strict();

const productSchema = z
  .object({
    id,
    name: z.string(),
    sku: z.string().optional(),
    manufacturerName: z.string().optional(),
    unitPrice: z.number(),
    unitCost: z.number().default(0),
    /** Default: 1 (Monthly) */
    periodType: periodType.default(1),
    isActive: z.boolean().default(true),
  })
  .strict();

const contractServiceSchema = z
  .object({
    serviceID: id,
    /** Units billed in every period from the contract's start. */
    units: z.number().int().min(0),
    /** Default: the service's unit price */
    unitPrice: z.number().optional(),
  })
  .strict();

const contractSchema = z
  .object({
    id,
    companyID: id,
    contractName: z.string(),
    contractNumber: z.string().optional(),
    /** Picklist contractType; 7 = Recurring Service. Default: 7 */
    contractType: z.number().int().default(7),
    /** Picklist status; 1 = Active. Default: 1 */
    status: z.number().int().default(1),
    startDate: day,
    endDate: day,
    /** Length of a billing period. Default: 1 (Monthly) */
    contractPeriodType: periodType.default(1),
    isDefaultContract: z.boolean().default(false),
    /** Periods ending on or before this day are approved and posted. Default: none */
    postedThrough: day.optional(),
    services: z.array(contractServiceSchema).default([]),
  })
  .strict()
  .refine((c) => c.startDate <= c.endDate, { message: 'startDate after endDate' });

export const autotaskScenarioSchema = z
  .object({
    ...psaScenarioBase,
    zones: z.array(zoneSchema).min(1),
    /** API tracking identifiers (ApiIntegrationCode) the database accepts. */
    integrationCodes: z.array(z.string().min(1)).min(1),
    apiUsers: z.array(apiUserSchema).min(1),
    limits: limitsSchema.default(limitsSchema.parse({})),
    companies: z.array(companySchema).default([]),
    services: z.array(serviceSchema).default([]),
    products: z.array(productSchema).default([]),
    contracts: z.array(contractSchema).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    const zones = new Set(s.zones.map((z) => z.path));
    const companies = new Set(s.companies.map((c) => c.id));
    const services = new Set(s.services.map((c) => c.id));
    const issue = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: 'custom', path, message });
    s.apiUsers.forEach((u, i) => {
      if (!zones.has(u.zone)) issue(['apiUsers', i, 'zone'], `no zone with path ${u.zone}`);
    });
    s.contracts.forEach((c, i) => {
      if (!companies.has(c.companyID)) issue(['contracts', i, 'companyID'], 'unknown company');
      c.services.forEach((cs, j) => {
        if (!services.has(cs.serviceID))
          issue(['contracts', i, 'services', j, 'serviceID'], 'unknown service');
      });
    });
  });

export type AutotaskScenario = z.infer<typeof autotaskScenarioSchema>;
export type AutotaskLimits = AutotaskScenario['limits'];
