import { Router, type Request } from 'express';
import { requirePermission } from './auth.js';
import { notFound } from './errors.js';
import { applyList, parseListQuery, queryBoolean, queryInteger, queryString } from './lists.js';
import type { HaloState } from './state.js';
import { renderAzureTenant, renderContract, renderInvoice, renderLicence } from './wire.js';

// The resource server's reads: lists wrapped as {record_count, <entities>: [...]}, one record
// by id (404 when unknown), and the tenant→client mapping.

const idParam = (req: Request) => {
  const id = Number(req.params.id);
  if (!Number.isInteger(id)) throw notFound(`No record with id '${String(req.params.id)}'.`);
  return id;
};

export function readRoutes(state: HaloState): Router {
  const router = Router();

  router.get('/Client', requirePermission('customers', 'read'), (req, res) => {
    const search = queryString(req, 'search')?.toLowerCase();
    const includeInactive = queryBoolean(req, 'includeinactive') ?? false;
    const toplevel = queryInteger(req, 'toplevel_id');
    const matches = [...state.clients.values()].filter(
      (c) =>
        (includeInactive || !c.inactive) &&
        (toplevel === undefined || c.toplevel_id === toplevel) &&
        (!search || c.name.toLowerCase().includes(search)),
    );
    const { record_count, page } = applyList(matches, parseListQuery(req));
    res.json({ record_count, clients: page });
  });
  router.get('/Client/:id', requirePermission('customers', 'read'), (req, res) => {
    const id = idParam(req);
    const client = state.clients.get(id);
    if (!client) throw notFound(`Client ${id} not found.`);
    res.json(client);
  });

  // The mapping list is a bare array (its wrapper, if any, is not in the spec).
  router.get('/AreaAzureTenant', requirePermission('customers', 'read'), (req, res) => {
    const tenantId = queryString(req, 'azure_tenant_id')?.toLowerCase();
    const clientId = queryInteger(req, 'client_id');
    const matches = [...state.azureTenants.values()].filter(
      (t) =>
        (tenantId === undefined || t.azure_tenant_id.toLowerCase() === tenantId) &&
        (clientId === undefined || t.client_id === clientId),
    );
    res.json(matches.map((t) => renderAzureTenant(state, t)));
  });

  router.get('/ClientContract', requirePermission('contracts', 'read'), (req, res) => {
    const clientId = queryInteger(req, 'client_id');
    const matches = [...state.contracts.values()].filter(
      (c) => clientId === undefined || c.client_id === clientId,
    );
    const { record_count, page } = applyList(matches, parseListQuery(req));
    res.json({ record_count, contracts: page.map((c) => renderContract(state, c)) });
  });
  router.get('/ClientContract/:id', requirePermission('contracts', 'read'), (req, res) => {
    const id = idParam(req);
    const contract = state.contracts.get(id);
    if (!contract) throw notFound(`Contract ${id} not found.`);
    res.json(renderContract(state, contract));
  });

  router.get('/RecurringInvoice', requirePermission('invoices', 'read'), (req, res) => {
    const clientId = queryInteger(req, 'client_id');
    const contractId = queryInteger(req, 'contract_id');
    const withLines = queryBoolean(req, 'includelines') ?? false;
    const matches = [...state.invoices.values()].filter(
      (r) =>
        (clientId === undefined || r.client_id === clientId) &&
        (contractId === undefined || r.contract_id === contractId),
    );
    const { record_count, page } = applyList(matches, parseListQuery(req));
    res.json({ record_count, invoices: page.map((r) => renderInvoice(state, r, withLines)) });
  });
  router.get('/RecurringInvoice/:id', requirePermission('invoices', 'read'), (req, res) => {
    const id = idParam(req);
    const invoice = state.invoices.get(id);
    if (!invoice) throw notFound(`Recurring invoice ${id} not found.`);
    res.json(renderInvoice(state, invoice, true));
  });

  router.get('/Item', requirePermission('items', 'read'), (req, res) => {
    const search = queryString(req, 'search')?.toLowerCase();
    const recurringOnly = queryBoolean(req, 'recurringonly') ?? false;
    const includeInactive = queryBoolean(req, 'includeinactive') ?? false;
    const matches = [...state.items.values()].filter(
      (i) =>
        (includeInactive || !i.inactive) &&
        (!recurringOnly || i.isrecurringitem) &&
        (!search || i.name.toLowerCase().includes(search)),
    );
    const { record_count, page } = applyList(matches, parseListQuery(req));
    res.json({ record_count, items: page });
  });
  router.get('/Item/:id', requirePermission('items', 'read'), (req, res) => {
    const id = idParam(req);
    const item = state.items.get(id);
    if (!item) throw notFound(`Item ${id} not found.`);
    res.json(item);
  });

  router.get('/SoftwareLicence', requirePermission('software', 'read'), (req, res) => {
    const clientId = queryInteger(req, 'client_id');
    const tenantId = queryString(req, 'tenant_id')?.toLowerCase();
    const includeInactive = queryBoolean(req, 'includeinactive') ?? false;
    const matches = [...state.licences.values()].filter(
      (l) =>
        !l.deleted &&
        (includeInactive || l.is_active) &&
        (clientId === undefined || l.client_id === clientId) &&
        (tenantId === undefined || l.tenant_id?.toLowerCase() === tenantId),
    );
    const { record_count, page } = applyList(matches, parseListQuery(req));
    res.json({ record_count, licences: page.map((l) => renderLicence(state, l)) });
  });
  router.get('/SoftwareLicence/:id', requirePermission('software', 'read'), (req, res) => {
    const id = idParam(req);
    const licence = state.licences.get(id);
    if (!licence) throw notFound(`Licence ${id} not found.`);
    res.json(renderLicence(state, licence));
  });

  return router;
}
