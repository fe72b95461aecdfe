import type { NotificationChannel } from '../../store/alerts.js';
import { Page, when } from './layout.js';
import {
  ChannelsSection,
  destinationOf,
  kindLabels,
  type ChannelsSectionProps,
} from './notification-channels.js';

export interface OperatorAlertsPageProps extends ChannelsSectionProps {
  /** Every broken channel, with its partner (none: an operators' global channel). */
  broken: { channel: NotificationChannel; partner: { id: string; name: string } | undefined }[];
  flash?: string | undefined;
}

/** The operators' alerts: broken channels across partners, and their own global channels. */
export function OperatorAlertsPage(props: OperatorAlertsPageProps) {
  const { viewer, broken } = props;
  return (
    <Page title="Alert channels" viewer={viewer} current="operator" wide>
      <h1>Alert channels</h1>
      {props.flash ? (
        <p class="notice" role="status" data-testid="flash">
          {props.flash}
        </p>
      ) : null}
      <section aria-labelledby="broken">
        <h2 id="broken">Broken channels</h2>
        {broken.length === 0 ? (
          <p class="muted" data-testid="no-broken-channels">
            No channel is broken.
          </p>
        ) : (
          <table class="stack" data-testid="broken-channels">
            <thead>
              <tr>
                <th scope="col">Partner</th>
                <th scope="col">Kind</th>
                <th scope="col">Sends to</th>
                <th scope="col">Reason</th>
                <th scope="col">Since</th>
              </tr>
            </thead>
            <tbody>
              {broken.map(({ channel, partner }) => (
                <tr data-testid="broken-channel">
                  <td data-label="Partner">
                    {partner ? (
                      <a href={`/partners/${partner.id}/alerts`}>{partner.name}</a>
                    ) : (
                      'Global (operators)'
                    )}
                  </td>
                  <td data-label="Kind">{kindLabels[channel.kind]}</td>
                  <td data-label="Sends to">{destinationOf(channel)}</td>
                  <td data-label="Reason" class="bad">
                    {channel.brokenReason}
                  </td>
                  <td data-label="Since" class="nowrap">
                    {when(channel.brokenAt)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <ChannelsSection {...props} />
    </Page>
  );
}
