import { alertEventNames, alertEvents } from '../../domain/alert-events.js';
import { digestHourLabel } from '../../domain/digest-schedule.js';
import { keptValue, type RefusedForm } from './refused-form.js';

/** The fields a channel's add and edit forms share: the events it takes, and its flags. */

/** A ticked checkbox, or what the refused form had. */
const ticked = (refused: RefusedForm | undefined, name: string, saved: boolean) =>
  keptValue(refused, name, saved ? 'on' : '') === 'on';

/** The events a channel takes: none ticked means every event, including ones added later. */
export function EventChoice(props: { chosen: string[] | null }) {
  return (
    <fieldset class="choice">
      <legend class="small">Events (none ticked: every event, including those added later)</legend>
      {alertEventNames.map((name) => (
        <label class="small check">
          <input
            type="checkbox"
            name="events"
            value={name}
            checked={props.chosen?.includes(name) ?? false}
          />{' '}
          {alertEvents[name].about} <span class="muted">({alertEvents[name].severity})</span>
        </label>
      ))}
    </fieldset>
  );
}

/** When the daily digest goes (ALERT_DIGEST_HOUR_UTC), and the next one from now. */
export interface DigestSchedule {
  hourUtc: number;
  next: Date;
}

/** The flags both forms carry: a "resolved" message, and the daily digest. */
export function Flags(props: {
  refused: RefusedForm | undefined;
  notifyResolved: boolean;
  digest: boolean;
  schedule: DigestSchedule;
}) {
  return (
    <>
      <label class="check">
        <input
          type="checkbox"
          name="notifyResolved"
          checked={ticked(props.refused, 'notifyResolved', props.notifyResolved)}
        />{' '}
        Send a message when the alert is resolved
      </label>
      <label class="check">
        <input
          type="checkbox"
          name="digest"
          checked={ticked(props.refused, 'digest', props.digest)}
        />{' '}
        Collect non-critical alerts into a daily digest, sent at{' '}
        {digestHourLabel(props.schedule.hourUtc)}
      </label>
    </>
  );
}
