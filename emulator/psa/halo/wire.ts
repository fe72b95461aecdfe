import { roundMoney } from '../proration.js';
import {
  licenceLinkedQuantity,
  type HaloAzureTenantRecord,
  type HaloContractRecord,
  type HaloInvoiceRecord,
  type HaloLicenceRecord,
  type HaloLineRecord,
} from './records.js';
import type { HaloState } from './state.js';

// The JSON Halo answers with, from the stored records: names of linked entities filled in,
// totals computed, an invoice's lines only when asked for.

export function renderAzureTenant(state: HaloState, t: HaloAzureTenantRecord) {
  return { ...t, client_name: state.clientName(t.client_id) };
}

export function renderLicence(state: HaloState, l: HaloLicenceRecord) {
  return { ...l, client_name: state.clientName(l.client_id) };
}

export function renderContract(state: HaloState, c: HaloContractRecord) {
  return { ...c, client_name: state.clientName(c.client_id) };
}

/**
 * A line as Halo shows it. qty_order is the line's own field; a licence-linked line bills its
 * licences' count instead, which Halo computes when it raises the invoice, so qty_order is
 * shown as stored and the licence links carry what the bill comes from.
 */
export function renderLine(state: HaloState, line: HaloLineRecord) {
  const quantity_licences = line.quantity_licences.map((link) => ({
    ...link,
    licence_name: state.licences.get(link.licence_id)?.name ?? null,
    assigned_licences: false,
    use_linked_subscription_price: false,
  }));
  return {
    ...line,
    net_amount: roundMoney(billedQuantity(state, line) * line.unit_price),
    quantity_licences,
  };
}

/** What the line bills today: qty_order, or its licences' count when it is licence-linked. */
function billedQuantity(state: HaloState, line: HaloLineRecord): number {
  if (line.quantity_licences.length === 0) return line.qty_order;
  return licenceLinkedQuantity(line.quantity_licences, (id) => state.licences.get(id)?.count ?? 0);
}

export function renderInvoice(state: HaloState, invoice: HaloInvoiceRecord, withLines: boolean) {
  const { lineIds, ...header } = invoice;
  const lines = lineIds.flatMap((id) => {
    const line = state.lines.get(id);
    return line ? [renderLine(state, line)] : [];
  });
  const total = roundMoney(
    lines.filter((l) => !l.isinactive).reduce((sum, l) => sum + l.net_amount, 0),
  );
  return {
    ...header,
    client_name: state.clientName(invoice.client_id),
    contract_ref:
      invoice.contract_id === null ? null : (state.contracts.get(invoice.contract_id)?.ref ?? null),
    total,
    ...(withLines ? { lines } : {}),
  };
}
