// Halo's entities as the emulator keeps them: already in Halo's own field names (snake case,
// as the OpenAPI spec spells them), so reading renders them nearly as stored and an upsert
// merges the posted fields into them.

/** Client (Halo's "Area"). */
export interface HaloClientRecord {
  id: number;
  name: string;
  toplevel_id: number;
  toplevel_name: string;
  inactive: boolean;
  website: string | null;
  domain: string | null;
  datecreated: string;
}

/** Tenant→client mapping (AreaAzureTenant). */
export interface HaloAzureTenantRecord {
  id: number;
  details_id: number;
  client_id: number;
  azure_tenant_id: string;
  azure_tenant_name: string | null;
  azure_tenant_domain: string | null;
}

export interface HaloItemRecord {
  id: number;
  name: string;
  description: string | null;
  internalreference: string | null;
  externalreference: string | null;
  supplier_part_code: string | null;
  isrecurringitem: boolean;
  recurringprice: number;
  recurringcost: number;
  baseprice: number;
  costprice: number;
  inactive: boolean;
}

/** SoftwareLicence (Licence_List). */
export interface HaloLicenceRecord {
  id: number;
  type: number;
  name: string;
  count: number;
  client_id: number;
  site_id: number | null;
  tenant_id: string | null;
  product_sku: string | null;
  start_date: string | null;
  end_date: string | null;
  is_active: boolean;
  deleted: boolean;
}

export interface HaloContractRecord {
  id: number;
  client_id: number;
  ref: string;
  start_date: string | null;
  end_date: string | null;
}

/** A link from a recurring line to the licence whose count it bills (InvoiceDetailQuantity). */
export interface HaloLineLicenceLink {
  id: number;
  invoice_line_id: number;
  licence_id: number;
  qty_free: number;
  minimum_qty: number;
  pro_rata: number;
}

/** A recurring invoice line (InvoiceDetail). */
export interface HaloLineRecord {
  id: number;
  ihid: number;
  _itemid: number | null;
  item_code: string | null;
  item_shortdescription: string | null;
  item_longdescription: string | null;
  qty_order: number;
  unit_price: number;
  unit_cost: number;
  startdate: string | null;
  enddate: string | null;
  isinactive: boolean;
  sequenceid: number;
  recurring_invoice_quantity_type: number;
  quantity_licences: HaloLineLicenceLink[];
  /** Charge (or credit) the rest of the period for a quantity change on the next invoice. */
  prorata_next_invoice: boolean;
  /** The last pro-rata charge's seats and its unit price for the part of the period left. */
  prorata_quantity: number;
  prorata_unit_price: number;
  prorata_data: HaloProRataRecord[];
}

/** A pending partial-period charge of a line (InvoiceDetailProRata). */
interface HaloProRataRecord {
  id: number;
  invoicedetailid: number;
  recurring_invoice_id: number;
  client_id: number;
  /** When the charged part of the period starts. */
  date: string;
  /** The seats added (negative: removed). */
  quantity: number;
  /** The line's unit price for the part of the period left. */
  unitprice: number;
  unitcost: number;
  prorata_next_invoice: boolean;
  isinvoiced: boolean;
}

/** A recurring invoice header (InvoiceHeader); its lines are kept apart, by id. */
export interface HaloInvoiceRecord {
  id: number;
  client_id: number;
  contract_id: number | null;
  reference: string;
  is_recurring_invoice: true;
  period: number;
  period_type: number;
  startdate: string | null;
  nextcreationdate: string | null;
  disabled: boolean;
  lineIds: number[];
}

/**
 * recurring_invoice_quantity_type values. The spec gives the field but not its codes: the
 * emulator uses 0 for "the line's qty_order" and 2 for "its linked licences' count".
 */
export const quantityTypeFixed = 0;
export const quantityTypeLicences = 2;

/** What a licence-linked line bills: the licences' count less the free ones, at least the minimum. */
export function licenceLinkedQuantity(
  links: HaloLineLicenceLink[],
  countOf: (licenceId: number) => number,
): number {
  return links.reduce(
    (sum, link) => sum + Math.max(link.minimum_qty, countOf(link.licence_id) - link.qty_free),
    0,
  );
}
