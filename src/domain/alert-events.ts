import { z } from 'zod';

/**
 * Every event that can need a person, in one place (like the job catalog): its severity, the
 * details it carries, its deduplication key, its sentences and the page that fixes it. An alert
 * with a key stays open until resolved, and an open key is sent once per channel.
 *
 * Details are counts, dates, names and sentences the service wrote itself: never a token,
 * password, code or URL with a credential in it. Every sentence below is built from them alone.
 */
export type AlertSeverity = 'critical' | 'warning' | 'info';

const reason = z.string().min(1).max(500);
const isoDate = z.iso.datetime({ offset: true });
const count = z.number().int().min(0);
const topReasons = z.array(z.object({ reason, customers: count })).max(5);

interface EventDefinition<D extends z.ZodType> {
  /** What the event is, in a sentence for a person choosing which events a channel takes. */
  about: string;
  severity: AlertSeverity;
  details: D;
  /** The stable key: the same condition gives the same key, so it is sent once until resolved. */
  key: (details: z.infer<D>) => string;
  /** A short line: a chat message's title, a mail's subject. */
  title: (details: z.infer<D>) => string;
  /** One or two sentences saying what happened and what to do. */
  summary: (details: z.infer<D>) => string;
  /** The page that fixes it, under the partner (`/partners/:id` + this). */
  page: string;
}

const defineEvent = <D extends z.ZodType>(definition: EventDefinition<D>) => definition;

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const day = (iso: string) => iso.slice(0, 10);
const reasonsLine = (reasons: z.infer<typeof topReasons>) =>
  reasons.length === 0
    ? ''
    : ` Most common: ${reasons.map((r) => `${r.reason} (${r.customers})`).join('; ')}.`;

/** The keys a state change resolves: of events that hold one per partner, or one per run. */
export const alertKeys = {
  consentNeeded: 'consent-needed',
  customLicenseTokenInvalid: 'custom-license-token-invalid',
  runFailures: 'run-failures',
  billingSyncFailed: 'billing-sync-failed',
  /** One per run: resolved by the transaction that ends the run. */
  runNotFinished: (runId: string) => `run-not-finished-${runId}`,
} as const;

export const alertEvents = {
  /** The Partner Center consent stopped working (revoked, MFA required again, expired). */
  consentNeeded: defineEvent({
    about: 'Partner Center consent must be granted again (revoked, MFA required again, expired).',
    severity: 'critical',
    details: z.object({ reason }).strict(),
    key: () => alertKeys.consentNeeded,
    title: () => 'Partner Center consent must be granted again',
    summary: (d) =>
      `${d.reason} Until then no license counts are refreshed. Open Delegated Admin and click Grant Partner Center Consent.`,
    page: '/delegated-admin',
  }),
  /** The custom-license token no longer works: custom licenses will fail to update. */
  customLicenseTokenInvalid: defineEvent({
    about: 'The custom-license token no longer works.',
    severity: 'critical',
    details: z.object({ reason }).strict(),
    key: () => alertKeys.customLicenseTokenInvalid,
    title: () => 'The custom-license token no longer works',
    summary: (d) =>
      `${d.reason} Custom licenses will fail to update until the custom-license token is generated again.`,
    page: '/delegated-admin',
  }),
  /** The custom-license token nears its 90-day inactivity limit (within 14 days). */
  customLicenseTokenExpiring: defineEvent({
    about: 'The custom-license token is within 14 days of its 90-day inactivity limit.',
    severity: 'warning',
    details: z.object({ expiresAt: isoDate }).strict(),
    // One alert per expiry date: a token used again gets a later date, and a new alert if it
    // nears that one.
    key: (d) => `custom-license-token-expiring-${day(d.expiresAt)}`,
    title: (d) => `The custom-license token expires on ${day(d.expiresAt)}`,
    summary: (d) =>
      `The custom-license token has not been used for a long time and expires on ${day(d.expiresAt)}. Validate it or generate it again before then.`,
    page: '/delegated-admin',
  }),
  /** A refresh run ended with customers that failed or that the partner cannot reach. */
  runFinishedWithFailures: defineEvent({
    about: 'A refresh ended with customers that failed or cannot be reached.',
    severity: 'warning',
    details: z
      .object({
        runId: z.uuid(),
        total: count,
        failed: count,
        noAccess: count,
        reasons: topReasons,
      })
      .strict(),
    // Per partner, not per run: tomorrow's run with failures updates nothing until this one is
    // resolved by a run without them.
    key: () => alertKeys.runFailures,
    title: (d) => `${plural(d.failed + d.noAccess, 'customer')} of ${d.total} were not refreshed`,
    summary: (d) =>
      `The last refresh ended with ${plural(d.failed, 'failed customer')} and ${plural(d.noAccess, 'customer')} without access.${reasonsLine(d.reasons)} Retry them from Companies once the cause is fixed.`,
    page: '/companies',
  }),
  /** The scheduled refresh did not start on time. */
  runNotStarted: defineEvent({
    about: 'The scheduled refresh did not start on time.',
    severity: 'warning',
    details: z.object({ scheduledAt: isoDate }).strict(),
    key: (d) => `run-not-started-${day(d.scheduledAt)}`,
    title: (d) => `The refresh of ${day(d.scheduledAt)} did not start`,
    summary: (d) =>
      `The refresh scheduled for ${d.scheduledAt} has not started. Check the workers and the queue dashboard.`,
    page: '/delegated-admin',
  }),
  /** A refresh run has been running far longer than expected. */
  runNotFinished: defineEvent({
    about: 'A refresh has been running far longer than expected.',
    severity: 'warning',
    details: z.object({ runId: z.uuid(), startedAt: isoDate }).strict(),
    key: (d) => alertKeys.runNotFinished(d.runId),
    title: () => 'A refresh has not finished on schedule',
    summary: (d) =>
      `The refresh started at ${d.startedAt} is still running. Check the workers and the queue dashboard.`,
    page: '/delegated-admin',
  }),
  /** GDAP relationships end within 30 days (no auto-extend). */
  gdapEnding30Days: defineEvent({
    about: 'GDAP relationships end within 30 days.',
    severity: 'info',
    details: z.object({ customers: count, firstEndsAt: isoDate }).strict(),
    key: (d) => `gdap-ending-30-${day(d.firstEndsAt)}`,
    title: (d) => `GDAP ends within 30 days for ${plural(d.customers, 'customer')}`,
    summary: (d) =>
      `GDAP relationships of ${plural(d.customers, 'customer')} end within 30 days, the first on ${day(d.firstEndsAt)}. Turn on auto-extend or ask those customers for a new relationship.`,
    page: '/access?show=expiring',
  }),
  /** GDAP relationships end within 7 days. */
  gdapEnding7Days: defineEvent({
    about: 'GDAP relationships end within 7 days.',
    severity: 'warning',
    details: z.object({ customers: count, firstEndsAt: isoDate }).strict(),
    key: (d) => `gdap-ending-7-${day(d.firstEndsAt)}`,
    title: (d) => `GDAP ends within 7 days for ${plural(d.customers, 'customer')}`,
    summary: (d) =>
      `GDAP relationships of ${plural(d.customers, 'customer')} end within 7 days, the first on ${day(d.firstEndsAt)}. Their license counts stop then.`,
    page: '/access?show=expiring',
  }),
  /** GDAP relationships have ended: those customers can no longer be read. */
  gdapEnded: defineEvent({
    about: 'GDAP relationships have ended.',
    severity: 'critical',
    details: z.object({ customers: count }).strict(),
    key: () => 'gdap-ended',
    title: (d) => `GDAP ended for ${plural(d.customers, 'customer')}`,
    summary: (d) =>
      `The GDAP relationships of ${plural(d.customers, 'customer')} have ended; their counts are no longer refreshed. Ask them for a new relationship.`,
    page: '/access?show=expired',
  }),
  /** The app is not consented in some customer tenants. */
  appConsentMissing: defineEvent({
    about: 'The app is not consented in some customer tenants.',
    severity: 'warning',
    details: z.object({ customers: count }).strict(),
    key: () => 'app-consent-missing',
    title: (d) => `The app is not consented for ${plural(d.customers, 'customer')}`,
    summary: (d) =>
      `The app has no consent in the tenants of ${plural(d.customers, 'customer')}, so their custom licenses cannot be counted. Consent it from the Access tab.`,
    page: '/access?show=app_not_consented',
  }),
  /** The billing sync with the PSA failed. */
  billingSyncFailed: defineEvent({
    about: 'The billing sync with the PSA failed.',
    severity: 'critical',
    details: z.object({ reason }).strict(),
    key: () => alertKeys.billingSyncFailed,
    title: () => 'The billing sync with the PSA failed',
    summary: (d) => `${d.reason} The PSA's billing is not being checked until this is fixed.`,
    page: '/billing/setup',
  }),
  /** Products are billed nowhere: no PSA product is mapped to them. */
  unmappedProducts: defineEvent({
    about: 'Products with seats have no PSA product mapped.',
    severity: 'warning',
    details: z.object({ products: count }).strict(),
    key: () => 'unmapped-products',
    title: (d) => `${plural(d.products, 'product')} not mapped to the PSA`,
    summary: (d) =>
      `${plural(d.products, 'product')} with seats have no PSA product mapped, so they are not billed. Map them on the billing setup page.`,
    page: '/billing/setup',
  }),
  /** Commitments renew soon, or their cancellation window is open. */
  renewalWindow: defineEvent({
    about: 'Commitments renew soon, or their cancellation window is open.',
    severity: 'info',
    details: z.object({ subscriptions: count, windowEndsAt: isoDate }).strict(),
    key: (d) => `renewal-window-${day(d.windowEndsAt)}`,
    title: (d) => `${plural(d.subscriptions, 'subscription')} can still be reduced`,
    summary: (d) =>
      `The cancellation window of ${plural(d.subscriptions, 'subscription')} closes on ${day(d.windowEndsAt)}. Review their unassigned seats on Renewals.`,
    page: '/renewals',
  }),
};

export type AlertEventName = keyof typeof alertEvents;
export const alertEventNames = Object.keys(alertEvents) as [AlertEventName, ...AlertEventName[]];
type AlertDetails<E extends AlertEventName> = z.infer<(typeof alertEvents)[E]['details']>;

/** An event as raised: which one, for which partner, with its checked details. */
export interface AlertEvent<E extends AlertEventName = AlertEventName> {
  event: E;
  partnerId: string;
  details: AlertDetails<E>;
}

/** What a message about an alert says: from the catalog and the stored details alone. */
export interface AlertText {
  severity: AlertSeverity;
  key: string;
  title: string;
  summary: string;
  /** The fixing page's path under the service's origin. */
  path: string;
}

/** Checks the details against the event's schema and builds its key, sentences and page. */
export function describeAlert<E extends AlertEventName>(
  event: E,
  partnerId: string,
  details: unknown,
): AlertText {
  // The definitions differ in their details only, which the schema checks first.
  const definition = alertEvents[event] as unknown as EventDefinition<z.ZodType<unknown>>;
  const checked = definition.details.parse(details);
  return {
    severity: definition.severity,
    key: definition.key(checked),
    title: definition.title(checked),
    summary: definition.summary(checked),
    path: `/partners/${partnerId}${definition.page}`,
  };
}
