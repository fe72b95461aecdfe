import type { AlertSeverity } from '../../domain/alert-events.js';
import { waitingForFixSentence } from '../../domain/delivery-states.js';
import type { ChannelKind } from '../../domain/webhook-messages.js';
import type { AlertDeliveryStatus } from '../../store/schema.js';
import { Page, when } from './layout.js';
import { ChannelsSection, kindLabels, type ChannelsSectionProps } from './notification-channels.js';

/** One alert of the history, described by the event catalog. */
export interface AlertRow {
  id: string;
  title: string;
  severity: AlertSeverity;
  raisedAt: Date;
  resolvedAt: Date | null;
  /** The page that fixes it. */
  path: string;
  deliveries: {
    channelKind: ChannelKind;
    channelHost: string;
    /** The alert itself, or the message saying it was resolved. */
    kind: 'raised' | 'resolved';
    status: AlertDeliveryStatus;
    attempts: number;
    /** A failure's reason; on a sent email, the recipients the mail server refused. */
    lastError: string | null;
    /** Set while the channel is broken: a pending delivery then waits for its fix. */
    channelBrokenAt: Date | null;
  }[];
}

const severityClass: Record<AlertSeverity, string> = {
  critical: 'bad',
  warning: 'warn',
  info: 'muted',
};

const attemptsWords = (n: number) => `${n} attempt${n === 1 ? '' : 's'}`;

/** What became of one message to one channel, with the receiver's answer when it failed. */
function deliveryWords(d: AlertRow['deliveries'][number]) {
  switch (d.status) {
    case 'sent':
      return (
        <span class="ok">
          sent ({attemptsWords(d.attempts)})
          {d.lastError ? <span class="warn">: {d.lastError}</span> : null}
        </span>
      );
    case 'failed':
      return (
        <span class="bad">
          failed after {attemptsWords(d.attempts)}: {d.lastError}
        </span>
      );
    default:
      if (d.channelBrokenAt) return <span class="warn">{waitingForFixSentence}</span>;
      return (
        <span class="warn">
          pending
          {d.attempts > 0 ? ` (${attemptsWords(d.attempts)} so far; last: ${d.lastError})` : ''}
        </span>
      );
  }
}

export interface AlertsPageProps extends ChannelsSectionProps {
  partner: { id: string; name: string };
  alerts: AlertRow[];
  flash?: string | undefined;
}

/** A partner's Alerts tab: where alerts go, and what was raised and delivered. */
export function AlertsPage(props: AlertsPageProps) {
  const { viewer, partner, alerts } = props;
  return (
    <Page title="Alerts" viewer={viewer} partner={partner} current="alerts" wide>
      <h1>{partner.name} · Alerts</h1>
      {props.flash ? (
        <p class="notice" role="status" data-testid="flash">
          {props.flash}
        </p>
      ) : null}
      <ChannelsSection {...props} />
      <AlertHistory alerts={alerts} />
    </Page>
  );
}

function AlertHistory({ alerts }: { alerts: AlertRow[] }) {
  return (
    <section aria-labelledby="history">
      <h2 id="history">Alert history</h2>
      {alerts.length === 0 ? (
        <p class="muted" data-testid="no-alerts">
          No alerts yet.
        </p>
      ) : (
        <table class="stack" data-testid="alerts">
          <thead>
            <tr>
              <th scope="col">Alert</th>
              <th scope="col">Severity</th>
              <th scope="col">Raised</th>
              <th scope="col">Resolved</th>
              <th scope="col">Deliveries</th>
            </tr>
          </thead>
          <tbody>
            {alerts.map((a) => (
              <tr data-testid="alert">
                <td data-label="Alert">
                  {a.title}
                  <br />
                  <a class="small" href={a.path}>
                    Go to the page that fixes it
                  </a>
                </td>
                <td data-label="Severity" class={severityClass[a.severity]}>
                  {a.severity}
                </td>
                <td data-label="Raised" class="nowrap">
                  {when(a.raisedAt)}
                </td>
                <td data-label="Resolved" class="nowrap">
                  {when(a.resolvedAt, 'not yet')}
                </td>
                <td data-label="Deliveries">
                  {a.deliveries.length === 0 ? (
                    <span class="muted">no channel takes this event</span>
                  ) : (
                    <ul class="plain small">
                      {a.deliveries.map((d) => (
                        <li data-testid="delivery">
                          {kindLabels[d.channelKind]} · {d.channelHost}
                          {d.kind === 'resolved' ? ', resolved message' : ''}: {deliveryWords(d)}
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
