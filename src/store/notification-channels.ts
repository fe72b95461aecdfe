import { randomBytes, randomUUID } from 'node:crypto';
import { and, asc, desc, eq, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import type { AlertEventName } from '../domain/alert-events.js';
import { addressesLabel, mailtoAddresses } from '../domain/email-messages.js';
import type { ChannelKind } from '../domain/webhook-messages.js';
import { deliveriesWaitingOn, pendingCountOf } from './alert-outbox.js';
import type { NotificationChannel } from './alerts.js';
import { recordAudit } from './audit.js';
import type { Database } from './database.js';
import type { KeyRing } from './encryption.js';
import { notificationChannels } from './schema.js';

/** The seal contexts of a channel's URL and signing secret. */
export const channelUrlContext = (channelId: string) => `notification_channel:${channelId}:url`;
export const channelSecretContext = (channelId: string) =>
  `notification_channel:${channelId}:signing_secret`;

/**
 * What people see of a channel's target, kept beside the sealed URL: a webhook's host, or an
 * email channel's addresses (its URL is `mailto:` with them; addresses are not secret).
 */
const shownTarget = (url: string) =>
  url.startsWith('mailto:') ? addressesLabel(mailtoAddresses(url)) : new URL(url).host;

/** What a channel is made of, as the API takes it (an email channel's url is `mailto:`). */
export interface ChannelInput {
  kind: ChannelKind;
  url: string;
  events?: AlertEventName[] | null;
  notifyResolved?: boolean;
  digest?: boolean;
}

/** A channel's change; a new URL clears the broken mark, and so does `broken: false`. */
export interface ChannelChange {
  url?: string;
  events?: AlertEventName[] | null;
  notifyResolved?: boolean;
  digest?: boolean;
  broken?: false;
}

/** Where to send, opened from the seals for one delivery. */
export interface ChannelTarget {
  kind: ChannelKind;
  url: string;
  /** Generic webhooks only. */
  signingSecret: string | undefined;
}

/** A partner's channel (partnerId) or an operators' global one (null). */
type Scope = string | null;
const inScope = (scope: Scope): SQL =>
  scope === null
    ? isNull(notificationChannels.partnerId)
    : eq(notificationChannels.partnerId, scope);

/** Notification channels; URLs and signing secrets are sealed by the key ring. */
export class NotificationChannelStore {
  constructor(
    private readonly db: Database,
    private readonly keyRing: KeyRing,
  ) {}

  /**
   * Saves a channel and, for a generic webhook, generates its signing secret: returned here
   * once, then only ever sealed.
   */
  async create(
    scope: Scope,
    input: ChannelInput,
    actor: string,
  ): Promise<{ channel: NotificationChannel; signingSecret: string | undefined }> {
    const id = randomUUID();
    const signingSecret =
      input.kind === 'webhook' ? `whsec_${randomBytes(32).toString('base64url')}` : undefined;
    return this.db.transaction(async (tx) => {
      const [channel] = await tx
        .insert(notificationChannels)
        .values({
          id,
          partnerId: scope,
          kind: input.kind,
          urlEnc: this.keyRing.encrypt(input.url, channelUrlContext(id)),
          urlHost: shownTarget(input.url),
          signingSecretEnc: signingSecret
            ? this.keyRing.encrypt(signingSecret, channelSecretContext(id))
            : null,
          events: input.events ?? null,
          notifyResolved: input.notifyResolved ?? true,
          digest: input.digest ?? false,
        })
        .returning();
      await recordAudit(tx, {
        partnerId: scope,
        actor,
        action: 'notification_channel.created',
        subjectType: 'notification_channel',
        subjectId: id,
        details: { kind: input.kind, host: channel!.urlHost },
      });
      return { channel: channel!, signingSecret };
    });
  }

  list(scope: Scope): Promise<NotificationChannel[]> {
    return this.db
      .select()
      .from(notificationChannels)
      .where(inScope(scope))
      .orderBy(asc(notificationChannels.createdAt));
  }

  /** Every broken channel, partners' and global, most recently broken first: the operators'. */
  broken(): Promise<NotificationChannel[]> {
    return this.db
      .select()
      .from(notificationChannels)
      .where(isNotNull(notificationChannels.brokenAt))
      .orderBy(desc(notificationChannels.brokenAt));
  }

  async get(scope: Scope, id: string): Promise<NotificationChannel | undefined> {
    const [row] = await this.db
      .select()
      .from(notificationChannels)
      .where(and(inScope(scope), eq(notificationChannels.id, id)));
    return row;
  }

  /**
   * Saves a change. When it fixes a broken channel, answers the deliveries it held, read in the
   * same transaction, for the caller to queue after the commit.
   */
  async update(
    scope: Scope,
    id: string,
    change: ChannelChange,
    actor: string,
  ): Promise<{ channel: NotificationChannel; released: string[] } | undefined> {
    return this.db.transaction(async (tx) => {
      // Locked, so two fixes at once agree on which of them fixed it.
      const [before] = await tx
        .select({ brokenAt: notificationChannels.brokenAt })
        .from(notificationChannels)
        .where(and(inScope(scope), eq(notificationChannels.id, id)))
        .for('update');
      if (!before) return undefined;
      const [row] = await tx
        .update(notificationChannels)
        .set({
          ...(change.url !== undefined
            ? {
                urlEnc: this.keyRing.encrypt(change.url, channelUrlContext(id)),
                urlHost: shownTarget(change.url),
              }
            : {}),
          ...(change.events !== undefined ? { events: change.events } : {}),
          ...(change.notifyResolved !== undefined ? { notifyResolved: change.notifyResolved } : {}),
          ...(change.digest !== undefined ? { digest: change.digest } : {}),
          ...(change.url !== undefined || change.broken === false
            ? { brokenAt: null, brokenReason: null }
            : {}),
          updatedAt: new Date(),
        })
        .where(and(inScope(scope), eq(notificationChannels.id, id)))
        .returning();
      if (!row) return undefined;
      await recordAudit(tx, {
        partnerId: scope,
        actor,
        action: 'notification_channel.changed',
        subjectType: 'notification_channel',
        subjectId: id,
        details: { fields: Object.keys(change) },
      });
      const fixed = before.brokenAt !== null && row.brokenAt === null;
      return { channel: row, released: fixed ? await deliveriesWaitingOn(tx, id) : [] };
    });
  }

  /**
   * Deletes a channel with its deliveries. Answers how many were still pending (held by a broken
   * channel, or waiting for its digest): they end unsent, which the audit entry records.
   */
  async delete(scope: Scope, id: string, actor: string): Promise<{ unsent: number } | undefined> {
    return this.db.transaction(async (tx) => {
      const unsent = await pendingCountOf(tx, id);
      const gone = await tx
        .delete(notificationChannels)
        .where(and(inScope(scope), eq(notificationChannels.id, id)))
        .returning({ id: notificationChannels.id });
      if (gone.length === 0) return undefined;
      await recordAudit(tx, {
        partnerId: scope,
        actor,
        action: 'notification_channel.deleted',
        subjectType: 'notification_channel',
        subjectId: id,
        details: { unsentDeliveries: unsent },
      });
      return { unsent };
    });
  }

  /** Opens the channel's URL and signing secret for one send; they stay in memory only. */
  target(channel: NotificationChannel): ChannelTarget {
    return {
      kind: channel.kind,
      url: this.keyRing.decryptString(channel.urlEnc, channelUrlContext(channel.id)),
      signingSecret: channel.signingSecretEnc
        ? this.keyRing.decryptString(channel.signingSecretEnc, channelSecretContext(channel.id))
        : undefined,
    };
  }

  /** The receiver refused for good: nothing more is sent until the channel is fixed. */
  async markBroken(id: string, reason: string): Promise<void> {
    await this.db
      .update(notificationChannels)
      // The database's clock, to the microsecond: two channels broken in one millisecond still
      // list in the order they broke.
      .set({ brokenAt: sql`now()`, brokenReason: reason, updatedAt: sql`now()` })
      .where(and(eq(notificationChannels.id, id), isNull(notificationChannels.brokenAt)));
  }
}
