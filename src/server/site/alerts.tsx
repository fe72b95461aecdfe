import { Router, type Request, type RequestHandler, type Response } from 'express';
import { z } from 'zod';
import type { Config } from '../../../config/index.js';
import type { Services } from '../../dependencies.js';
import { describeAlert } from '../../domain/alert-events.js';
import { nextDigestTime } from '../../domain/digest-schedule.js';
import type { JobQueues } from '../../queue/job-queues.js';
import { changeChannel, testChannel, unsentSentence } from '../../services/channel-changes.js';
import type { Partner } from '../../store/partners.js';
import { channelChange, channelRules, newChannel } from '../api/notifications.js';
import { HttpError } from '../http-error.js';
import { invalidRequestSentence } from '../validation.js';
import { AlertsPage, type AlertRow } from '../views/alerts.js';
import { html } from '../views/layout.js';
import { DeleteChannelPage, destinationOf, kindLabels } from '../views/notification-channels.js';
import { OperatorAlertsPage } from '../views/operator-alerts.js';
import type { RefusedForm } from '../views/refused-form.js';
import { addressesOf, bodyOf, eventsOf, keptFields, text, ticked } from './channel-forms.js';
import { operatorsOnly, signedIn, type PageContext } from './page-context.js';

/** Whose channels a page shows: a partner's, or the operators' global ones (`id` null). */
interface Scope {
  id: string | null;
  partner: Partner | undefined;
  /** The tab's path; the channel forms post under it. */
  base: string;
}

/**
 * The Alerts tab of a partner (its channels and alert history) and the operators' page of
 * broken and global channels. Each form is checked by the API's own rules and refused beside
 * itself, as typed, with a 400; the answer is the page, so the typed URL (itself a credential
 * for Teams and Slack) is never kept anywhere.
 */
export function alertsPages(options: {
  config: Config;
  services: Services;
  queues: JobQueues;
  page: PageContext;
}): Router {
  const { config, services, queues, page } = options;
  const { viewerOf, takeFlash, back, partnerFor } = page;
  const router = Router();
  const deps = {
    notificationChannels: services.notificationChannels,
    partners: services.partners,
    queues,
    config,
  };
  const rules = channelRules(config);

  const partnerScope = async (req: Request): Promise<Scope> => {
    const partner = await partnerFor(req);
    return { id: partner.id, partner, base: `/partners/${partner.id}/alerts` };
  };
  const globalScope = (): Promise<Scope> =>
    Promise.resolve({ id: null, partner: undefined, base: '/operator/alerts' });

  const channelIn = async (scope: Scope, req: Request) => {
    const id = String(req.params.channelId);
    const channel = z.uuid().safeParse(id).success
      ? await services.notificationChannels.get(scope.id, id)
      : undefined;
    if (!channel) throw new HttpError(404, 'not_found', 'No such notification channel.');
    return channel;
  };

  async function alertRows(partnerId: string): Promise<AlertRow[]> {
    return (await services.alerts.history(partnerId)).map(({ alert, deliveries }) => {
      const described = describeAlert(alert.event, alert.partnerId, alert.details);
      return {
        id: alert.id,
        title: described.title,
        severity: alert.severity,
        raisedAt: alert.raisedAt,
        resolvedAt: alert.resolvedAt,
        path: described.path,
        deliveries,
      };
    });
  }

  /** The page of a scope: with a refused form (400) or, after a creation, the secret once. */
  async function show(req: Request, res: Response, scope: Scope, refused?: RefusedForm) {
    const channels = await services.notificationChannels.list(scope.id);
    let newSecret: { host: string; secret: string } | undefined;
    if (!refused && req.session.secretToShow) {
      const created = channels.find((c) => c.id === req.session.secretToShow);
      const secret = created && services.notificationChannels.target(created).signingSecret;
      if (created && secret) newSecret = { host: destinationOf(created), secret };
      delete req.session.secretToShow;
    }
    // A page holding a secret is not kept by the browser's cache or a proxy's.
    res.set('Cache-Control', 'no-store');
    res.status(refused ? 400 : 200).type('html');
    const shared = {
      viewer: viewerOf(req),
      base: scope.base,
      channels,
      newSecret,
      refused,
      flash: refused ? undefined : takeFlash(req),
      schedule: {
        hourUtc: config.queues.alertDigestHourUtc,
        next: nextDigestTime(new Date(), config.queues.alertDigestHourUtc),
      },
    };
    if (scope.partner) {
      res.send(
        html(
          <AlertsPage
            {...shared}
            heading="Notification channels"
            empty="No channels yet: alerts are only listed in the history below."
            partner={scope.partner}
            alerts={await alertRows(scope.partner.id)}
          />,
        ),
      );
      return;
    }
    const [broken, partners] = await Promise.all([
      services.notificationChannels.broken(),
      services.partners.list(),
    ]);
    const byId = new Map(partners.map((p) => [p.id, p]));
    res.send(
      html(
        <OperatorAlertsPage
          {...shared}
          heading="Global channels"
          intro="Global channels receive the alerts of every partner, beside the partner’s own channels."
          empty="No global channels yet."
          broken={broken.map((channel) => ({
            channel,
            partner: channel.partnerId ? byId.get(channel.partnerId) : undefined,
          }))}
        />,
      ),
    );
  }

  /**
   * Runs a form's change and leads back to the page with what it did; what the API would
   * refuse with a 4xx is shown beside the form instead, the form filled as it was sent.
   */
  async function change(
    req: Request,
    res: Response,
    scope: Scope,
    form: string,
    run: () => Promise<string>,
  ) {
    let done: string;
    try {
      done = await run();
    } catch (error) {
      let message: string;
      if (error instanceof z.ZodError) message = invalidRequestSentence(error);
      else if (error instanceof HttpError && error.status < 500 && error.status !== 404)
        message = error.message;
      else throw error;
      const fields = keptFields(bodyOf(req));
      return show(req, res, scope, { partnerId: scope.id ?? '', form, message, fields });
    }
    back(req, res, scope.base, done);
  }

  const scopes: [string, RequestHandler[], (req: Request) => Promise<Scope>][] = [
    ['/partners/:id/alerts', [signedIn], partnerScope],
    ['/operator/alerts', [signedIn, operatorsOnly], globalScope],
  ];
  for (const [base, guards, scopeOf] of scopes) {
    const channelPath = `${base}/channels/:channelId`;

    router.get(base, ...guards, async (req, res) => {
      await show(req, res, await scopeOf(req));
    });

    router.post(`${base}/channels`, ...guards, async (req, res) => {
      const scope = await scopeOf(req);
      const body = bodyOf(req);
      await change(req, res, scope, 'add-channel', async () => {
        const kind = text(body.kind);
        const input = await rules.input(
          newChannel.parse({
            kind,
            // An email channel has addresses where the others have a URL.
            ...(kind === 'email' ? { addresses: addressesOf(body) } : { url: text(body.url) }),
            events: eventsOf(body),
            notifyResolved: ticked(body.notifyResolved),
            digest: ticked(body.digest),
          }),
        );
        const { channel, signingSecret } = await services.notificationChannels.create(
          scope.id,
          input,
          req.user!.email,
        );
        if (signingSecret) req.session.secretToShow = channel.id;
        return `Added the ${kindLabels[channel.kind]} channel to ${destinationOf(channel)}.`;
      });
    });

    router.post(channelPath, ...guards, async (req, res) => {
      const scope = await scopeOf(req);
      const channel = await channelIn(scope, req);
      const body = bodyOf(req);
      await change(req, res, scope, `channel-${channel.id}`, async () => {
        const changes = await rules.change(
          channel,
          channelChange.parse({
            // Blank keeps the saved URL or addresses, which the form does not show again.
            ...(channel.kind === 'email'
              ? { addresses: text(body.addresses) ? addressesOf(body) : undefined }
              : { url: text(body.url) || undefined }),
            events: eventsOf(body),
            notifyResolved: ticked(body.notifyResolved),
            digest: ticked(body.digest),
          }),
        );
        const saved = await changeChannel(deps, scope.id, channel.id, changes, req.user!.email);
        if (!saved) throw new HttpError(404, 'not_found', 'No such notification channel.');
        return `Saved the channel to ${destinationOf(saved.channel)}.${saved.released ? ` ${saved.released}` : ''}`;
      });
    });

    router.post(`${channelPath}/test`, ...guards, async (req, res) => {
      const scope = await scopeOf(req);
      const channel = await channelIn(scope, req);
      const { ok, outcome } = await testChannel(deps, channel, scope.id, req.user!.email);
      const to = destinationOf(channel);
      back(
        req,
        res,
        scope.base,
        ok ? `Test message sent to ${to}. ${outcome}` : `The test to ${to} failed: ${outcome}`,
      );
    });

    router.post(`${channelPath}/fixed`, ...guards, async (req, res) => {
      const scope = await scopeOf(req);
      const channel = await channelIn(scope, req);
      const saved = await changeChannel(
        deps,
        scope.id,
        channel.id,
        { broken: false },
        req.user!.email,
      );
      back(
        req,
        res,
        scope.base,
        `Marked the channel to ${destinationOf(channel)} as fixed: alerts are sent to it again.${saved?.released ? ` ${saved.released}` : ''}`,
      );
    });

    router.get(`${channelPath}/delete`, ...guards, async (req, res) => {
      const scope = await scopeOf(req);
      const channel = await channelIn(scope, req);
      res
        .type('html')
        .send(
          html(
            <DeleteChannelPage
              viewer={viewerOf(req)}
              partner={scope.partner}
              base={scope.base}
              channel={channel}
            />,
          ),
        );
    });

    router.post(`${channelPath}/delete`, ...guards, async (req, res) => {
      const scope = await scopeOf(req);
      const channel = await channelIn(scope, req);
      const deleted = await services.notificationChannels.delete(
        scope.id,
        channel.id,
        req.user!.email,
      );
      const unsent = unsentSentence(deleted?.unsent ?? 0);
      back(
        req,
        res,
        scope.base,
        `Deleted the channel to ${destinationOf(channel)}.${unsent ? ` ${unsent}` : ''}`,
      );
    });
  }

  return router;
}
