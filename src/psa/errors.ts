// A PSA's failure, classified once by the client that saw it, so the sync decides the same
// way whichever PSA answered.

export type PsaFailureKind =
  /** 5xx, timeouts, resets: retry with backoff. */
  | 'transient'
  /** 429 or a PSA's own threshold message: wait (retryAfterMs when given), then retry. */
  | 'rate_limited'
  /** The PSA refused the data: fail that company with the PSA's message, no retry. */
  | 'validation'
  /** The API member / resource / agent lacks a permission: fail, say which. */
  | 'permission'
  /** Wrong or revoked credentials, unknown company or zone: the connection is broken. */
  | 'credentials'
  /** The record is gone in the PSA. */
  | 'not_found';

export class PsaError extends Error {
  constructor(
    readonly kind: PsaFailureKind,
    /** The PSA's own message where it gave one, verbatim. */
    message: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'PsaError';
  }
}
