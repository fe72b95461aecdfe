import { AuthError } from '@azure/msal-node';
import { ProgrammingError } from '../programming-error.js';
import { LockUnavailableError } from '../queue/partition-lock.js';
import {
  httpRule,
  identityRule,
  isTransientNetworkCode,
  say,
  signInBusySentence,
  unexpectedSentence,
  unreachableSentence,
  type CallScope,
  type Grant,
  type HttpFailure,
  type IdentityScope,
  type MicrosoftFailure,
  type MicrosoftService,
} from './error-table.js';
import { TransportError } from '../http-client.js';

// Reading what Microsoft answered (an MSAL exception, a Partner Center or Graph answer, a
// socket error) into a classified error, by the rules of error-table.ts.

/** A failed Microsoft call, already classified. Thrown by our clients; data, not strings. */
export class MicrosoftError extends Error {
  constructor(
    readonly failure: MicrosoftFailure,
    /** The sentence for a call made with another grant, when it differs. */
    private readonly sentenceFor?: (grant: Grant) => string,
    /** What went wrong, for the logs only (the partner reads `failure.message`). */
    detail?: string,
  ) {
    super(`${failure.service} ${failure.code}: ${detail ?? failure.message}`);
    this.name = 'MicrosoftError';
  }

  /** The failure in the words of the grant that made the call. */
  failureFor(grant: Grant): MicrosoftFailure {
    return this.sentenceFor ? { ...this.failure, message: this.sentenceFor(grant) } : this.failure;
  }
}

/** A non-success HTTP answer of Partner Center or Graph, classified, as the error to throw. */
export function httpFailureError(failure: HttpFailure, scope: CallScope): MicrosoftError {
  return new MicrosoftError(
    classifyHttpFailure(failure, scope),
    (grant) => classifyHttpFailure(failure, scope, grant).message,
  );
}

/** A success answer we cannot use (not the shape Microsoft documents): retried. */
export function unexpectedAnswer(service: MicrosoftService, detail: string): MicrosoftError {
  return new MicrosoftError(
    { kind: 'transient', service, code: 'unexpected_answer', message: unexpectedSentence },
    undefined,
    detail,
  );
}

/** A success answer's JSON body; one that is not JSON is an unexpected answer (retried), not a bug. */
export function answerJson<T>(service: MicrosoftService, text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw unexpectedAnswer(service, `${what} answered a success that is not JSON`);
  }
}

/**
 * Classifies any error from a Microsoft call, once, by its codes (MSAL's errorNo and
 * errorCode, Partner Center's and Graph's codes), not by its class: invalid_grant arrives
 * as a ServerError and as an InteractionRequiredAuthError alike. The grant that made the call
 * picks the words of what to do again.
 *
 * Only errors of Microsoft calls are classified (ours, MSAL's, the transport's). Any other
 * error is a bug: it is thrown as a ProgrammingError, which fails the job without retries.
 */
export function classifyMicrosoftError(
  error: unknown,
  scope: IdentityScope = 'partner',
  grant: Grant = 'partnerCenter',
): MicrosoftFailure {
  if (error instanceof MicrosoftError) return error.failureFor(grant);
  if (error instanceof AuthError) {
    const rule = identityRule(error, scope);
    return { ...rule, message: say(rule.message, grant) };
  }
  if (error instanceof TransportError) {
    const reached = error.code !== undefined && isTransientNetworkCode(error.code);
    return {
      kind: 'transient',
      service: 'identity',
      code: (reached && error.code) || 'unknown',
      message: reached ? unreachableSentence : unexpectedSentence,
    };
  }
  // A socket error of a call made outside our HTTP client (MSAL's own network module).
  const code = (error as { code?: unknown })?.code;
  if (typeof code === 'string' && isTransientNetworkCode(code)) {
    return {
      kind: 'transient',
      service: 'identity',
      code,
      message: unreachableSentence,
    };
  }
  // The partner's sign-in was busy with its other customers' token calls: wait and retry.
  if (error instanceof LockUnavailableError) {
    return {
      kind: 'transient',
      service: 'identity',
      code: 'sign_in_busy',
      message: signInBusySentence,
    };
  }
  if (error instanceof ProgrammingError) throw error;
  throw new ProgrammingError('not an error of a Microsoft call', error);
}

/** Classifies a non-success HTTP answer of Partner Center or Graph. */
export function classifyHttpFailure(
  failure: HttpFailure,
  scope: CallScope,
  grant: Grant = 'partnerCenter',
): MicrosoftFailure {
  const rule = httpRule(failure, scope);
  return {
    kind: rule.kind,
    message: say(rule.message, grant),
    service: failure.service,
    code: failure.code ?? String(failure.status),
    ...(failure.retryAfterMs !== undefined ? { retryAfterMs: failure.retryAfterMs } : {}),
  };
}
