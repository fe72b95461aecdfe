import type { AxiosInstance } from 'axios';
import type {
  AppliedChange,
  PsaBillingContainer,
  PsaBillingLine,
  PsaClient,
  PsaCompany,
  PsaProduct,
  PsaRequestHooks,
  QuantityChange,
} from '../client.js';
import { HaloApi } from './api.js';
import { haloConnectionSchema, type HaloConnectionInput } from './connection.js';
import { checkHaloConnection } from './connection-check.js';
import { idOf } from './ids.js';
import { dayOf, licenceLinks, toBillingLine } from './lines.js';
import { HaloLineWriter } from './line-writer.js';
import type {
  HaloAzureTenantJson,
  HaloClientJson,
  HaloInvoiceJson,
  HaloItemJson,
  HaloLicenceJson,
  HaloLineJson,
} from './wire.js';

// The billing sync's view of HaloPSA: companies are Halo clients (with their Azure tenant
// mappings), products are catalogue items, billing containers are a client's recurring
// invoices and lines are their lines.

export interface HaloClientOptions {
  http: AxiosInstance;
  hooks?: PsaRequestHooks;
  /** The clock token renewal and "today" are read from. Default: Date.now */
  now?: () => number;
}

/** Host names of a web address or bare domain, lower case, without www. */
function domainOf(value: string | null | undefined): string | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  try {
    const host = new URL(/^[a-z]+:\/\//i.test(text) ? text : `https://${text}`).hostname;
    return host.toLowerCase().replace(/^www\./, '') || undefined;
  } catch {
    return undefined;
  }
}

export function createHaloClient(
  connection: HaloConnectionInput,
  options: HaloClientOptions,
): PsaClient {
  const settings = haloConnectionSchema.parse(connection);
  const now = options.now ?? Date.now;
  const api = new HaloApi(settings, { http: options.http, hooks: options.hooks, now });
  const today = () => dayOf(now());

  /** Counts of the licences some lines bill, read once each. */
  async function licenceCounts(lines: HaloLineJson[], clientId?: number) {
    const counts = new Map<number, number>();
    const wanted = new Set(lines.flatMap((l) => licenceLinks(l).map((k) => k.licence_id!)));
    if (wanted.size === 0) return counts;
    if (clientId !== undefined)
      for (const l of await api.list<HaloLicenceJson>('/SoftwareLicence', 'licences', {
        client_id: clientId,
        includeinactive: true,
      }))
        counts.set(l.id, l.count ?? 0);
    for (const id of wanted)
      if (!counts.has(id))
        counts.set(id, (await api.get<HaloLicenceJson>(`/SoftwareLicence/${id}`)).count ?? 0);
    return counts;
  }

  const writer = new HaloLineWriter(api, today, licenceCounts);

  return {
    kind: 'halo',
    prorationByDate: false,

    testConnection: () => checkHaloConnection(api),

    async listCompanies(): Promise<PsaCompany[]> {
      const clients = await api.list<HaloClientJson>('/Client', 'clients', {
        includeinactive: true,
      });
      const tenants = await api.get<HaloAzureTenantJson[]>('/AreaAzureTenant');
      const tenantsOf = new Map<number, Set<string>>();
      for (const t of Array.isArray(tenants) ? tenants : []) {
        if (typeof t.client_id !== 'number' || !t.azure_tenant_id) continue;
        const set = tenantsOf.get(t.client_id) ?? new Set<string>();
        set.add(t.azure_tenant_id.toLowerCase());
        tenantsOf.set(t.client_id, set);
      }
      return clients.map((c) => ({
        id: String(c.id),
        name: c.name ?? '',
        domains: [
          ...new Set([domainOf(c.website), domainOf(c.domain)].filter((d): d is string => !!d)),
        ],
        active: !c.inactive,
        tenantIds: [...(tenantsOf.get(c.id) ?? [])],
      }));
    },

    async listProducts(): Promise<PsaProduct[]> {
      const items = await api.list<HaloItemJson>('/Item', 'items');
      return items.map((i) => {
        // The code the sync matches on: the item's internal reference, else the supplier's.
        const code = i.internalreference || i.supplier_part_code || undefined;
        return { id: String(i.id), name: i.name ?? '', ...(code ? { code } : {}) };
      });
    },

    async listContainers(companyId: string): Promise<PsaBillingContainer[]> {
      const invoices = await api.list<HaloInvoiceJson>('/RecurringInvoice', 'invoices', {
        client_id: idOf(companyId, 'client'),
      });
      return invoices.map((r) => ({
        id: String(r.id),
        companyId,
        name: r.reference || `Recurring invoice ${r.id}`,
      }));
    },

    async listLines(companyId: string): Promise<PsaBillingLine[]> {
      const clientId = idOf(companyId, 'client');
      const invoices = await api.list<HaloInvoiceJson>('/RecurringInvoice', 'invoices', {
        client_id: clientId,
        includelines: true,
      });
      const lines = invoices.flatMap((r) => r.lines ?? []);
      const counts = await licenceCounts(lines, clientId);
      const day = today();
      return invoices.flatMap((r) =>
        (r.lines ?? []).flatMap((line) => {
          const billing = toBillingLine(line, companyId, r.id, day, (id) => counts.get(id) ?? 0);
          return billing ? [billing] : [];
        }),
      );
    },

    setQuantity: (change: QuantityChange): Promise<AppliedChange> => writer.setQuantity(change),

    cancelLine: (line, effectiveDate): Promise<AppliedChange> =>
      writer.cancelLine(line, effectiveDate),
  };
}
