import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Config } from '../../../config/index.js';
import type { Services } from '../../dependencies.js';
import { alertEventNames } from '../../domain/alert-events.js';
import { mailtoUrl, maxEmailAddresses, normalizedAddresses } from '../../domain/email-messages.js';
import { webhookKinds } from '../../domain/webhook-messages.js';
import { noSmtpReason, webhookPolicy } from '../../services/alert-delivery.js';
import { changeChannel, testChannel } from '../../services/channel-changes.js';
import { waitingForFixSentence } from '../../domain/delivery-states.js';
import type { JobQueues } from '../../queue/job-queues.js';
import { webhookUrlRefusal } from '../../services/webhook-sender.js';
import type { NotificationChannel } from '../../store/alerts.js';
import type { ChannelChange, ChannelInput } from '../../store/notification-channels.js';
import { HttpError } from '../http-error.js';
import { parseOr400 } from '../validation.js';
import { partnerOr404 } from './partners.js';

const url = z.string().trim().min(1, 'give the URL the channel sends to').max(2000);
const events = z
  .array(z.enum(alertEventNames))
  .min(1)
  .max(alertEventNames.length)
  .transform((list) => [...new Set(list)])
  .nullable();

/** An email channel's addresses: each checked, the domain lower-cased, each kept once. */
const addresses = z
  .array(
    z
      .string()
      .trim()
      .max(254, 'an address has at most 254 characters')
      .pipe(z.email('expected an email address such as it@example.com')),
  )
  .min(1, 'expected at least one address')
  .transform(normalizedAddresses)
  .pipe(
    z.array(z.string()).max(maxEmailAddresses, `expected at most ${maxEmailAddresses} addresses`),
  );

const channelOptions = {
  events: events.optional(),
  notifyResolved: z.boolean().optional(),
  digest: z.boolean().optional(),
};

export const newChannel = z.discriminatedUnion('kind', [
  z.object({ kind: z.enum(webhookKinds), url, ...channelOptions }).strict(),
  z.object({ kind: z.literal('email'), addresses, ...channelOptions }).strict(),
]);

export const channelChange = z
  .object({
    /** Webhook kinds only. */
    url: url.optional(),
    /** Email channels only; new addresses clear the broken mark, as a new URL does. */
    addresses: addresses.optional(),
    events: events.optional(),
    notifyResolved: z.boolean().optional(),
    digest: z.boolean().optional(),
    /** false clears the broken mark (after the receiver was fixed). */
    broken: z.literal(false).optional(),
  })
  .strict();

const guid = z.uuid();

/** A webhook's host, or an email channel's addresses (kept, comma-separated, in its place). */
const targetView = (kind: string, shown: string) =>
  kind === 'email' ? { addresses: shown.split(', ') } : { host: shown };

/** A channel as the API shows it: the URL's host only, never the URL or the secret. */
const channelView = (c: NotificationChannel) => ({
  id: c.id,
  partnerId: c.partnerId,
  kind: c.kind,
  ...targetView(c.kind, c.urlHost),
  events: c.events,
  notifyResolved: c.notifyResolved,
  digest: c.digest,
  broken: c.brokenAt ? { at: c.brokenAt, reason: c.brokenReason } : null,
  createdAt: c.createdAt,
  updatedAt: c.updatedAt,
});

/**
 * How a channel's form or body becomes what is stored, for the API and the pages alike: an
 * email channel's addresses as one mailto: URI (refused while email is not configured), a
 * webhook's URL only once its address is allowed. Each refusal is a 400 with a sentence.
 */
export function channelRules(config: Pick<Config, 'nodeEnv' | 'allowPrivateWebhooks' | 'smtp'>) {
  const policy = webhookPolicy(config);
  const checkUrl = async (raw: string | undefined) => {
    if (raw === undefined) return;
    const refusal = await webhookUrlRefusal(raw, policy);
    if (refusal) throw new HttpError(400, 'invalid_request', refusal);
  };
  return {
    async input(body: z.output<typeof newChannel>): Promise<ChannelInput> {
      if (body.kind !== 'email') {
        await checkUrl(body.url);
        return body;
      }
      if (!config.smtp.url) {
        throw new HttpError(
          400,
          'invalid_request',
          `Email channels cannot be added. ${noSmtpReason}`,
        );
      }
      const { addresses: list, ...options } = body;
      return { ...options, url: mailtoUrl(list) };
    },
    async change(
      existing: NotificationChannel,
      body: z.output<typeof channelChange>,
    ): Promise<ChannelChange> {
      const { addresses: newAddresses, ...change } = body;
      if (existing.kind === 'email' ? change.url !== undefined : newAddresses !== undefined) {
        throw new HttpError(
          400,
          'invalid_request',
          existing.kind === 'email'
            ? 'Invalid request: url: an email channel has addresses, not a URL.'
            : 'Invalid request: addresses: only an email channel has addresses.',
        );
      }
      await checkUrl(change.url);
      return newAddresses ? { ...change, url: mailtoUrl(newAddresses) } : change;
    },
  };
}

/**
 * Notification channels (a partner's, and the operators' global ones) and a partner's alert
 * history. URLs are checked (https in production, no private address) before they are saved.
 */
export function notificationsRouter(
  services: Services,
  queues: JobQueues,
  config: Pick<Config, 'nodeEnv' | 'allowPrivateWebhooks' | 'publicUrl' | 'smtp'>,
  actor: string,
): Router {
  const router = Router();
  const rules = channelRules(config);
  const deps = {
    notificationChannels: services.notificationChannels,
    partners: services.partners,
    queues,
    config,
  };

  /** The scope of the request: the partner's id (404 if none) or null for global channels. */
  const scopeOf = async (req: Request): Promise<string | null> =>
    req.params.id === undefined ? null : (await partnerOr404(services, String(req.params.id))).id;
  const channelOr404 = async (scope: string | null, id: string) => {
    const channel = guid.safeParse(id).success
      ? await services.notificationChannels.get(scope, id)
      : undefined;
    if (!channel) throw new HttpError(404, 'not_found', `No notification channel ${id}.`);
    return channel;
  };

  for (const base of ['/partners/:id/notification-channels', '/notification-channels']) {
    router.get(base, async (req, res) => {
      const scope = await scopeOf(req);
      res.json({ channels: (await services.notificationChannels.list(scope)).map(channelView) });
    });

    router.post(base, async (req, res) => {
      const scope = await scopeOf(req);
      const input = await rules.input(parseOr400(newChannel, req.body));
      const { channel, signingSecret } = await services.notificationChannels.create(
        scope,
        input,
        actor,
      );
      // The signing secret is shown here once; it is sealed and never answered again.
      res
        .status(201)
        .json({ ...channelView(channel), ...(signingSecret ? { signingSecret } : {}) });
    });

    router.patch(`${base}/:channelId`, async (req, res) => {
      const scope = await scopeOf(req);
      const existing = await channelOr404(scope, String(req.params.channelId));
      const change = await rules.change(existing, parseOr400(channelChange, req.body));
      // A change that fixes a broken channel queues what it held.
      const saved = await changeChannel(deps, scope, existing.id, change, actor);
      if (!saved) throw new HttpError(404, 'not_found', 'No such notification channel.');
      res.json(channelView(saved.channel));
    });

    router.delete(`${base}/:channelId`, async (req, res) => {
      const scope = await scopeOf(req);
      await channelOr404(scope, String(req.params.channelId));
      await services.notificationChannels.delete(scope, String(req.params.channelId), actor);
      res.status(204).end();
    });

    router.post(`${base}/:channelId/test`, async (req, res) => {
      const scope = await scopeOf(req);
      const channel = await channelOr404(scope, String(req.params.channelId));
      // A test that gets through fixes a broken channel, and queues what it held.
      res.json(await testChannel(deps, channel, scope, actor));
    });
  }

  router.get('/partners/:id/alerts', async (req, res) => {
    const partner = await partnerOr404(services, String(req.params.id));
    const history = await services.alerts.history(partner.id);
    res.json({
      alerts: history.map(({ alert, deliveries }) => ({
        id: alert.id,
        event: alert.event,
        key: alert.key,
        severity: alert.severity,
        details: alert.details,
        raisedAt: alert.raisedAt,
        resolvedAt: alert.resolvedAt,
        deliveries: deliveries.map((d) => ({
          channelId: d.channelId,
          channel: { kind: d.channelKind, ...targetView(d.channelKind, d.channelHost) },
          kind: d.kind,
          status: d.status,
          attempts: d.attempts,
          lastError: d.lastError,
          waiting:
            d.status === 'pending' && d.channelBrokenAt !== null ? waitingForFixSentence : null,
          sentAt: d.sentAt,
        })),
      })),
    });
  });

  return router;
}
