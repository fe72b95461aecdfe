import express, { Router } from 'express';
import { sendEntraError } from './errors.js';
import { authorize, consent, signIn } from './identity-authorize.js';
import { originOf, partnerOf, resolveTenant, single } from './identity-request.js';
import { token } from './identity-token.js';
import { errorPage } from './pages.js';
import type { EmulatorState } from './state.js';

/**
 * The identity platform's endpoints: discovery, keys, authorize with its sign-in and consent
 * pages, token, logout.
 */
export function identityRouter(state: EmulatorState): Router {
  const router = Router();
  const form = express.urlencoded({ extended: false, limit: '64kb' });

  // Instance discovery: MSAL asks it only for hosts it neither knows nor was told to trust.
  router.get('/common/discovery/instance', (req, res) => {
    const host = req.get('host') ?? 'localhost';
    res.json({
      tenant_discovery_endpoint: `${originOf(req)}/common/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  });

  router.get('/:tenant/v2.0/.well-known/openid-configuration', (req, res) => {
    const tenant = resolveTenant(state, req.params.tenant);
    res.locals.tenantId = tenant?.id;
    res.locals.partnerTenantId = partnerOf(tenant);
    if (!tenant) {
      sendEntraError(res, 400, 'invalid_tenant', 90002, `Tenant '${req.params.tenant}' not found.`);
      return;
    }
    const origin = originOf(req);
    const issuerTenant = tenant.kind === 'multi' ? '{tenantid}' : tenant.id;
    const base = `${origin}/${tenant.kind === 'multi' ? tenant.id : tenant.id}`;
    res.json({
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: [
        'client_secret_post',
        'private_key_jwt',
        'client_secret_basic',
      ],
      jwks_uri: `${base}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${origin}/${issuerTenant}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${origin}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      code_challenge_methods_supported: ['plain', 'S256'],
      claims_supported: [
        'sub',
        'iss',
        'aud',
        'exp',
        'iat',
        'auth_time',
        'acr',
        'nonce',
        'preferred_username',
        'name',
        'tid',
        'ver',
        'at_hash',
        'c_hash',
        'email',
      ],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      msgraph_host: 'graph.microsoft.com',
    });
  });

  router.get('/:tenant/discovery/v2.0/keys', (req, res) => {
    res.locals.tenantId = resolveTenant(state, req.params.tenant)?.id;
    res.json({ keys: [state.keys.jwk] });
  });

  router.get('/:tenant/oauth2/v2.0/authorize', (req, res) => authorize(state, req, res));

  router.post('/:tenant/oauth2/v2.0/authorize/signin', form, (req, res) => signIn(state, req, res));

  router.post('/:tenant/oauth2/v2.0/authorize/consent', form, (req, res) =>
    consent(state, req, res),
  );

  router.post('/:tenant/oauth2/v2.0/token', form, (req, res) => {
    void token(state, req, res).catch((error: unknown) => {
      sendEntraError(res, 500, 'server_error', 50000, `Internal error: ${String(error)}`);
    });
  });

  router.get('/:tenant/oauth2/v2.0/logout', (req, res) => {
    const target = single(req.query.post_logout_redirect_uri);
    if (target) res.redirect(target);
    else res.type('html').send(errorPage('You signed out of your account.'));
  });

  return router;
}
