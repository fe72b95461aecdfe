/** What the alert history says of a delivery its broken channel holds (pending, no job). */
export const waitingForFixSentence = 'Waiting for the channel to be fixed.';

/**
 * What the history says of an email sent while the server refused some of its recipients: which,
 * and each one's reply (e.g. "550 5.1.1 mailbox unavailable"). Addresses are not secret.
 */
export function refusedRecipientsSentence(
  refused: readonly { address: string; reply: string }[],
  recipients: number,
): string {
  const list = refused.map((r) => (r.reply ? `${r.address} (${r.reply})` : r.address));
  return `The mail server refused ${refused.length} of ${recipients} recipients: ${list.join('; ')}.`;
}
