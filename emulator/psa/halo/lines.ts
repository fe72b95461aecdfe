import { badRequest, notFound } from './errors.js';
import {
  assignDefined,
  booleanField,
  dateField,
  integerField,
  numberField,
  stringField,
  upsertId,
  type HaloObject,
} from './fields.js';
import {
  quantityTypeFixed,
  quantityTypeLicences,
  type HaloLineLicenceLink,
  type HaloLineRecord,
} from './records.js';
import { remainingMonthShare, roundMoney } from '../proration.js';
import { haloDateTime, type HaloState } from './state.js';

// Writing recurring invoice lines (InvoiceDetail), the same way from POST /RecurringInvoice
// (lines[] of a header), /RecurringInvoice/updatelines and /RecurringInvoice/Lines.

/**
 * Whether POST /RecurringInvoice deletes the lines its lines[] leaves out. Halo's sources do
 * not say (a public script re-posts every line); the emulator keeps them, the reading that
 * loses nothing for a client sending only the lines it changes.
 */
export const deleteOmittedLines = false;

/** Updates the line `entry.id`, or adds one to `invoiceId` when the entry has no id. */
export function upsertLine(
  state: HaloState,
  entry: HaloObject,
  invoiceId: number | undefined,
): HaloLineRecord {
  const id = upsertId(entry);
  if (id !== undefined) {
    const line = state.lines.get(id);
    if (!line) throw notFound(`Recurring invoice line ${id} not found.`);
    if (invoiceId !== undefined && line.ihid !== invoiceId)
      throw badRequest(`Line ${id} belongs to recurring invoice ${line.ihid}, not ${invoiceId}.`);
    applyLineFields(state, line, entry);
    return line;
  }
  const ihid = invoiceId ?? integerField(entry, 'ihid');
  if (ihid === undefined) throw badRequest('ihid is required to add a line.');
  if (!state.invoices.has(ihid)) throw notFound(`Recurring invoice ${ihid} not found.`);
  const line: HaloLineRecord = {
    id: state.nextId(state.lines),
    ihid,
    _itemid: null,
    item_code: null,
    item_shortdescription: null,
    item_longdescription: null,
    qty_order: 0,
    unit_price: 0,
    unit_cost: 0,
    startdate: null,
    enddate: null,
    isinactive: false,
    sequenceid: 0,
    recurring_invoice_quantity_type: quantityTypeFixed,
    quantity_licences: [],
    prorata_next_invoice: false,
    prorata_quantity: 0,
    prorata_unit_price: 0,
    prorata_data: [],
  };
  // A line added without a quantity bills one; with its quantity it may prorate from none.
  if (numberField(entry, 'qty_order') === undefined) line.qty_order = 1;
  applyLineFields(state, line, entry);
  if (line._itemid === null && !line.item_shortdescription)
    throw badRequest('A line needs an item (_itemid) or a description.');
  state.addLine(line);
  return line;
}

function applyLineFields(state: HaloState, line: HaloLineRecord, entry: HaloObject): void {
  const before = line.qty_order;
  const qty = numberField(entry, 'qty_order');
  if (qty !== undefined && qty < 0) throw badRequest('Quantity cannot be negative.');
  const itemId = integerField(entry, '_itemid');
  if (itemId !== undefined && itemId !== line._itemid) {
    const item = state.items.get(itemId);
    if (!item) throw badRequest(`Item ${itemId} does not exist.`);
    if (item.inactive)
      throw badRequest(`The item '${item.name}' is inactive and cannot be invoiced.`);
    // A new item brings its code, description and prices unless the entry gives its own.
    assignDefined(line, {
      _itemid: item.id,
      item_code: item.internalreference,
      item_shortdescription: item.name,
      item_longdescription: item.description,
      unit_price: item.recurringprice,
      unit_cost: item.recurringcost,
    });
  }
  assignDefined(line, {
    item_code: stringField(entry, 'item_code'),
    item_shortdescription: stringField(entry, 'item_shortdescription') ?? undefined,
    item_longdescription: stringField(entry, 'item_longdescription'),
    qty_order: qty,
    unit_price: numberField(entry, 'unit_price'),
    unit_cost: numberField(entry, 'unit_cost'),
    startdate: dateField(entry, 'startdate'),
    enddate: dateField(entry, 'enddate'),
    isinactive: booleanField(entry, 'isinactive'),
    prorata_next_invoice: booleanField(entry, 'prorata_next_invoice'),
  });
  if (line.prorata_next_invoice && line.qty_order !== before) recordProRata(state, line, before);
  if (entry.quantity_licences !== undefined) {
    line.quantity_licences = licenceLinks(state, line.id, entry.quantity_licences);
    line.recurring_invoice_quantity_type =
      line.quantity_licences.length > 0 ? quantityTypeLicences : quantityTypeFixed;
  }
}

/**
 * A quantity change on a line that prorates: the changed seats are charged (or credited) for
 * the rest of the emulator clock's calendar month, on the next invoice.
 */
function recordProRata(state: HaloState, line: HaloLineRecord, before: number): void {
  const now = state.base.now();
  const { share } = remainingMonthShare(now);
  const quantity = line.qty_order - before;
  const unitprice = roundMoney(line.unit_price * share);
  const ids = [...state.lines.values(), line].flatMap((l) => l.prorata_data.map((p) => p.id));
  line.prorata_data.push({
    id: Math.max(0, ...ids) + 1,
    invoicedetailid: line.id,
    recurring_invoice_id: line.ihid,
    client_id: state.invoices.get(line.ihid)!.client_id,
    date: haloDateTime(now),
    quantity,
    unitprice,
    unitcost: roundMoney(line.unit_cost * share),
    prorata_next_invoice: true,
    isinvoiced: false,
  });
  line.prorata_quantity = quantity;
  line.prorata_unit_price = unitprice;
}

function licenceLinks(state: HaloState, lineId: number, value: unknown): HaloLineLicenceLink[] {
  if (value === null) return [];
  if (!Array.isArray(value))
    throw badRequest("The value given for 'quantity_licences' is not valid.");
  return value.map((raw: unknown) => {
    if (typeof raw !== 'object' || raw === null)
      throw badRequest("The value given for 'quantity_licences' is not valid.");
    const link = raw as HaloObject;
    const licenceId = integerField(link, 'licence_id');
    if (licenceId === undefined || !state.licences.has(licenceId))
      throw badRequest(`Licence ${String(licenceId)} does not exist.`);
    return {
      id: upsertId(link) ?? state.nextLinkId(),
      invoice_line_id: lineId,
      licence_id: licenceId,
      qty_free: integerField(link, 'qty_free') ?? 0,
      minimum_qty: integerField(link, 'minimum_qty') ?? 0,
      pro_rata: integerField(link, 'pro_rata') ?? 0,
    };
  });
}
