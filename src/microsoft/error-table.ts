// The one table of Microsoft's errors: each AADSTS, MSAL, Partner Center and Graph code (by
// where it was answered) to its kind and the sentence the partner sees, and the sentences
// steps pick for failures only they can word. Reading an upstream answer or exception into
// a classified error is errors.ts's part.

/**
 * transient: retry with backoff (honouring Retry-After).
 * permanent: this tenant (or this attempt) fails now; retrying cannot help.
 * needs_reconsent: the partner's consent no longer works; stop and ask for consent again.
 * no_access: the partner cannot reach this customer tenant (GDAP, the app's consent there):
 * not a failure to retry, and no consent problem; it comes back once access is fixed.
 */
type ErrorKind = 'transient' | 'permanent' | 'needs_reconsent' | 'no_access';
export type MicrosoftService = 'identity' | 'partnerCenter' | 'graph';

export interface MicrosoftFailure {
  kind: ErrorKind;
  service: MicrosoftService;
  /** Upstream code: AADSTS number, Partner Center code, Graph code, MSAL code, or HTTP status. */
  code: string;
  /** One sentence for the partner: what happened and what to do. */
  message: string;
  /** When Microsoft said how long to wait. */
  retryAfterMs?: number;
}

/**
 * Which grant made the failing call: the partner's Partner Center consent, or its
 * custom-license token. It picks what the partner is told to do again.
 */
export type Grant = 'partnerCenter' | 'customLicense';

/** An HTTP answer from Partner Center or Graph that was not a success. */
export interface HttpFailure {
  service: 'partnerCenter' | 'graph';
  status: number;
  /** Partner Center's `code` or Graph's `error.code`, when the body had one. */
  code: string | undefined;
  retryAfterMs: number | undefined;
}

/** Where the call went: the partner's own tenant, or one customer tenant. */
export type CallScope = 'partner' | 'customer';
/** Sign-in calls also redeem a consent's authorization code, at the partner's tenant. */
export type IdentityScope = CallScope | 'authorizationCode';

/** What the partner must do again, in the words of the grant that failed. */
interface Again {
  /** Begins a sentence: "Grant Partner Center consent again". */
  start: string;
  /** Inside a sentence: "grant Partner Center consent again". */
  clause: string;
  /** After a Partner Center role refusal. */
  asAdminAgent: string;
}

const again: Record<Grant, Again> = {
  partnerCenter: {
    start: 'Grant Partner Center consent again',
    clause: 'grant Partner Center consent again',
    asAdminAgent: 'grant consent again with an Admin Agent account',
  },
  customLicense: {
    start: 'Generate the custom-license token again',
    clause: 'generate the custom-license token again',
    asAdminAgent: 'generate the token again',
  },
};

/** A sentence for the partner: fixed, or built around what to do again. */
type Sentence = string | ((again: Again) => string);
const reconsent = (a: Again) => `${a.start}.`;
export const say = (sentence: Sentence, grant: Grant) =>
  typeof sentence === 'string' ? sentence : sentence(again[grant]);
/** A consent's authorization code Microsoft no longer redeems (used, expired). */
export const codeExpired = 'Consent expired — grant it again.';
export const unexpectedSentence = 'An unexpected error occurred talking to Microsoft; retrying.';
export const unreachableSentence = 'Microsoft could not be reached; retrying.';
export const signInBusySentence =
  "The partner's Microsoft sign-in was busy with other customers for too long; retrying.";
const notInCustomerTenant =
  'The consenting account is a guest in this customer tenant, or in no GDAP security group for it: remove the guest account there, or add the account to the GDAP group that holds the needed roles.';
const noActiveRelationship =
  'The consenting account cannot sign in to this customer tenant: the partner has no active GDAP relationship with it, or the account is a guest there. Ask the customer to approve a GDAP relationship (or remove the guest account).';
const appNotConsentedThere =
  "The app is not consented in this customer tenant: consent it through Partner Center (the access page's app consent), then refresh the customer.";
/**
 * Sentences a step picks for a failure only it can word: with what it knows (the account, the
 * subscription, the reason already given), never by editing a sentence itself.
 */
const serviceNames: Record<MicrosoftService, string> = {
  identity: 'Microsoft sign-in',
  partnerCenter: 'Partner Center',
  graph: 'Microsoft Graph',
};

export const stepSentences = {
  /** A consent attempt whose Microsoft calls stayed unavailable through its last retry. */
  consentUnavailable:
    'Microsoft was unavailable while completing the consent. Grant consent again.',
  /** Partner Center's 900421 during the consent's checks, naming the account to fix. */
  partnerCenterMfaFor: (upn: string) =>
    `Partner Center requires multi-factor authentication for ${upn}. Enable MFA on this account, then grant consent again.`,
  /** A new custom-license token whose validation stayed unavailable through its last retry. */
  customLicenseCheckUnavailable:
    'Microsoft was unavailable while checking the custom-license token. Generate it again.',
  /** A new custom-license token refused for `reason` while the usable one in use stays. */
  tokenInUseKept: (reason: string, upn: string) => `${reason} The token in use (${upn}) is kept.`,
  /** A custom license the token cannot count, for `reason`. */
  willFailToUpdate: (reason: string) => `Will fail to update: ${reason}`,
  /** Every customer tenant tried refused the token; `lastRefusal` is the last one's sentence. */
  noCustomerTenantReached: (lastRefusal: string) =>
    `No customer tenant gave the token access: ${lastRefusal}`,
  /** A provisioning status without the SKU id: the subscription's seats cannot be joined. */
  subscriptionSkuUnknown: (subscriptionId: string, product: string) =>
    `Partner Center did not give the product of subscription ${subscriptionId} (${product}), so this customer's seats were not recorded. Retry the customer.`,
  /** The download link of a usage report answered with a failure. */
  reportDownloadFailed: (status: number) =>
    `Microsoft's report download answered HTTP ${status}; retrying.`,
  /** Graph refused the mailbox usage report in a customer tenant for good. */
  mailboxReportRefused: (code: string) =>
    `Microsoft Graph refused the mailbox usage report in this customer tenant (${code}): the custom-license token needs the Reports.Read.All permission, and the partner's access a role that may read usage reports (Global Reader, Reports Reader or Exchange Administrator).`,
  /** A usage report that is not CSV; `detail` is the parser's account of where. */
  reportNotCsv: (detail: string) => `The usage report is not valid CSV: ${detail}`,
  /** A mailbox usage report without a column the count reads. */
  reportColumnMissing: (column: string) => `The mailbox usage report has no "${column}" column.`,
  /** A customer whose job was lost (its worker died, Redis lost it) with no outcome. */
  customerJobLost: 'The refresh of this customer was interrupted. Retry it.',
  /** Auto-extend asked of a Microsoft-led transition relationship (read-only). */
  autoExtendMicrosoftLed: (relationship: string) =>
    `The relationship '${relationship}' is a Microsoft-led transition (MLT_), which cannot be changed: ask the customer to approve a new GDAP relationship with the roles you need, and turn on its auto-extend.`,
  /** Auto-extend asked of a relationship that holds Global Administrator. */
  autoExtendGlobalAdministrator: (relationship: string) =>
    `The relationship '${relationship}' includes Global Administrator, which Microsoft never auto-extends: ask the customer to approve a relationship without it (Directory Readers and Reports Reader are enough here), and turn on its auto-extend.`,
  /** Auto-extend asked of a relationship that is not active. */
  autoExtendNotActive: (relationship: string, status: string) =>
    `The relationship '${relationship}' is ${status}, not active: only an active relationship can auto-extend.`,
  /** The relationship changed between our read and our change (If-Match refused). */
  relationshipChanged: (relationship: string) =>
    `The relationship '${relationship}' changed while auto-extend was being turned on: try again.`,
  /** Microsoft refused auto-extend for a reason of its own; `reason` is the table's sentence. */
  autoExtendRefused: (relationship: string, reason: string) =>
    `Microsoft refused to turn on auto-extend for '${relationship}': ${reason}`,
  /** No relationship of the partner has this id. */
  relationshipUnknown: (relationshipId: string) =>
    `The partner has no GDAP relationship ${relationshipId}.`,
  /** A transient failure on the last attempt: nothing retries it any more. */
  failedEveryAttempt: (service: MicrosoftService, code: string, next: 'customer' | 'run') =>
    `${serviceNames[service]} failed on every attempt (${code}). ${next === 'customer' ? 'Retry this customer.' : 'Start the refresh again.'}`,
} as const;

/**
 * A transient failure met on the job's last attempt, in words that promise no retry (its
 * sentence says "retrying"); other kinds are unchanged.
 */
export function lastAttemptFailure(
  failure: MicrosoftFailure,
  next: 'customer' | 'run',
): MicrosoftFailure {
  if (failure.kind !== 'transient') return failure;
  return {
    ...failure,
    message: stepSentences.failedEveryAttempt(failure.service, failure.code, next),
  };
}

/**
 * The sentence a consent attempt ends with on a failure of its Microsoft calls; `account`
 * names the signed-in account once known, for the sentences that tell it what to fix.
 */
export function consentEndSentence(failure: MicrosoftFailure, account?: string): string {
  if (failure.kind === 'transient') return stepSentences.consentUnavailable;
  if (account && failure.service === 'partnerCenter' && failure.code === '900421') {
    return stepSentences.partnerCenterMfaFor(account);
  }
  return failure.message;
}
/** Partner Center's words for a call the user's agent role may not make. */
const partnerCenterRoleRefusal =
  'The supplied role does not have the rights to perform the requested operation';

type Rule = { kind: ErrorKind; message: Sentence };

/**
 * The one table: AADSTS codes (MSAL's errorNo) by where they were answered. The same code
 * from one customer tenant fails that tenant only; from the partner's tenant it stops the
 * partner until consent is granted again.
 */
const aadsts: Record<number, { partner: Rule; customer?: Rule; authorizationCode?: Rule }> = {
  50076: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) =>
        `Microsoft now requires multi-factor authentication for this account. ${reconsent(a)}`,
    },
    customer: {
      kind: 'permanent',
      message:
        "This customer tenant's policies (Conditional Access) require a fresh multi-factor sign-in for the partner's access.",
    },
  },
  50079: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) =>
        `The consenting account must register for multi-factor authentication. ${reconsent(a)}`,
    },
    customer: {
      kind: 'permanent',
      message:
        "This customer tenant's policies require the consenting account to register for multi-factor authentication.",
    },
  },
  50173: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) =>
        `The consent was revoked (password reset or sessions revoked). ${reconsent(a)}`,
    },
  },
  700082: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) => `The consent expired after 90 days without use. ${reconsent(a)}`,
    },
  },
  70008: {
    partner: { kind: 'needs_reconsent', message: (a) => `The consent expired. ${reconsent(a)}` },
    authorizationCode: { kind: 'permanent', message: codeExpired },
  },
  70000: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) => `The stored consent is no longer valid. ${reconsent(a)}`,
    },
  },
  54005: {
    partner: {
      kind: 'permanent',
      message: 'This consent link was already used. Grant consent again.',
    },
    authorizationCode: { kind: 'permanent', message: codeExpired },
  },
  9002313: {
    partner: { kind: 'permanent', message: codeExpired },
    authorizationCode: { kind: 'permanent', message: codeExpired },
  },
  65001: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) => `The app lacks consent for what it asked. ${reconsent(a)}`,
    },
    customer: { kind: 'no_access', message: appNotConsentedThere },
  },
  90099: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) => `The app is not authorized in the partner tenant. ${reconsent(a)}`,
    },
    customer: { kind: 'no_access', message: appNotConsentedThere },
  },
  50020: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) =>
        `The consenting account does not belong to this partner tenant. ${reconsent(a)}`,
    },
    customer: { kind: 'no_access', message: noActiveRelationship },
  },
  50177: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) =>
        `Microsoft refused the consenting account's pass-through sign-in. ${reconsent(a)}`,
    },
    customer: { kind: 'no_access', message: notInCustomerTenant },
  },
  50078: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) =>
        `The consenting account's multi-factor authentication is older than your Conditional Access policy allows. ${a.start}, signing in with MFA.`,
    },
    customer: {
      kind: 'permanent',
      message:
        "This customer tenant's Conditional Access requires a fresher multi-factor sign-in than the partner's consent has; ask the customer to exclude service provider users from that policy.",
    },
  },
  70043: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) =>
        `Your Conditional Access sign-in frequency policy ended the consent's session. Exclude the consenting account from the sign-in frequency policy (or lengthen it), then ${a.clause}.`,
    },
    customer: {
      kind: 'permanent',
      message:
        "This customer tenant's Conditional Access sign-in frequency policy refuses the partner's long-lived consent; ask the customer to exclude service provider users from it.",
    },
  },
  53003: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) =>
        `Conditional Access in your tenant blocks the consenting account from this app. Exclude the account from the blocking policy, then ${a.clause}.`,
    },
    customer: {
      kind: 'permanent',
      message:
        "Conditional Access in this customer tenant blocks the partner's access; ask the customer's admin to exclude service provider users from the policy.",
    },
  },
  530034: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) =>
        `Microsoft blocks the consenting account as a delegated admin because it is at risk in your tenant. Remediate the account's risk (Microsoft Entra ID Protection), then ${a.clause}.`,
    },
    customer: {
      kind: 'permanent',
      message:
        "This customer tenant blocks the partner's delegated admin access because the consenting account is at risk in the partner's tenant; remediate the account's risk in Microsoft Entra ID Protection.",
    },
  },
  5000224: {
    partner: {
      kind: 'needs_reconsent',
      message: (a) =>
        `Microsoft says the partner's tenant is not available (deleted). ${a.start} with an account of the partner's current tenant.`,
    },
    customer: {
      kind: 'permanent',
      message:
        'Microsoft says this customer tenant is not available (deleted); remove the company or link it to its new tenant.',
    },
  },
  7000215: {
    partner: {
      kind: 'permanent',
      message: "The app's client secret is wrong: an operator must fix MICROSOFT_CLIENT_SECRET.",
    },
  },
  7000222: {
    partner: {
      kind: 'permanent',
      message:
        "The app's client secret expired: an operator must set a new MICROSOFT_CLIENT_SECRET.",
    },
  },
  700016: {
    partner: {
      kind: 'permanent',
      message: 'The app registration was not found: an operator must check MICROSOFT_CLIENT_ID.',
    },
  },
};

/** Partner Center answers by status, refined by code. */
function partnerCenterRule(f: HttpFailure, scope: CallScope): Rule {
  if (f.status === 429)
    return { kind: 'transient', message: 'Partner Center asked us to slow down; retrying.' };
  if (f.status >= 500 || f.status === 408)
    return { kind: 'transient', message: 'Partner Center is unavailable; retrying.' };
  if (f.status === 401 && f.code === '900421')
    return {
      kind: 'needs_reconsent',
      message: `Partner Center requires multi-factor authentication: enable MFA on the consenting account, then grant consent again.`,
    };
  if (f.status === 401)
    return {
      kind: 'needs_reconsent',
      message: (a) => `Partner Center refused the consent's token. ${reconsent(a)}`,
    };
  // For one customer: GDAP gives the account no role that reads it (or no relationship).
  if (f.status === 403 && f.code === '20002' && scope === 'customer')
    return {
      kind: 'no_access',
      message:
        "Partner Center refused this customer's licenses (20002): the consenting account holds no GDAP role here that reads them (Directory Readers, Global Reader, User Administrator or License Administrator), or the partner has no relationship with this customer.",
    };
  if (f.status === 403 && f.code === '20002')
    return {
      kind: 'permanent',
      message: 'The partner has no commerce relationship with this customer in Partner Center.',
    };
  // One customer refused: that customer fails alone, whichever of the two it was.
  if (f.status === 403 && scope === 'customer')
    return {
      kind: 'permanent',
      message: `Partner Center refused this customer's data: the consenting account's role may lack the right ("${partnerCenterRoleRefusal}"; licenses need an Admin Agent), or the partner has no commerce relationship with this customer.`,
    };
  if (f.status === 403)
    return {
      kind: 'needs_reconsent',
      message: (a) =>
        `The consenting account's Partner Center role lacks the right for this call ("${partnerCenterRoleRefusal}"): ${a.asAdminAgent}.`,
    };
  if (f.status === 404)
    return { kind: 'permanent', message: 'Partner Center does not know this customer.' };
  return { kind: 'permanent', message: `Partner Center refused the request (HTTP ${f.status}).` };
}

/** Partner Center's and Graph's non-success answers. */
export function httpRule(f: HttpFailure, scope: CallScope): Rule {
  return f.service === 'partnerCenter' ? partnerCenterRule(f, scope) : graphRule(f, scope);
}

function graphRule(f: HttpFailure, scope: CallScope): Rule {
  if (f.status === 429 || f.status === 503 || f.status === 504 || f.status >= 500)
    return { kind: 'transient', message: 'Microsoft Graph is busy; retrying.' };
  if (f.status === 401)
    return {
      kind: 'transient',
      message: 'Microsoft Graph refused the token; retrying with a new one.',
    };
  if (f.status === 403 && scope === 'partner')
    return {
      kind: 'needs_reconsent',
      message: (a) =>
        `Microsoft Graph refused access: the consent lacks a permission. ${reconsent(a)}`,
    };
  if (f.status === 403)
    return {
      kind: 'permanent',
      message:
        'Microsoft Graph refused access in this customer tenant (missing role or permission).',
    };
  return {
    kind: 'permanent',
    message: `Microsoft Graph refused the request (${f.code ?? `HTTP ${f.status}`}).`,
  };
}

/** Socket errors that mean Microsoft could not be reached (retried), not a bad answer. */
const transientNetworkCodes = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ECONNABORTED',
  'EAI_AGAIN',
  'EPIPE',
  'ENOTFOUND',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
]);
export const isTransientNetworkCode = (code: string) => transientNetworkCodes.has(code);

/** A classification whose sentence is still to be worded for the grant. */
type Unworded = Omit<MicrosoftFailure, 'message'> & { message: Sentence };

/** What an MSAL error says: Entra's AADSTS number (when Entra answered) and MSAL's code. */
interface IdentityAnswer {
  errorNo?: unknown;
  errorCode: string;
}

/** MSAL's answers: by AADSTS code first, then by MSAL's error code. */
export function identityRule(error: IdentityAnswer, scope: IdentityScope): Unworded {
  const errorNo = Number(error.errorNo);
  const rule = aadsts[errorNo];
  if (rule) {
    const chosen = (scope !== 'partner' && rule[scope]) || rule.partner;
    return { ...chosen, service: 'identity', code: `AADSTS${errorNo}` };
  }
  // Any other refusal of the partner's own grant: only a new consent helps.
  if (error.errorCode === 'invalid_grant' && scope === 'partner') {
    const code = Number.isFinite(errorNo) ? `AADSTS${errorNo}` : 'invalid_grant';
    return {
      kind: 'needs_reconsent',
      service: 'identity',
      code,
      message: (a) => `Microsoft no longer accepts the stored consent (${code}). ${reconsent(a)}`,
    };
  }
  if (error.errorCode === 'invalid_grant') {
    const code = Number.isFinite(errorNo) ? `AADSTS${errorNo}` : 'invalid_grant';
    return {
      kind: 'permanent',
      service: 'identity',
      code,
      message: `Microsoft refused the partner's access to this customer tenant (${code}).`,
    };
  }
  if (error.errorCode === 'no_tokens_found' || error.errorCode === 'refresh_token_expired') {
    return {
      kind: 'needs_reconsent',
      service: 'identity',
      code: error.errorCode,
      message: (a) => `No usable refresh token is stored. ${reconsent(a)}`,
    };
  }
  if (
    [
      'temporarily_unavailable',
      'server_error',
      'network_error',
      'endpoints_resolution_error',
      'openid_config_error',
    ].includes(error.errorCode)
  ) {
    return {
      kind: 'transient',
      service: 'identity',
      code: error.errorCode,
      message: 'Microsoft sign-in is unavailable; retrying.',
    };
  }
  if (
    scope === 'customer' &&
    ['interaction_required', 'consent_required', 'login_required'].includes(error.errorCode)
  ) {
    return {
      kind: 'permanent',
      service: 'identity',
      code: error.errorCode,
      message: `This customer tenant asks for an interactive sign-in (${error.errorCode}).`,
    };
  }
  if (
    error.errorCode === 'interaction_required' ||
    error.errorCode === 'consent_required' ||
    error.errorCode === 'login_required'
  ) {
    return {
      kind: 'needs_reconsent',
      service: 'identity',
      code: error.errorCode,
      message: (a) => `Microsoft asks the account to sign in again. ${reconsent(a)}`,
    };
  }
  return {
    kind: 'permanent',
    service: 'identity',
    code: error.errorCode || 'unknown',
    message: `Microsoft sign-in refused the request (${error.errorCode}).`,
  };
}

/** The sentence a partner sees for an error Entra sent back instead of a code. */
export function consentErrorMessage(
  rawError: string,
  rawDescription: string | undefined,
  subcode?: string,
): string {
  // Whatever arrives here is stored and shown: no control characters (PostgreSQL refuses NUL).
  const error = printable(rawError).slice(0, 128);
  const description = rawDescription === undefined ? undefined : printable(rawDescription);
  if (error === 'access_denied' || subcode === 'cancel') {
    return 'Consent was cancelled at Microsoft, so nothing changed. Click Grant Partner Center Consent to try again.';
  }
  const aadstsCode = /AADSTS(\d+)/.exec(description ?? '')?.[0];
  const first = (description ?? '')
    .split(/\r?\n/)[0]
    ?.replace(/^AADSTS\d+:\s*/, '')
    .slice(0, 300);
  return `Microsoft could not complete the consent (${aadstsCode ?? error})${first ? `: ${first}` : '.'} Try again, or contact support with this code.`;
}

// Control characters (NUL among them, which PostgreSQL refuses in text) become spaces.
const printable = (text: string) =>
  [...text]
    .map((c) =>
      (c.charCodeAt(0) < 32 && c !== '\n' && c !== '\r' && c !== '\t') || c === '\u007f' ? ' ' : c,
    )
    .join('');
