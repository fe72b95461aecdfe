import type { AppliedChange, QuantityChange } from '../client.js';
import { PsaError } from '../errors.js';
import type { HaloApi } from './api.js';
import { idOf } from './ids.js';
import { billedQuantity, lineEnded, licenceLinks } from './lines.js';
import type { HaloInvoiceJson, HaloLicenceJson, HaloLineJson } from './wire.js';

// Changing what a recurring invoice bills. Each change reads the invoice first and writes only
// when Halo does not already bill the target, so a retried change writes nothing. One line is
// written through /RecurringInvoice/updatelines (never by re-posting the invoice, whose
// handling of omitted lines Halo does not document); a licence-linked line through its
// SoftwareLicence count; a line is ended (enddate, isinactive), never deleted.

type LicenceCounts = (lines: HaloLineJson[]) => Promise<Map<number, number>>;

export class HaloLineWriter {
  constructor(
    private readonly api: HaloApi,
    private readonly today: () => string,
    private readonly licenceCounts: LicenceCounts,
  ) {}

  private invoice(containerId: string): Promise<HaloInvoiceJson> {
    return this.api.get<HaloInvoiceJson>(
      `/RecurringInvoice/${idOf(containerId, 'recurring invoice')}`,
    );
  }

  private async billed(line: HaloLineJson): Promise<number> {
    const counts = await this.licenceCounts([line]);
    return billedQuantity(line, (id) => counts.get(id) ?? 0);
  }

  async setQuantity(change: QuantityChange): Promise<AppliedChange> {
    const invoice = await this.invoice(change.containerId);
    const lines = invoice.lines ?? [];
    const day = this.today();
    const line =
      change.lineId !== undefined
        ? lines.find((l) => String(l.id) === change.lineId)
        : lines.find((l) => String(l._itemid) === change.productId && !lineEnded(l, day));
    if (change.lineId !== undefined && !line)
      throw new PsaError(
        'not_found',
        `Line ${change.lineId} is not on recurring invoice ${change.containerId}.`,
        404,
      );
    if (!line) return this.addLine(invoice, change);

    const lineId = String(line.id);
    const before = await this.billed(line);
    if (before === change.target)
      return { lineId, before, after: before, responseId: lineId, alreadyApplied: true };
    if (licenceLinks(line).length > 0) return this.setLicenceCount(line, before, change.target);
    const written = await this.api.post<HaloLineJson[]>('/RecurringInvoice/updatelines', [
      {
        id: line.id,
        ihid: invoice.id,
        qty_order: change.target,
        // Halo charges (or credits) the rest of the period on the next invoice, or not at all.
        prorata_next_invoice: (change.proration ?? 'prorate') === 'prorate',
      },
    ]);
    const after = Array.isArray(written) ? written[0] : undefined;
    return {
      lineId,
      before,
      after: after?.qty_order ?? change.target,
      responseId: String(after?.id ?? line.id),
      alreadyApplied: false,
    };
  }

  /** The product has no billing line on the invoice: add one from the effective date. */
  private async addLine(invoice: HaloInvoiceJson, change: QuantityChange): Promise<AppliedChange> {
    if (change.target === 0)
      return { lineId: '', before: 0, after: 0, responseId: '', alreadyApplied: true };
    const written = await this.api.post<HaloLineJson[]>('/RecurringInvoice/Lines', [
      {
        ihid: invoice.id,
        _itemid: idOf(change.productId, 'item'),
        qty_order: change.target,
        startdate: change.effectiveDate,
        prorata_next_invoice: (change.proration ?? 'prorate') === 'prorate',
      },
    ]);
    const line = Array.isArray(written) ? written[0] : undefined;
    if (!line) throw new PsaError('transient', 'Halo added the line but did not return it.');
    const lineId = String(line.id);
    return {
      lineId,
      before: 0,
      after: line.qty_order ?? change.target,
      responseId: lineId,
      alreadyApplied: false,
    };
  }

  /** A licence-linked line bills its licence's count: set the count that bills the target. */
  private async setLicenceCount(
    line: HaloLineJson,
    before: number,
    target: number,
  ): Promise<AppliedChange> {
    const links = licenceLinks(line);
    if (links.length > 1)
      throw new PsaError(
        'validation',
        `Line ${line.id} bills the sum of ${links.length} software licences; no one count sets it to ${target}.`,
      );
    const link = links[0]!;
    if (target < (link.minimum_qty ?? 0))
      throw new PsaError(
        'validation',
        `Line ${line.id} bills at least ${link.minimum_qty} (its minimum quantity).`,
      );
    const written = await this.api.post<HaloLicenceJson>('/SoftwareLicence', [
      { id: link.licence_id, count: target + (link.qty_free ?? 0) },
    ]);
    return {
      lineId: String(line.id),
      before,
      after: target,
      responseId: String(written.id ?? link.licence_id),
      alreadyApplied: false,
    };
  }

  async cancelLine(
    ref: { containerId: string; productId: string; lineId: string },
    effectiveDate: string,
  ): Promise<AppliedChange> {
    const invoice = await this.invoice(ref.containerId);
    const line = (invoice.lines ?? []).find((l) => String(l.id) === ref.lineId);
    if (!line)
      throw new PsaError(
        'not_found',
        `Line ${ref.lineId} is not on recurring invoice ${ref.containerId}.`,
        404,
      );
    const today = this.today();
    const before = lineEnded(line, today) ? 0 : await this.billed(line);
    if (line.isinactive || (line.enddate && line.enddate.slice(0, 10) <= effectiveDate))
      return { lineId: ref.lineId, before, after: 0, responseId: ref.lineId, alreadyApplied: true };
    await this.api.post<HaloLineJson[]>('/RecurringInvoice/updatelines', [
      { id: line.id, ihid: invoice.id, enddate: effectiveDate, isinactive: effectiveDate <= today },
    ]);
    return { lineId: ref.lineId, before, after: 0, responseId: ref.lineId, alreadyApplied: false };
  }
}
