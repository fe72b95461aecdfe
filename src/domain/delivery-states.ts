/** What the alert history says of a delivery its broken channel holds (pending, no job). */
export const waitingForFixSentence = 'Waiting for the channel to be fixed.';
