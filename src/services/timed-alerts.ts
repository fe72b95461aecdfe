import type { Config } from '../../config/index.js';
import type { ServiceDeps } from '../dependencies.js';
import { scheduledRefreshToCheck } from '../domain/run-schedule.js';
import { scheduledRefreshHourUtc } from '../queue/catalog.js';
import { enqueueAlertDeliveries } from './alert-delivery.js';

/** What the time-based alerts read and write. */
type TimedAlertDeps = Pick<
  ServiceDeps,
  'customLicenses' | 'lateRuns' | 'subscriptions' | 'queues'
> & {
  config: Pick<Config, 'runAlerts'>;
};

/** Raises runNotStarted for the latest scheduled refresh whose grace has passed at `now`. */
function alertRefreshesNotStarted(deps: TimedAlertDeps, now: Date): Promise<string[]> {
  const graceMs = deps.config.runAlerts.notStartedGraceMinutes * 60_000;
  return deps.lateRuns.alertNotStarted(
    scheduledRefreshToCheck(now, scheduledRefreshHourUtc, graceMs),
  );
}

/** Raises runNotFinished for the runs open longer than the limit at `now`. */
function alertRunsNotFinished(deps: TimedAlertDeps, now: Date): Promise<string[]> {
  const limitMs = deps.config.runAlerts.notFinishedHours * 3_600_000;
  return deps.lateRuns.alertNotFinished(new Date(now.getTime() - limitMs));
}

/**
 * The reconciler's pass over the alerts that time raises, as of `now`: the custom-license token
 * nearing its limit, a scheduled refresh that did not start, a run that does not end, and
 * cancellation windows closing soon. Each key (a date, a run) makes each one raised once, however
 * often this runs. Queues the deliveries and answers how many.
 */
export async function keepTimedAlerts(deps: TimedAlertDeps, now: Date): Promise<number> {
  const deliveries = [
    ...(await deps.customLicenses.keepExpiringAlerts(now)),
    ...(await alertRefreshesNotStarted(deps, now)),
    ...(await alertRunsNotFinished(deps, now)),
    ...(await deps.subscriptions.keepRenewalWindowAlerts(now)),
  ];
  await enqueueAlertDeliveries(deps.queues, deliveries);
  return deliveries.length;
}
