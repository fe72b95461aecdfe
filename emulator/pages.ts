import type { PartnerUser } from './tenants.js';
import { describeScope } from './scopes.js';
import type { EmulatorState, PendingAuthorization } from './state.js';

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const style = `
  body { font-family: "Segoe UI", system-ui, sans-serif; background: #f2f2f2; margin: 0; }
  main { background: #fff; max-width: 440px; margin: 48px auto; padding: 44px; box-shadow: 0 2px 6px rgba(0,0,0,.2); }
  h1 { font-size: 24px; font-weight: 600; margin: 0 0 16px; }
  .brand { color: #737373; font-size: 15px; margin-bottom: 16px; }
  button { font: inherit; padding: 6px 24px; min-height: 32px; border: 1px solid #8c8c8c; background: #fff; cursor: pointer; }
  button.primary { background: #0067b8; border-color: #0067b8; color: #fff; }
  ul.accounts { list-style: none; padding: 0; } ul.accounts li { margin: 8px 0; }
  ul.accounts button { width: 100%; text-align: left; padding: 10px 12px; }
  .hint { color: #605e5c; font-size: 13px; } .error { color: #a80000; }
  .actions { display: flex; gap: 8px; justify-content: flex-end; margin-top: 24px; }`;

function layout(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${style}</style></head>
<body><main><div class="brand">Microsoft (emulator)</div>${body}</main></body></html>`;
}

const roleNames = {
  AdminAgents: 'Admin Agent',
  SalesAgents: 'Sales Agent',
  HelpdeskAgents: 'Helpdesk Agent',
};

function roleHint(roles: (keyof typeof roleNames)[]): string {
  return roles.map((r) => ` · ${roleNames[r]}`).join('');
}

/** "Pick an account": one button per scenario user. */
export function signInPage(
  pending: PendingAuthorization,
  state: EmulatorState,
  error?: string,
): string {
  const users = state.directory.partners.flatMap((p) => p.users);
  const items = users
    .map(
      (u) =>
        `<li><button type="submit" name="upn" value="${escape(u.upn)}">${escape(u.displayName)}<br><span class="hint">${escape(u.upn)}${u.mfa ? '' : ' · no MFA'}${roleHint(state.directory.rolesOf(u))}</span></button></li>`,
    )
    .join('');
  return layout(
    'Sign in to your account',
    `<h1>Pick an account</h1>${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/${escape(pending.tenant)}/oauth2/v2.0/authorize/signin">
<input type="hidden" name="flow" value="${escape(pending.id)}">
<ul class="accounts" aria-label="Accounts">${items}</ul></form>`,
  );
}

/** "Permissions requested" with Accept and Cancel. */
export function consentPage(
  pending: PendingAuthorization,
  user: PartnerUser,
  base: string,
): string {
  const scopes = pending.scopes.map((s) => `<li>${escape(describeScope(s))}</li>`).join('');
  return layout(
    'Permissions requested',
    `<p class="hint">${escape(user.upn)}</p><h1>Permissions requested</h1>
<p>This application would like to:</p><ul aria-label="Requested permissions">${scopes}</ul>
<p class="hint">Accepting these permissions means that you allow this app to use your data as specified in their terms of service and privacy statement.</p>
<form method="post" action="${escape(base)}/oauth2/v2.0/authorize/consent">
<input type="hidden" name="flow" value="${escape(pending.id)}">
<div class="actions"><button type="submit" name="decision" value="cancel">Cancel</button>
<button type="submit" name="decision" value="accept" class="primary">Accept</button></div></form>`,
  );
}

/** response_mode=form_post: the browser posts the result to the redirect URI. */
export function formPostPage(redirectUri: string, params: Record<string, string>): string {
  const inputs = Object.entries(params)
    .map(([k, v]) => `<input type="hidden" name="${escape(k)}" value="${escape(v)}">`)
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Working...</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="${escape(redirectUri)}">${inputs}
<noscript><p>Script is disabled. Click Submit to continue.</p><button type="submit">Submit</button></noscript></form></body></html>`;
}

export function errorPage(message: string): string {
  return layout(
    'Sign in',
    `<h1>Sorry, but we're having trouble signing you in.</h1><p class="error" role="alert">${escape(message)}</p>`,
  );
}
