import type { Request } from 'express';
import type { RefusedForm } from '../views/refused-form.js';

/** How the Alerts pages read a channel's form: as typed, before the API's rules check it. */

export const bodyOf = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
export const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
const listOf = (v: unknown) => ([] as unknown[]).concat(v ?? []).map(String);
/** None ticked: every event, including those added later (the API's null). */
export const eventsOf = (body: Record<string, unknown>) => {
  const events = listOf(body.events);
  return events.length > 0 ? events : null;
};
export const ticked = (v: unknown) => v === 'on';
/** An email channel's addresses as typed: one per line, or separated by commas or spaces. */
export const addressesOf = (body: Record<string, unknown>) =>
  text(body.addresses)
    .split(/[\s,;]+/)
    .filter((a) => a !== '');

/** What a refused channel form is shown again with. */
export function keptFields(body: Record<string, unknown>): RefusedForm['fields'] {
  const kept: RefusedForm['fields'] = { events: listOf(body.events) };
  for (const name of ['kind', 'url', 'addresses', 'notifyResolved', 'digest'])
    if (typeof body[name] === 'string') kept[name] = body[name];
  return kept;
}
