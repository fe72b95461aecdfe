import type { Services } from '../dependencies.js';
import { jobIds } from '../queue/catalog.js';
import type { JobQueues } from '../queue/job-queues.js';
import type { NotificationChannel } from '../store/alerts.js';
import type { ChannelChange } from '../store/notification-channels.js';
import { enqueueAlertDeliveries, testSend, type SendConfig } from './alert-delivery.js';

/** What changing, testing and deleting a channel need: its store, and the queues a fix fills. */
type ChannelDeps = Pick<Services, 'notificationChannels' | 'partners'> & {
  queues: JobQueues;
  config: SendConfig;
};

/**
 * Queues the deliveries a fixed channel held. A job that ran while the channel was broken
 * ended (completed, the delivery left pending) and keeps its id for a day, so adding it again
 * would be ignored: that job is removed first. A job still waiting or running is left alone: it
 * finds the channel fixed. Job ids come from the rows, so a fix repeated at once adds nothing.
 */
async function queueReleasedDeliveries(
  queues: JobQueues,
  deliveryIds: readonly string[],
): Promise<void> {
  if (deliveryIds.length === 0) return;
  const ids = deliveryIds.map(jobIds.deliverAlert);
  const presence = await queues.presence('deliverAlert', ids).catch(() => undefined);
  // Redis away: the rows stay pending, and the reconciler queues the missing ones.
  if (!presence) return;
  const queue = queues.get('alerts');
  for (const [i, id] of ids.entries())
    if (presence[i] === 'ended') await queue.remove(id).catch(() => undefined);
  await enqueueAlertDeliveries(
    queues,
    deliveryIds.filter((_, i) => presence[i] !== 'live'),
  );
}

/** The sentence that says what a fix released. */
const releasedSentence = (n: number) =>
  n === 0
    ? ''
    : ` ${n === 1 ? 'The alert' : `The ${n} alerts`} held while it was broken ${n === 1 ? 'is' : 'are'} being sent.`;

/**
 * Saves a channel's change (the API's PATCH, the page's form, "mark as fixed") and, when it
 * fixes a broken channel, queues what the channel held. Answers the saved channel and a
 * sentence on what was released (empty when nothing was).
 */
export async function changeChannel(
  deps: ChannelDeps,
  scope: string | null,
  channelId: string,
  change: ChannelChange,
  actor: string,
): Promise<{ channel: NotificationChannel; released: string } | undefined> {
  const saved = await deps.notificationChannels.update(scope, channelId, change, actor);
  if (!saved) return undefined;
  await queueReleasedDeliveries(deps.queues, saved.released);
  return { channel: saved.channel, released: releasedSentence(saved.released.length).trim() };
}

/**
 * A channel's test-send; when it succeeds on a broken channel, the receiver works again and
 * the channel is fixed, as "mark as fixed" would (the answer then says so, with `fixed`).
 */
export async function testChannel(
  deps: ChannelDeps,
  channel: NotificationChannel,
  scope: string | null,
  actor: string,
): Promise<{ ok: boolean; outcome: string; fixed?: true }> {
  const result = await testSend(deps, channel.id, scope);
  if (!result.ok || !channel.brokenAt) return result;
  const changed = await changeChannel(deps, scope, channel.id, { broken: false }, actor);
  if (!changed) return result;
  return {
    ok: true,
    outcome: `${result.outcome} The channel is fixed.${changed.released ? ` ${changed.released}` : ''}`,
    fixed: true,
  };
}

/** What a deleted channel's unsent deliveries come to, in a sentence (empty when none). */
export const unsentSentence = (unsent: number) =>
  unsent === 0
    ? ''
    : `${unsent === 1 ? 'One alert message' : `${unsent} alert messages`} waiting for it ${unsent === 1 ? 'was' : 'were'} not sent.`;
