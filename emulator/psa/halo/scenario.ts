import { z } from 'zod';
import { psaScenarioBase } from '../base.js';

// What a Halo instance holds for the emulator: the API applications that may sign in, the
// agents they act as, and the billing data (clients, Azure tenants, items, licences,
// contracts, recurring invoices with their lines).

/** Permission areas, as Halo names its API scopes ("read:customers", "edit:invoices"). */
export const haloAreas = ['customers', 'contracts', 'invoices', 'items', 'software'] as const;
export type HaloArea = (typeof haloAreas)[number];
const permissionNames = ['all', ...haloAreas.flatMap((a) => [`read:${a}`, `edit:${a}`])] as [
  string,
  ...string[],
];
const permissionSchema = z.enum(permissionNames);

const date = z.string().datetime({ offset: true }).or(z.string().date());

const agentSchema = z
  .object({
    id: z.number().int().positive(),
    name: z.string().min(1),
    /** What the agent may do in Halo. Default: ["all"] */
    permissions: z.array(permissionSchema).default(['all']),
  })
  .strict();

const applicationSchema = z
  .object({
    clientId: z.string().min(1),
    clientSecret: z.string().min(1),
    /** The agent the application acts as; its permissions bound the application's. */
    agentId: z.number().int().positive(),
    /** What the application may do. Default: ["all"] */
    permissions: z.array(permissionSchema).default(['all']),
  })
  .strict();

const azureTenantSchema = z
  .object({
    tenantId: z.string().uuid(),
    name: z.string().optional(),
    domain: z.string().optional(),
  })
  .strict();

const clientSchema = z
  .object({
    id: z.number().int().positive(),
    name: z.string().min(1),
    website: z.string().optional(),
    domain: z.string().optional(),
    /** Default: false */
    inactive: z.boolean().default(false),
    /** Microsoft tenants mapped to the client (AreaAzureTenant). Default: none */
    azureTenants: z.array(azureTenantSchema).default([]),
  })
  .strict();

const itemSchema = z
  .object({
    id: z.number().int().positive(),
    name: z.string().min(1),
    description: z.string().optional(),
    internalReference: z.string().optional(),
    supplierPartCode: z.string().optional(),
    /** Default: true */
    recurring: z.boolean().default(true),
    recurringPrice: z.number().default(0),
    recurringCost: z.number().default(0),
    /** Default: false */
    inactive: z.boolean().default(false),
  })
  .strict();

const licenceSchema = z
  .object({
    id: z.number().int().positive(),
    clientId: z.number().int().positive(),
    name: z.string().min(1),
    count: z.number().int().min(0),
    /** Microsoft tenant the licence was imported from. */
    tenantId: z.string().uuid().optional(),
    productSku: z.string().optional(),
  })
  .strict();

const contractSchema = z
  .object({
    id: z.number().int().positive(),
    clientId: z.number().int().positive(),
    ref: z.string().min(1),
    startDate: date.optional(),
    endDate: date.optional(),
  })
  .strict();

const lineSchema = z
  .object({
    id: z.number().int().positive(),
    itemId: z.number().int().positive(),
    /** The line's own quantity; a licence-linked line bills its licences' count instead. */
    quantity: z.number().min(0),
    /** Default: the item's recurring price */
    unitPrice: z.number().optional(),
    startDate: date.optional(),
    endDate: date.optional(),
    /** Default: false */
    inactive: z.boolean().default(false),
    /** SoftwareLicence whose count the line bills (quantity_licences). */
    licenceId: z.number().int().positive().optional(),
    /** Licences not billed on a licence-linked line. Default: 0 */
    freeQuantity: z.number().int().min(0).default(0),
  })
  .strict();

const recurringInvoiceSchema = z
  .object({
    id: z.number().int().positive(),
    clientId: z.number().int().positive(),
    contractId: z.number().int().positive().optional(),
    /** Shown as the invoice's reference. */
    name: z.string().min(1),
    lines: z.array(lineSchema).default([]),
  })
  .strict();

const rateLimitSchema = z
  .object({
    /** Requests allowed per tenant in the rolling window. Default: 300 */
    requests: z.number().int().positive().default(300),
    /** Length of the rolling window. Default: 300 (5 minutes) */
    windowSeconds: z.number().positive().default(300),
    /** Retry-After sent with a 429; Halo documents none. Default: none */
    retryAfterSeconds: z.number().int().min(0).optional(),
  })
  .strict();

export const haloScenarioSchema = z
  .object({
    ...psaScenarioBase,
    /** Hosted Halo's tenant name: token requests must carry ?tenant= with it. Default: none */
    tenant: z.string().min(1).optional(),
    /** expires_in of the bearer tokens. Default: 3600 */
    tokenLifetimeSeconds: z.number().int().positive().default(3600),
    rateLimit: rateLimitSchema.default({ requests: 300, windowSeconds: 300 }),
    agents: z.array(agentSchema).min(1),
    applications: z.array(applicationSchema).min(1),
    clients: z.array(clientSchema).default([]),
    items: z.array(itemSchema).default([]),
    licences: z.array(licenceSchema).default([]),
    contracts: z.array(contractSchema).default([]),
    recurringInvoices: z.array(recurringInvoiceSchema).default([]),
  })
  .strict()
  .superRefine((s, ctx) => {
    const ids = (list: { id: number }[]) => new Set(list.map((e) => e.id));
    const agents = ids(s.agents);
    const clients = ids(s.clients);
    const items = ids(s.items);
    const licences = ids(s.licences);
    const contracts = ids(s.contracts);
    const miss = (path: (string | number)[], message: string) =>
      ctx.addIssue({ code: z.ZodIssueCode.custom, path, message });
    s.applications.forEach((a, i) => {
      if (!agents.has(a.agentId)) miss(['applications', i, 'agentId'], 'no such agent');
    });
    s.licences.forEach((l, i) => {
      if (!clients.has(l.clientId)) miss(['licences', i, 'clientId'], 'no such client');
    });
    s.contracts.forEach((c, i) => {
      if (!clients.has(c.clientId)) miss(['contracts', i, 'clientId'], 'no such client');
    });
    const lineIds = new Set<number>();
    s.recurringInvoices.forEach((r, i) => {
      if (!clients.has(r.clientId)) miss(['recurringInvoices', i, 'clientId'], 'no such client');
      if (r.contractId !== undefined && !contracts.has(r.contractId))
        miss(['recurringInvoices', i, 'contractId'], 'no such contract');
      r.lines.forEach((l, j) => {
        const at = ['recurringInvoices', i, 'lines', j];
        if (lineIds.has(l.id)) miss([...at, 'id'], 'line id used twice');
        lineIds.add(l.id);
        if (!items.has(l.itemId)) miss([...at, 'itemId'], 'no such item');
        if (l.licenceId !== undefined && !licences.has(l.licenceId))
          miss([...at, 'licenceId'], 'no such licence');
      });
    });
  });

export type HaloScenario = z.infer<typeof haloScenarioSchema>;
