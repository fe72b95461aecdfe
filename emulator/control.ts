import express, { Router } from 'express';
import { z } from 'zod';
import { appConsentOf } from './directory.js';
import { currentEnd, directoryRoles, effectiveStatus, etagOf } from './gdap.js';
import {
  appConsentSchema,
  faultSchema,
  relationshipSchema,
  parseScenario,
  ScenarioError,
  userPolicySchema,
  type Scenario,
} from './scenario.js';
import type { EmulatorState } from './state.js';
import type { Customer } from './tenants.js';

export interface StateHolder {
  get(): EmulatorState;
  replace(scenario: Scenario): void;
}

const clockBody = z.object({ advanceSeconds: z.number() }).strict();
const customerPatch = z
  .object({
    delegatedAccess: z.boolean().optional(),
    /** Replaces the customer's relationships; ends such as "+P20D" count from now. */
    gdap: z.array(relationshipSchema).optional(),
    appConsent: appConsentSchema.optional(),
    concealedNamesInReports: z.boolean().optional(),
    guests: z.array(z.string().toLowerCase()).optional(),
    withoutGdapGroup: z.array(z.string().toLowerCase()).optional(),
    blockedByConditionalAccess: z.boolean().optional(),
    delegatedAdminBlocked: z.boolean().optional(),
  })
  .strict()
  .refine((p) => !(p.gdap && p.delegatedAccess !== undefined), {
    message: 'delegatedAccess and gdap together',
  });

/** A customer's live state, GDAP and app consent included, as the control API shows it. */
function customerState(state: EmulatorState, customer: Customer) {
  const now = state.now();
  return {
    tenantId: customer.tenantId,
    delegatedAccess: customer.delegatedAccess,
    gdap: customer.gdap.map((r) => ({
      id: r.id,
      displayName: r.displayName,
      status: effectiveStatus(r, now),
      endDateTime: new Date(currentEnd(r, now)).toISOString(),
      autoExtendDuration: r.autoExtendDuration,
      etag: etagOf(r.id, r.version),
      accessAssignments: r.accessAssignments.map((a) => ({
        groupId: a.groupId,
        group: state.directory
          .partner(customer.partnerTenantId)
          ?.groups.find((g) => g.id === a.groupId)?.displayName,
        roles: a.roles,
        roleDefinitionIds: a.roles.map((role) => directoryRoles[role]),
      })),
    })),
    appConsent:
      customer.appConsent === 'all'
        ? true
        : customer.appConsent === false
          ? false
          : { scopes: customer.appConsent.scopes },
    concealedNamesInReports: customer.concealedNamesInReports,
    guests: customer.guests,
    withoutGdapGroup: customer.withoutGdapGroup,
    blockedByConditionalAccess: customer.blockedByConditionalAccess,
    delegatedAdminBlocked: customer.delegatedAdminBlocked,
  };
}

/** /_emulator: the test, benchmark and demo controls. Never under a Microsoft path. */
const single = (v: unknown) => (typeof v === 'string' ? v : undefined);

export function controlRouter(holder: StateHolder, url: () => string): Router {
  const router = Router();
  router.use(express.json({ limit: '20mb' }));

  router.get('/scenario', (_req, res) => {
    res.json({
      ...holder.get().scenario,
      authorityHost: url(),
      partnerCenterUrl: url(),
      graphUrl: url(),
    });
  });

  router.put('/scenario', (req, res) => {
    try {
      holder.replace(parseScenario(req.body));
      res.json({ status: 'loaded', partners: holder.get().directory.partners.length });
    } catch (error) {
      if (!(error instanceof ScenarioError)) throw error;
      res.status(400).json({ error: error.message });
    }
  });

  router.post('/faults', (req, res) => {
    const list = Array.isArray(req.body) ? req.body : [req.body];
    const parsed = z.array(faultSchema).safeParse(list);
    if (!parsed.success) {
      res.status(400).json({
        error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      });
      return;
    }
    const added = parsed.data.map((f) => holder.get().addFault(f));
    res.status(201).json({ faults: added.map(({ matches: _m, ...f }) => f) });
  });

  router.get('/faults', (_req, res) => {
    res.json({ faults: holder.get().faults.map(({ matches: _m, ...f }) => f) });
  });

  router.delete('/faults', (_req, res) => {
    holder.get().faults = [];
    res.status(204).end();
  });

  router.delete('/faults/:id', (req, res) => {
    const state = holder.get();
    const before = state.faults.length;
    state.faults = state.faults.filter((f) => f.id !== req.params.id);
    res.status(state.faults.length < before ? 204 : 404).end();
  });

  router.post('/users/:upn/revoke', (req, res) => {
    const state = holder.get();
    const user = state.directory.user(req.params.upn);
    if (!user) return void res.status(404).json({ error: `no user ${req.params.upn}` });
    user.revokedAt = state.now();
    res.json({ upn: user.upn, revokedAt: new Date(user.revokedAt).toISOString() });
  });

  // A Conditional Access policy now requires MFA: refresh tokens from sign-ins without MFA get
  // AADSTS50076; the user registers MFA, so a fresh consent yields amr ["pwd","mfa"].
  router.post('/users/:upn/require-mfa', (req, res) => {
    const state = holder.get();
    const user = state.directory.user(req.params.upn);
    if (!user) return void res.status(404).json({ error: `no user ${req.params.upn}` });
    user.policy.mfaRequired = true;
    if (!user.mfa) {
      user.mfa = true;
      user.amr = [...user.amr, 'mfa'];
    }
    res.json({ upn: user.upn, policy: user.policy });
  });

  // The partner tenant's Conditional Access for one user; null clears a setting.
  router.post('/users/:upn/policy', (req, res) => {
    const state = holder.get();
    const user = state.directory.user(req.params.upn);
    const patch = userPolicySchema.safeParse(req.body);
    if (!patch.success) return void res.status(400).json({ error: patch.error.message });
    if (!user) return void res.status(404).json({ error: `no user ${req.params.upn}` });
    for (const [key, value] of Object.entries(patch.data)) {
      if (value === null) delete user.policy[key as keyof typeof user.policy];
      else Object.assign(user.policy, { [key]: value });
    }
    res.json({ upn: user.upn, policy: user.policy });
  });

  // A partner or customer tenant deleted: token requests for it answer AADSTS5000224.
  router.post('/tenants/:tenantId/delete', (req, res) => {
    const { directory } = holder.get();
    const id = req.params.tenantId.toLowerCase();
    if (!directory.partner(id) && !directory.customer(id))
      return void res.status(404).json({ error: `no tenant ${req.params.tenantId}` });
    directory.deletedTenants.add(id);
    res.json({ tenantId: id, deleted: true });
  });

  router.get('/customers/:tenantId', (req, res) => {
    const state = holder.get();
    const customer = state.directory.customer(req.params.tenantId);
    if (!customer)
      return void res.status(404).json({ error: `no customer ${req.params.tenantId}` });
    res.json(customerState(state, customer));
  });

  router.patch('/customers/:tenantId', (req, res) => {
    const state = holder.get();
    const patch = customerPatch.safeParse(req.body);
    const customer = state.directory.customer(req.params.tenantId);
    if (!patch.success) return void res.status(400).json({ error: patch.error.message });
    if (!customer)
      return void res.status(404).json({ error: `no customer ${req.params.tenantId}` });
    const { gdap, appConsent, ...rest } = patch.data;
    if (gdap) {
      try {
        state.directory.setGdap(customer, gdap, state.now());
      } catch (error) {
        if (!(error instanceof ScenarioError)) throw error;
        return void res.status(400).json({ error: error.message });
      }
    }
    Object.assign(customer, rest);
    if (appConsent !== undefined) customer.appConsent = appConsentOf(appConsent);
    res.json(customerState(state, customer));
  });

  router.post('/clock', (req, res) => {
    const body = clockBody.safeParse(req.body);
    if (!body.success)
      return void res.status(400).json({ error: 'expected {"advanceSeconds": number}' });
    const state = holder.get();
    state.clockOffsetMs += body.data.advanceSeconds * 1000;
    res.json({
      now: new Date(state.now()).toISOString(),
      offsetSeconds: state.clockOffsetMs / 1000,
    });
  });

  router.get('/requests', (req, res) => {
    const q = req.query;
    const since = Number(q.since ?? 0);
    const entries = holder
      .get()
      .log.filter(
        (e) =>
          e.id > since &&
          (!q.surface || e.surface === q.surface) &&
          (!q.partner || e.partnerTenantId === q.partner) &&
          (!q.tenant || e.tenantId === q.tenant) &&
          (!q.status || String(e.status) === q.status) &&
          (!q.method || e.method === single(q.method)?.toUpperCase()) &&
          (!q.path || e.path.startsWith(single(q.path) ?? '')),
      );
    const limit = Math.min(Number(q.limit ?? 10_000), 200_000);
    res.json({ requests: entries.slice(-limit), total: entries.length });
  });

  router.get('/counters', (_req, res) => {
    res.json({ partners: Object.fromEntries(holder.get().counters) });
  });

  router.get('/issued', (_req, res) => {
    res.json(holder.get().issued);
  });

  return router;
}
