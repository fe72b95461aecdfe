import type { PsaEmulatorBase } from '../base.js';
import {
  quantityTypeFixed,
  quantityTypeLicences,
  type HaloAzureTenantRecord,
  type HaloClientRecord,
  type HaloContractRecord,
  type HaloInvoiceRecord,
  type HaloItemRecord,
  type HaloLicenceRecord,
  type HaloLineRecord,
} from './records.js';
import type { HaloScenario } from './scenario.js';

/** A bearer token the authorisation server issued. */
export interface HaloToken {
  clientId: string;
  /** Scopes the token carries: what the application and its agent may both do. */
  permissions: Set<string>;
  /** On the emulator's clock. */
  expiresAt: number;
}

/** The live Halo instance: entities by id, issued tokens, each tenant's recent requests. */
export class HaloState {
  readonly clients = new Map<number, HaloClientRecord>();
  readonly azureTenants = new Map<number, HaloAzureTenantRecord>();
  readonly items = new Map<number, HaloItemRecord>();
  readonly licences = new Map<number, HaloLicenceRecord>();
  readonly contracts = new Map<number, HaloContractRecord>();
  readonly invoices = new Map<number, HaloInvoiceRecord>();
  readonly lines = new Map<number, HaloLineRecord>();
  readonly tokens = new Map<string, HaloToken>();
  /** Request times (emulator clock) in the rolling window, per tenant. */
  readonly requestTimes = new Map<string, number[]>();
  private linkSeq = 0;

  constructor(
    readonly scenario: HaloScenario,
    readonly base: PsaEmulatorBase,
  ) {
    const created = haloDateTime(base.now());
    for (const c of scenario.clients) {
      this.clients.set(c.id, {
        id: c.id,
        name: c.name,
        toplevel_id: 1,
        toplevel_name: 'Customers',
        inactive: c.inactive,
        website: c.website ?? null,
        domain: c.domain ?? null,
        datecreated: created,
      });
      for (const t of c.azureTenants) {
        const id = this.nextId(this.azureTenants);
        this.azureTenants.set(id, {
          id,
          details_id: 1,
          client_id: c.id,
          azure_tenant_id: t.tenantId,
          azure_tenant_name: t.name ?? null,
          azure_tenant_domain: t.domain ?? null,
        });
      }
    }
    for (const i of scenario.items)
      this.items.set(i.id, {
        id: i.id,
        name: i.name,
        description: i.description ?? i.name,
        internalreference: i.internalReference ?? null,
        externalreference: null,
        supplier_part_code: i.supplierPartCode ?? null,
        isrecurringitem: i.recurring,
        recurringprice: i.recurringPrice,
        recurringcost: i.recurringCost,
        baseprice: i.recurringPrice,
        costprice: i.recurringCost,
        inactive: i.inactive,
      });
    for (const l of scenario.licences)
      this.licences.set(l.id, {
        id: l.id,
        type: 0,
        name: l.name,
        count: l.count,
        client_id: l.clientId,
        site_id: null,
        tenant_id: l.tenantId ?? null,
        product_sku: l.productSku ?? null,
        start_date: null,
        end_date: null,
        is_active: true,
        deleted: false,
      });
    for (const c of scenario.contracts)
      this.contracts.set(c.id, {
        id: c.id,
        client_id: c.clientId,
        ref: c.ref,
        start_date: c.startDate ? isoDate(c.startDate) : null,
        end_date: c.endDate ? isoDate(c.endDate) : null,
      });
    for (const r of scenario.recurringInvoices) {
      this.invoices.set(r.id, {
        id: r.id,
        client_id: r.clientId,
        contract_id: r.contractId ?? null,
        reference: r.name,
        is_recurring_invoice: true,
        period: 1,
        period_type: 1,
        startdate: null,
        nextcreationdate: null,
        disabled: false,
        lineIds: [],
      });
      for (const l of r.lines) {
        const item = this.items.get(l.itemId);
        this.addLine({
          id: l.id,
          ihid: r.id,
          _itemid: l.itemId,
          item_code: item?.internalreference ?? null,
          item_shortdescription: item?.name ?? null,
          item_longdescription: item?.description ?? null,
          qty_order: l.quantity,
          unit_price: l.unitPrice ?? item?.recurringprice ?? 0,
          unit_cost: item?.recurringcost ?? 0,
          startdate: l.startDate ? isoDate(l.startDate) : null,
          enddate: l.endDate ? isoDate(l.endDate) : null,
          isinactive: l.inactive,
          sequenceid: 0,
          recurring_invoice_quantity_type:
            l.licenceId === undefined ? quantityTypeFixed : quantityTypeLicences,
          quantity_licences:
            l.licenceId === undefined
              ? []
              : [
                  {
                    id: this.nextLinkId(),
                    invoice_line_id: l.id,
                    licence_id: l.licenceId,
                    qty_free: l.freeQuantity,
                    minimum_qty: 0,
                    pro_rata: 0,
                  },
                ],
          prorata_next_invoice: false,
          prorata_quantity: 0,
          prorata_unit_price: 0,
          prorata_data: [],
        });
      }
    }
  }

  /** Runs a write; if it throws, every entity is put back as it was (a refusal changes nothing). */
  transaction<T>(write: () => T): T {
    const entities = [
      this.clients,
      this.azureTenants,
      this.items,
      this.licences,
      this.contracts,
      this.invoices,
      this.lines,
    ] as Map<number, unknown>[];
    const saved = entities.map((m) => structuredClone(m));
    const linkSeq = this.linkSeq;
    try {
      return write();
    } catch (error) {
      entities.forEach((m, i) => {
        m.clear();
        for (const [k, v] of saved[i]!) m.set(k, v);
      });
      this.linkSeq = linkSeq;
      throw error;
    }
  }

  /** The next free id of an entity (Halo numbers each entity on its own). */
  nextId(map: Map<number, unknown>): number {
    let max = 0;
    for (const id of map.keys()) if (id > max) max = id;
    return max + 1;
  }

  nextLinkId(): number {
    return ++this.linkSeq;
  }

  addLine(line: HaloLineRecord): void {
    const invoice = this.invoices.get(line.ihid);
    if (!invoice) throw new Error(`no recurring invoice ${line.ihid}`);
    if (!line.sequenceid) line.sequenceid = invoice.lineIds.length + 1;
    this.lines.set(line.id, line);
    invoice.lineIds.push(line.id);
  }

  /** Removes a line (only POST /RecurringInvoice with deleteOmittedLines does this). */
  removeLine(id: number): void {
    const line = this.lines.get(id);
    if (!line) return;
    this.lines.delete(id);
    const invoice = this.invoices.get(line.ihid);
    if (invoice) invoice.lineIds = invoice.lineIds.filter((l) => l !== id);
  }

  clientName(id: number | null): string | null {
    return id === null ? null : (this.clients.get(id)?.name ?? null);
  }
}

/** A scenario date (YYYY-MM-DD or ISO 8601) as Halo writes dates: ISO 8601 without offset. */
function isoDate(value: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00` : value;
}

/** An instant as Halo writes it: ISO 8601 without offset (a .NET DateTime, UTC here). */
export function haloDateTime(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19);
}
