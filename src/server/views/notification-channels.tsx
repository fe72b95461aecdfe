import { alertEvents, type AlertEventName } from '../../domain/alert-events.js';
import { digestHourLabel } from '../../domain/digest-schedule.js';
import { webhookKinds, type ChannelKind } from '../../domain/webhook-messages.js';
import type { NotificationChannel } from '../../store/alerts.js';
import { Csrf, Page, when, type Viewer } from './layout.js';
import { EventChoice, Flags, type DigestSchedule } from './channel-fields.js';
import { keptList, keptValue, Refusal, type RefusedForm } from './refused-form.js';

/** How the pages name each kind of channel; the kind list itself is the API's. */
export const kindLabels: Record<ChannelKind, string> = {
  webhook: 'Generic webhook (signed JSON)',
  teams: 'Microsoft Teams',
  slack: 'Slack',
  email: 'Email',
};

/** Every kind a channel can be, in the order the form offers them. */
const channelKinds: readonly ChannelKind[] = [...webhookKinds, 'email'];

/**
 * Where a channel sends, as the pages may show it: the URL's host only, never the whole URL
 * (a Teams or Slack URL is itself the credential).
 */
export const destinationOf = (channel: NotificationChannel) => channel.urlHost;

const eventsTaken = (events: AlertEventName[] | null) =>
  events === null ? (
    'All events'
  ) : (
    <ul class="plain small">
      {events.map((e) => (
        <li>{alertEvents[e].about}</li>
      ))}
    </ul>
  );

function ChannelRow(props: {
  viewer: Viewer;
  base: string;
  channel: NotificationChannel;
  refused: RefusedForm | undefined;
  schedule: DigestSchedule;
}) {
  const { viewer, channel: c } = props;
  const path = `${props.base}/channels/${c.id}`;
  const refused = props.refused?.form === `channel-${c.id}` ? props.refused : undefined;
  return [
    <tr class="channel" data-testid="channel">
      <td data-label="Kind">{kindLabels[c.kind]}</td>
      <td data-label="Sends to">{destinationOf(c)}</td>
      <td data-label="Events">{eventsTaken(c.events)}</td>
      <td data-label="Resolved messages">{c.notifyResolved ? 'On' : 'Off'}</td>
      <td data-label="Daily digest" data-testid="channel-digest">
        {c.digest ? (
          <>
            On: daily at {digestHourLabel(props.schedule.hourUtc)}
            <br />
            <span class="small muted">next {when(props.schedule.next)}</span>
          </>
        ) : (
          'Off'
        )}
      </td>
      <td data-label="State" data-testid="channel-state">
        {c.brokenAt ? (
          <span class="bad">
            Broken since {when(c.brokenAt)}: {c.brokenReason}
          </span>
        ) : (
          <span class="ok">OK</span>
        )}
      </td>
      <td data-label="Change" class="nowrap">
        <form method="post" action={`${path}/test`} class="small-form">
          <Csrf token={viewer.csrfToken} />
          <button type="submit">Send a test</button>
        </form>
        {c.brokenAt ? (
          <form method="post" action={`${path}/fixed`} class="small-form">
            <Csrf token={viewer.csrfToken} />
            <button type="submit">Mark as fixed</button>
          </form>
        ) : null}
        <p class="small-form">
          <a href={`${path}/delete`}>Delete…</a>
        </p>
      </td>
    </tr>,
    // The edit form gets the table's whole width: thirteen events do not fit in a cell.
    <tr class="edit-row">
      <td colSpan={7}>
        <details id={`channel-${c.id}`} open={refused !== undefined}>
          <summary>Edit the channel to {destinationOf(c)}</summary>
          <Refusal refused={refused} />
          <form method="post" action={path}>
            <Csrf token={viewer.csrfToken} />
            {c.kind === 'email' ? (
              <label>
                New addresses <span class="muted">(blank: keep the current ones)</span>
                <textarea name="addresses" rows={2}>
                  {keptValue(refused, 'addresses')}
                </textarea>
              </label>
            ) : (
              <label>
                New URL <span class="muted">(blank: keep the current one)</span>
                <input
                  type="text"
                  name="url"
                  autocomplete="off"
                  value={keptValue(refused, 'url')}
                />
              </label>
            )}
            <EventChoice chosen={keptList(refused, 'events', c.events)} />
            <Flags
              refused={refused}
              notifyResolved={c.notifyResolved}
              digest={c.digest}
              schedule={props.schedule}
            />
            <button type="submit">Save</button>
          </form>
        </details>
      </td>
    </tr>,
  ];
}

export interface ChannelsSectionProps {
  viewer: Viewer;
  /** The section's heading: a partner's channels, or the operators' global ones. */
  heading: string;
  /** What the section says about its channels before listing them, if anything. */
  intro?: string | undefined;
  /** What it says when there are none. */
  empty: string;
  /** Where the forms post: a partner's `/partners/:id/alerts`, or `/operator/alerts`. */
  base: string;
  channels: NotificationChannel[];
  /** The signing secret of the generic webhook this session just created: shown this once. */
  newSecret?: { host: string; secret: string } | undefined;
  /** The form the server just refused, shown again as it was sent. */
  refused?: RefusedForm | undefined;
  /** When digests go, shown beside each channel's digest setting. */
  schedule: DigestSchedule;
}

/** The channels, the form adding one, and a new webhook's signing secret right after it. */
export function ChannelsSection(props: ChannelsSectionProps) {
  const { viewer, base, channels } = props;
  const add = props.refused?.form === 'add-channel' ? props.refused : undefined;
  return (
    <section aria-labelledby="channels">
      <h2 id="channels">{props.heading}</h2>
      {props.intro ? <p class="muted">{props.intro}</p> : null}
      {props.newSecret ? (
        <div class="notice" data-testid="signing-secret">
          <p>
            The signing secret of the new webhook to {props.newSecret.host}. Copy it now: it is
            shown this once.
          </p>
          <p>
            <code data-testid="signing-secret-value">{props.newSecret.secret}</code>
          </p>
          <p class="small">
            Each request carries <code>License-Sync-Timestamp</code> and{' '}
            <code>License-Sync-Signature</code>. To verify it, compute HMAC-SHA256, keyed by this
            secret, of the timestamp, a full stop and the raw body: the signature is{' '}
            <code>v1=</code> and its hex digits. Compare in constant time, and refuse a timestamp
            more than 5 minutes from your clock. The code is in docs/alerts.md, “Verifying a generic
            webhook’s signature”.
          </p>
        </div>
      ) : null}
      {channels.length === 0 ? (
        <p class="muted" data-testid="no-channels">
          {props.empty}
        </p>
      ) : (
        <table class="stack" data-testid="channels">
          <thead>
            <tr>
              <th scope="col">Kind</th>
              <th scope="col">Sends to</th>
              <th scope="col">Events</th>
              <th scope="col">Resolved messages</th>
              <th scope="col">Daily digest</th>
              <th scope="col">State</th>
              <th scope="col">Change</th>
            </tr>
          </thead>
          <tbody>
            {channels.map((c) => (
              <ChannelRow
                viewer={viewer}
                base={base}
                channel={c}
                refused={props.refused}
                schedule={props.schedule}
              />
            ))}
          </tbody>
        </table>
      )}
      <details id="add-channel" open={add !== undefined}>
        <summary>Add a channel</summary>
        <Refusal refused={add} />
        <form method="post" action={`${base}/channels`}>
          <Csrf token={viewer.csrfToken} />
          <label>
            Kind
            <select name="kind">
              {channelKinds.map((kind) => (
                <option value={kind} selected={keptValue(add, 'kind') === kind}>
                  {kindLabels[kind]}
                </option>
              ))}
            </select>
          </label>
          <label>
            URL{' '}
            <span class="muted">
              (for Teams and Slack, the incoming webhook’s; only its host is shown afterwards)
            </span>
            <input type="text" name="url" autocomplete="off" value={keptValue(add, 'url')} />
          </label>
          <label>
            Email addresses{' '}
            <span class="muted">(for Email: one per line, or separated by commas)</span>
            <textarea name="addresses" rows={2}>
              {keptValue(add, 'addresses')}
            </textarea>
          </label>
          <EventChoice chosen={keptList(add, 'events', null)} />
          <Flags refused={add} notifyResolved={true} digest={false} schedule={props.schedule} />
          <button type="submit" class="primary">
            Add the channel
          </button>
        </form>
      </details>
    </section>
  );
}

/** Asks before a channel is deleted: a second form, so it works without script. */
export function DeleteChannelPage(props: {
  viewer: Viewer;
  partner: { id: string; name: string } | undefined;
  base: string;
  channel: NotificationChannel;
}) {
  const { viewer, channel } = props;
  return (
    <Page
      title="Delete a channel"
      viewer={viewer}
      partner={props.partner}
      current={props.partner ? 'alerts' : 'operator'}
    >
      <h1>Delete a channel</h1>
      <section>
        <p>
          Delete the {kindLabels[channel.kind]} channel sending to {destinationOf(channel)}? Nothing
          more is sent to it, and its deliveries leave the alert history.
        </p>
        <form method="post" action={`${props.base}/channels/${channel.id}/delete`} class="actions">
          <Csrf token={viewer.csrfToken} />
          <button type="submit" class="primary">
            Delete the channel
          </button>
          <a class="button" href={props.base}>
            Cancel
          </a>
        </form>
      </section>
    </Page>
  );
}
