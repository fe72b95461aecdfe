import { z } from 'zod';
import { PsaError } from '../errors.js';

// The ConnectWise models the sync reads (fields it does not use are dropped), and how they
// read as the sync's companies, products and lines.

const reference = z.object({ id: z.number(), name: z.string().optional() });

export const companyRecord = z.object({
  id: z.number(),
  name: z.string(),
  website: z.string().optional(),
  status: reference.optional(),
  deletedFlag: z.boolean().optional(),
});

export const catalogRecord = z.object({
  id: z.number(),
  identifier: z.string(),
  description: z.string(),
});

export const agreementRecord = z.object({
  id: z.number(),
  name: z.string(),
  company: reference,
  // Model 2020.1 on: parentAgreement {id}; before: parentAgreementId.
  parentAgreement: reference.optional(),
  parentAgreementId: z.number().optional(),
});

export const additionRecord = z.object({
  id: z.number(),
  agreementId: z.number(),
  product: z.object({ id: z.number(), identifier: z.string().optional() }),
  quantity: z.number(),
  description: z.string().optional(),
  effectiveDate: z.string().optional(),
  cancelledDate: z.string().optional(),
  agreementStatus: z.string().optional(),
});
export type AdditionRecord = z.infer<typeof additionRecord>;

/** Parses records of a list, saying which answer was not what the model promises. */
export function parseRecords<T>(schema: z.ZodType<T>, rows: unknown[], what: string): T[] {
  const parsed = z.array(schema).safeParse(rows);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new PsaError(
    'transient',
    `ConnectWise answered ${what} in an unexpected shape (${issue?.path.join('.')}: ${issue?.message}).`,
  );
}

/** Domain names in a company's website field ("www.contoso.com", "https://contoso.com/"). */
export function domainsOf(website: string | undefined): string[] {
  const text = website?.trim();
  if (!text) return [];
  try {
    const host = new URL(/^[a-z]+:\/\//i.test(text) ? text : `https://${text}`).hostname;
    return [host.toLowerCase().replace(/^www\./, '')];
  } catch {
    return [];
  }
}

/** An addition no longer bills once cancelled (from its cancelledDate) or expired. */
export function isCancelled(addition: AdditionRecord, now = Date.now()): boolean {
  if (addition.agreementStatus)
    return addition.agreementStatus === 'Cancelled' || addition.agreementStatus === 'Expired';
  return !!addition.cancelledDate && Date.parse(addition.cancelledDate) <= now;
}

/** A ConnectWise record id from the sync's string id; anything else cannot name a record. */
export function recordId(id: string, what: string): number {
  if (!/^\d+$/.test(id))
    throw new PsaError('validation', `"${id}" is not a ConnectWise ${what} id.`);
  return Number(id);
}

/** The sync's YYYY-MM-DD as the date-time ConnectWise stores. */
export function connectwiseDate(date: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date) || Number.isNaN(Date.parse(date)))
    throw new PsaError('validation', `"${date}" is not a date (YYYY-MM-DD).`);
  return `${date}T00:00:00Z`;
}
