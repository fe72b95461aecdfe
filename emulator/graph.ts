// Stays whole: one router for the emulated Graph API (its costs and membership are in graph-*.ts).
import { randomUUID } from 'node:crypto';
import { Router, type Request, type Response } from 'express';
import {
  subscribedSkus,
  transitiveUserIds,
  type Customer,
  type CustomerDetail,
  type DirectoryUser,
} from './tenants.js';
import { sendGraphError, sendGraphThrottled } from './errors.js';
import { gdapAllows, gdapRolesOf, type RoleNeed } from './gdap.js';
import { gdapRoutes } from './graph-gdap.js';
import { chargeGraphRequest } from './graph-limits.js';
import { membershipRoutes } from './graph-membership.js';
import { graphNextLink } from './graph-paging.js';
import { answerMailboxUsageDetail } from './reports.js';
import type { EmulatorState } from './state.js';
import { graphAppId, resources, verifyAccessToken, type AccessTokenClaims } from './tokens.js';

const metadata = 'https://graph.microsoft.com/v1.0/$metadata';

/** Delegated permissions that allow each kind of read (any one suffices). */
const permissions = {
  me: ['User.Read', 'User.ReadWrite', 'User.Read.All', 'Directory.Read.All'],
  skus: ['Organization.Read.All', 'Directory.Read.All', 'Organization.ReadWrite.All'],
  users: ['User.Read.All', 'User.ReadBasic.All', 'Directory.Read.All', 'User.ReadWrite.All'],
  groups: ['GroupMember.Read.All', 'Group.Read.All', 'Directory.Read.All'],
  mailbox: ['MailboxSettings.Read', 'MailboxSettings.ReadWrite'],
};

interface Caller {
  claims: AccessTokenClaims;
  /** The tenant the token is for: the partner's own, or a customer's. */
  customer: Customer | undefined;
}

function userResource(u: DirectoryUser, select: string[] | undefined) {
  const [given, surname] = u.displayName.split(' ');
  const full: Record<string, unknown> = {
    businessPhones: [],
    displayName: u.displayName,
    givenName: given ?? null,
    jobTitle: null,
    mail: u.mailbox === 'none' ? null : u.upn,
    mobilePhone: null,
    officeLocation: null,
    preferredLanguage: null,
    surname: surname ?? null,
    userPrincipalName: u.upn,
    id: u.id,
    assignedLicenses: u.licenses.map((skuId) => ({ disabledPlans: [], skuId })),
    accountEnabled: true,
  };
  const keys = select ?? [
    'businessPhones',
    'displayName',
    'givenName',
    'jobTitle',
    'mail',
    'mobilePhone',
    'officeLocation',
    'preferredLanguage',
    'surname',
    'userPrincipalName',
    'id',
  ];
  return Object.fromEntries(keys.filter((k) => k in full).map((k) => [k, full[k]]));
}

/** The $filter forms the emulator understands on /users. */
function userFilter(
  filter: string | undefined,
): ((u: DirectoryUser) => boolean) | 'unsupported' | undefined {
  if (!filter) return undefined;
  const f = filter.trim();
  if (/^assignedLicenses\/\$count\s+ne\s+0$/i.test(f)) return (u) => u.licenses.length > 0;
  if (/^assignedLicenses\/\$count\s+eq\s+0$/i.test(f)) return (u) => u.licenses.length === 0;
  const ends = /^endswith\(userPrincipalName,\s*'([^']*)'\)$/i.exec(f);
  if (ends) return (u) => u.upn.endsWith(ends[1]!.toLowerCase());
  const sku = /^assignedLicenses\/any\(x:\s*x\/skuId\s+eq\s+([0-9a-f-]{36})\)$/i.exec(f);
  if (sku) return (u) => u.licenses.includes(sku[1]!.toLowerCase());
  return 'unsupported';
}

/** Graph's answer to a delegated token reading another user's mailbox. */
const mailboxAccessDenied = 'Access is denied. Check credentials and try again.';

/**
 * Microsoft Graph v1.0: me, subscribedSkus, users (advanced queries), groups, the signed-in
 * user's mailbox settings, and the mailbox usage report.
 */
export function graphRouter(state: EmulatorState): Router {
  const router = Router();

  router.use((req, res, next) => {
    res.set('request-id', randomUUID());
    res.set('client-request-id', req.get('client-request-id') ?? randomUUID());
    void (async () => {
      const header = req.get('authorization') ?? '';
      const token = header.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : undefined;
      if (!token)
        return sendGraphError(res, 401, 'InvalidAuthenticationToken', 'Access token is empty.');
      const claims = await verifyAccessToken(
        state.keys,
        token,
        [resources.graph, graphAppId],
        state.now(),
      );
      if (!claims)
        return sendGraphError(
          res,
          401,
          'InvalidAuthenticationToken',
          'Access token validation failure. Invalid audience, signature or lifetime.',
        );
      const home = claims.idp ? /\/([0-9a-f-]{36})\/$/.exec(claims.idp)?.[1] : claims.tid;
      res.locals.tenantId = claims.tid;
      res.locals.partnerTenantId = home;
      const customer = claims.tid === home ? undefined : state.directory.customer(claims.tid);
      const charge = chargeGraphRequest(state, {
        appId: claims.appid,
        tenantId: claims.tid,
        tenantUsers: customer
          ? state.directory.detail(customer).users.length
          : (state.directory.partner(claims.tid)?.users.length ?? 0),
        method: req.method,
        path: req.path,
        query: req.query,
      });
      res.set(charge.headers);
      if (charge.waitMs > 0)
        return sendGraphThrottled(res, Math.max(1, Math.ceil(charge.waitMs / 1000)));
      res.locals.caller = { claims, customer } satisfies Caller;
      next();
    })();
  });

  const callerOf = (res: Response) => res.locals.caller as Caller;
  const allowed = (res: Response, needed: string[]) => {
    const scopes = callerOf(res).claims.scp.split(' ');
    if (needed.some((p) => scopes.includes(p))) return true;
    sendGraphError(
      res,
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
    );
    return false;
  };
  /**
   * In a customer tenant, whether the user's GDAP roles there allow this kind of read; else
   * Graph's 403. The partner's own tenant is not role-checked here.
   */
  const roleAllows = (res: Response, need: RoleNeed) => {
    const { claims, customer } = callerOf(res);
    if (!customer) return true;
    const user = state.directory.userByOid(claims.oid);
    if (user && gdapAllows(gdapRolesOf(state.directory, user, customer, state.now()), need))
      return true;
    sendGraphError(
      res,
      403,
      'Authorization_RequestDenied',
      'Insufficient privileges to complete the operation.',
    );
    return false;
  };
  /** The customer directory the token is for; the partner's own tenant is served as empty. */
  const directoryOf = (res: Response): CustomerDetail => {
    const customer = callerOf(res).customer;
    return customer
      ? state.directory.detail(customer)
      : { subscriptions: [], users: [], deletedUsers: [], groups: [] };
  };
  const eventual = (req: Request) => req.get('ConsistencyLevel')?.toLowerCase() === 'eventual';
  const unsupportedQuery = (res: Response) =>
    sendGraphError(
      res,
      400,
      'Request_UnsupportedQuery',
      'Unsupported Query. This query is an advanced query: try adding $count=true query parameter and ConsistencyLevel:eventual header.',
    );

  /**
   * Mailbox settings through a delegated token: the signed-in user's only; any other user's
   * is refused with ErrorAccessDenied whatever the caller's roles. The partner's user has a
   * mailbox in its own tenant, none in a customer's.
   */
  const mailboxSettings = (res: Response, key: string, property: string | undefined) => {
    if (!allowed(res, permissions.mailbox)) return;
    const { claims, customer } = callerOf(res);
    const self = key === 'me' || key === claims.oid || key === claims.upn.toLowerCase();
    if (!self) return sendGraphError(res, 403, 'ErrorAccessDenied', mailboxAccessDenied);
    if (customer)
      return sendGraphError(
        res,
        404,
        'MailboxNotEnabledForRESTAPI',
        'The mailbox is either inactive, soft-deleted, or is hosted on-premise.',
      );
    const settings: Record<string, unknown> = {
      archiveFolder: null,
      timeZone: 'UTC',
      language: { locale: 'en-US', displayName: 'English (United States)' },
      userPurpose: 'user',
      delegateMeetingMessageDeliveryOptions: 'sendToDelegateOnly',
    };
    const context = `${metadata}#users('${claims.oid}')/mailboxSettings`;
    if (!property) return void res.json({ '@odata.context': context, ...settings });
    if (!(property in settings))
      return sendGraphError(
        res,
        400,
        'BadRequest',
        `Could not find a property named '${property}' on type 'microsoft.graph.mailboxSettings'.`,
      );
    res.json({ '@odata.context': `${context}/${property}`, value: settings[property] });
  };

  router.get(/^\/me\/mailboxSettings(\/.*)?$/i, (req, res) => {
    const property = /^\/me\/mailboxSettings(?:\/([^/]+))?/i.exec(req.path)?.[1];
    mailboxSettings(res, 'me', property);
  });

  membershipRoutes(router, state);
  gdapRoutes(router, state);

  router.get('/me', (_req, res) => {
    if (!allowed(res, permissions.me)) return;
    const { claims } = callerOf(res);
    const user = state.directory.userByOid(claims.oid);
    if (!user)
      return sendGraphError(
        res,
        404,
        'Request_ResourceNotFound',
        `Resource '${claims.oid}' does not exist.`,
      );
    res.json({
      '@odata.context': `${metadata}#users/$entity`,
      ...userResource(
        {
          id: user.oid,
          upn: user.upn,
          displayName: user.displayName,
          licenses: [],
          mailbox: 'user',
          mailboxCreatedDaysAgo: 365,
        },
        undefined,
      ),
    });
  });

  router.get('/subscribedSkus', (_req, res) => {
    if (!allowed(res, permissions.skus) || !roleAllows(res, 'directory')) return;
    const tenantId = callerOf(res).claims.tid;
    res.json({
      '@odata.context': `${metadata}#subscribedSkus`,
      value: subscribedSkus(directoryOf(res)).map((s) => ({
        accountName: tenantId.slice(0, 8),
        accountId: tenantId,
        appliesTo: 'User',
        capabilityStatus: s.activeUnits > 0 ? 'Enabled' : 'Suspended',
        consumedUnits: s.consumedUnits,
        id: `${tenantId}_${s.sku.skuId}`,
        prepaidUnits: {
          enabled: s.activeUnits,
          lockedOut: 0,
          suspended: s.suspendedUnits,
          warning: s.warningUnits,
        },
        servicePlans: [],
        skuId: s.sku.skuId,
        skuPartNumber: s.sku.skuPartNumber,
        subscriptionIds: [],
      })),
    });
  });

  // Functions with parameters in the path: matched on the decoded path, names in any case.
  router.get(/^\/reports\//i, (req, res) => {
    const path = decodeURIComponent(req.path);
    const report = /^\/reports\/getMailboxUsageDetail\(period='([^']*)'\)$/i.exec(path);
    if (!report)
      return sendGraphError(
        res,
        400,
        'BadRequest',
        `Resource not found for the segment '${path.split('/')[2] ?? ''}'.`,
      );
    const { claims, customer } = callerOf(res);
    const partnerUser = state.directory.userByOid(claims.oid);
    answerMailboxUsageDetail(
      state,
      req,
      res,
      {
        tenantId: claims.tid,
        scopes: claims.scp.split(' '),
        detail: directoryOf(res),
        concealNames: customer?.concealedNamesInReports ?? true,
        // Through GDAP the partner's role in the customer tenant; at home, Admin Agents.
        mayReadReports: customer
          ? partnerUser !== undefined &&
            gdapAllows(gdapRolesOf(state.directory, partnerUser, customer, state.now()), 'reports')
          : partnerUser !== undefined &&
            state.directory.rolesOf(partnerUser).includes('AdminAgents'),
      },
      report[1]!,
    );
  });

  // Graph's $count segments and OData casts do not fit route patterns: match by hand.
  router.get(/^\/users(\/.*)?$/, (req, res) => {
    // Mailbox settings need only MailboxSettings.Read(Write), as in Graph.
    const settings = /^\/users\/([^/]+)\/mailboxSettings(?:\/([^/]+)(?:\/.*)?)?$/i.exec(req.path);
    if (settings)
      return mailboxSettings(res, decodeURIComponent(settings[1]!).toLowerCase(), settings[2]);
    if (!allowed(res, permissions.users) || !roleAllows(res, 'directory')) return;
    const rest = req.path.slice('/users'.length);
    const detail = directoryOf(res);
    const filter = userFilter(
      typeof req.query.$filter === 'string' ? req.query.$filter : undefined,
    );
    if (filter === 'unsupported') return unsupportedQuery(res);
    const advanced = filter !== undefined;
    const matching = filter ? detail.users.filter(filter) : detail.users;

    if (rest === '/$count') {
      if (!eventual(req)) return unsupportedQuery(res);
      res.type('text/plain').send(String(matching.length));
      return;
    }
    if (rest === '' || rest === '/') {
      const count = req.query.$count === 'true';
      if (advanced && (!count || !eventual(req))) return unsupportedQuery(res);
      const top = Math.min(Number(req.query.$top ?? 100) || 100, 999);
      const skip = req.query.$skiptoken
        ? Number(
            Buffer.from(
              typeof req.query.$skiptoken === 'string' ? req.query.$skiptoken : '',
              'base64url',
            ).toString(),
          )
        : 0;
      const select =
        typeof req.query.$select === 'string'
          ? req.query.$select.split(',').map((s) => s.trim())
          : undefined;
      const page = matching.slice(skip, skip + top);
      const body: Record<string, unknown> = { '@odata.context': `${metadata}#users` };
      // Like Graph, the count comes with the first page only.
      if (count && skip === 0) body['@odata.count'] = matching.length;
      body.value = page.map((u) => userResource(u, select));
      if (skip + top < matching.length) {
        body['@odata.nextLink'] = graphNextLink(req, '/users', skip + top);
      }
      res.json(body);
      return;
    }
    const match = /^\/([^/]+)$/.exec(rest);
    const key = match ? decodeURIComponent(match[1]!).toLowerCase() : '';
    const user = detail.users.find((u) => u.id === key || u.upn === key);
    if (!match || !user)
      return sendGraphError(
        res,
        404,
        'Request_ResourceNotFound',
        `Resource '${key}' does not exist or one of its queried reference-property objects are not present.`,
      );
    res.json({ '@odata.context': `${metadata}#users/$entity`, ...userResource(user, undefined) });
  });

  router.get(/^\/groups(\/.*)?$/, (req, res) => {
    if (!allowed(res, permissions.groups) || !roleAllows(res, 'directory')) return;
    const detail = directoryOf(res);
    const rest = req.path.slice('/groups'.length);
    if (rest === '' || rest === '/') {
      const filter = typeof req.query.$filter === 'string' ? req.query.$filter : undefined;
      const byName = filter ? /^displayName\s+eq\s+'((?:[^']|'')*)'$/i.exec(filter.trim()) : null;
      if (filter && !byName) return unsupportedQuery(res);
      const name = byName?.[1]?.replace(/''/g, "'");
      const groups = detail.groups.filter((g) => name === undefined || g.displayName === name);
      res.json({
        '@odata.context': `${metadata}#groups`,
        value: groups.map((g) => ({
          id: g.id,
          displayName: g.displayName,
          securityEnabled: true,
          mailEnabled: false,
        })),
      });
      return;
    }
    const match =
      /^\/([0-9a-f-]{36})(\/(members|transitiveMembers)(\/microsoft\.graph\.user)?\/\$count)?$/i.exec(
        rest,
      );
    const group = match ? detail.groups.find((g) => g.id === match[1]!.toLowerCase()) : undefined;
    if (!match || !group)
      return sendGraphError(
        res,
        404,
        'Request_ResourceNotFound',
        `Resource '${rest.slice(1)}' does not exist or one of its queried reference-property objects are not present.`,
      );
    if (!match[2]) {
      res.json({
        '@odata.context': `${metadata}#groups/$entity`,
        id: group.id,
        displayName: group.displayName,
      });
      return;
    }
    if (!eventual(req)) return unsupportedQuery(res);
    const usersOnly = Boolean(match[4]);
    let count: number;
    if (match[3] === 'members') {
      count = group.memberUserIds.length + (usersOnly ? 0 : group.memberGroupIds.length);
    } else {
      const users = transitiveUserIds(detail, group.id).size;
      const nestedGroups = new Set<string>();
      const walk = (id: string) => {
        for (const g of detail.groups.find((x) => x.id === id)?.memberGroupIds ?? []) {
          if (!nestedGroups.has(g)) {
            nestedGroups.add(g);
            walk(g);
          }
        }
      };
      walk(group.id);
      count = users + (usersOnly ? 0 : nestedGroups.size);
    }
    res.type('text/plain').send(String(count));
  });

  return router;
}
