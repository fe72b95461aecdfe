import { Router, type Response } from 'express';
import { requirePermission } from './auth.js';
import { badRequest, notFound } from './errors.js';
import {
  assignDefined,
  bodyArray,
  booleanField,
  dateField,
  integerField,
  numberField,
  stringField,
  upsertId,
  type HaloObject,
} from './fields.js';
import { deleteOmittedLines, upsertLine } from './lines.js';
import { haloDateTime, type HaloState } from './state.js';
import { renderContract, renderInvoice, renderLicence, renderLine } from './wire.js';

// The resource server's writes. Halo writes by POSTing an array to the collection: an object
// with an id updates that record, one without creates it (spec: request bodies are arrays;
// HaloPSA python package `update`). A refused write changes nothing, whichever entry failed.

/** One object posted: answers that object; several: the array (the spec declares one). */
function answer(res: Response, status: number, written: unknown[]): void {
  res.status(status).json(written.length === 1 ? written[0] : written);
}

function requireName(entry: HaloObject, what: string): string {
  const name = stringField(entry, 'name');
  if (!name) throw badRequest(`A ${what} needs a name.`);
  return name;
}

function existingClient(state: HaloState, entry: HaloObject, required: boolean) {
  const clientId = integerField(entry, 'client_id');
  if (clientId === undefined) {
    if (required) throw badRequest('client_id is required.');
    return undefined;
  }
  if (!state.clients.has(clientId)) throw badRequest(`Client ${clientId} does not exist.`);
  return clientId;
}

export function writeRoutes(state: HaloState): Router {
  const router = Router();

  router.post('/Client', requirePermission('customers', 'edit'), (req, res) => {
    const written = state.transaction(() =>
      bodyArray(req).map((entry) => {
        const id = upsertId(entry);
        const client =
          id === undefined
            ? {
                id: state.nextId(state.clients),
                name: requireName(entry, 'client'),
                toplevel_id: 1,
                toplevel_name: 'Customers',
                inactive: false,
                website: null,
                domain: null,
                datecreated: haloDateTime(state.base.now()),
              }
            : state.clients.get(id);
        if (!client) throw notFound(`Client ${id} not found.`);
        if (entry.name !== undefined) client.name = requireName(entry, 'client');
        assignDefined(client, {
          website: stringField(entry, 'website'),
          domain: stringField(entry, 'domain'),
          inactive: booleanField(entry, 'inactive'),
        });
        state.clients.set(client.id, client);
        return { ...client };
      }),
    );
    answer(res, 201, written);
  });

  router.post('/ClientContract', requirePermission('contracts', 'edit'), (req, res) => {
    const written = state.transaction(() =>
      bodyArray(req).map((entry) => {
        const id = upsertId(entry);
        const clientId = existingClient(state, entry, id === undefined);
        const contract =
          id === undefined
            ? {
                id: state.nextId(state.contracts),
                client_id: clientId!,
                ref: stringField(entry, 'ref') ?? '',
                start_date: null,
                end_date: null,
              }
            : state.contracts.get(id);
        if (!contract) throw notFound(`Contract ${id} not found.`);
        assignDefined(contract, {
          client_id: clientId,
          ref: stringField(entry, 'ref') ?? undefined,
          start_date: dateField(entry, 'start_date'),
          end_date: dateField(entry, 'end_date'),
        });
        state.contracts.set(contract.id, contract);
        return renderContract(state, contract);
      }),
    );
    answer(res, 201, written);
  });

  router.post('/Item', requirePermission('items', 'edit'), (req, res) => {
    const written = state.transaction(() =>
      bodyArray(req).map((entry) => {
        const id = upsertId(entry);
        const item =
          id === undefined
            ? {
                id: state.nextId(state.items),
                name: requireName(entry, 'item'),
                description: null,
                internalreference: null,
                externalreference: null,
                supplier_part_code: null,
                isrecurringitem: false,
                recurringprice: 0,
                recurringcost: 0,
                baseprice: 0,
                costprice: 0,
                inactive: false,
              }
            : state.items.get(id);
        if (!item) throw notFound(`Item ${id} not found.`);
        if (entry.name !== undefined) item.name = requireName(entry, 'item');
        assignDefined(item, {
          description: stringField(entry, 'description'),
          internalreference: stringField(entry, 'internalreference'),
          externalreference: stringField(entry, 'externalreference'),
          supplier_part_code: stringField(entry, 'supplier_part_code'),
          isrecurringitem: booleanField(entry, 'isrecurringitem'),
          recurringprice: numberField(entry, 'recurringprice'),
          recurringcost: numberField(entry, 'recurringcost'),
          baseprice: numberField(entry, 'baseprice'),
          costprice: numberField(entry, 'costprice'),
          inactive: booleanField(entry, 'inactive'),
        });
        state.items.set(item.id, item);
        return { ...item };
      }),
    );
    // The spec declares 200 for POST /Item, 201 for the other collections.
    answer(res, 200, written);
  });

  router.post('/SoftwareLicence', requirePermission('software', 'edit'), (req, res) => {
    const written = state.transaction(() =>
      bodyArray(req).map((entry) => {
        const id = upsertId(entry);
        const clientId = existingClient(state, entry, id === undefined);
        const licence =
          id === undefined
            ? {
                id: state.nextId(state.licences),
                type: 0,
                name: requireName(entry, 'licence'),
                count: 0,
                client_id: clientId!,
                site_id: null,
                tenant_id: null,
                product_sku: null,
                start_date: null,
                end_date: null,
                is_active: true,
                deleted: false,
              }
            : state.licences.get(id);
        if (!licence) throw notFound(`Licence ${id} not found.`);
        const count = integerField(entry, 'count');
        if (count !== undefined && count < 0) throw badRequest('count cannot be negative.');
        if (entry.name !== undefined) licence.name = requireName(entry, 'licence');
        assignDefined(licence, {
          count,
          client_id: clientId,
          tenant_id: stringField(entry, 'tenant_id'),
          product_sku: stringField(entry, 'product_sku'),
          start_date: dateField(entry, 'start_date'),
          end_date: dateField(entry, 'end_date'),
          is_active: booleanField(entry, 'is_active'),
        });
        state.licences.set(licence.id, licence);
        return renderLicence(state, licence);
      }),
    );
    answer(res, 201, written);
  });

  router.post('/RecurringInvoice', requirePermission('invoices', 'edit'), (req, res) => {
    const written = state.transaction(() =>
      bodyArray(req).map((entry) => {
        const id = upsertId(entry);
        const clientId = existingClient(state, entry, id === undefined);
        const contractId = integerField(entry, 'contract_id');
        if (contractId !== undefined && !state.contracts.has(contractId))
          throw badRequest(`Contract ${contractId} does not exist.`);
        const invoice =
          id === undefined
            ? {
                id: state.nextId(state.invoices),
                client_id: clientId!,
                contract_id: null,
                reference: '',
                is_recurring_invoice: true as const,
                period: 1,
                period_type: 1,
                startdate: null,
                nextcreationdate: null,
                disabled: false,
                lineIds: [],
              }
            : state.invoices.get(id);
        if (!invoice) throw notFound(`Recurring invoice ${id} not found.`);
        assignDefined(invoice, {
          client_id: clientId,
          contract_id: contractId,
          reference: stringField(entry, 'reference') ?? undefined,
          startdate: dateField(entry, 'startdate'),
          nextcreationdate: dateField(entry, 'nextcreationdate'),
          disabled: booleanField(entry, 'disabled'),
        });
        state.invoices.set(invoice.id, invoice);
        if (entry.lines !== undefined) {
          if (!Array.isArray(entry.lines))
            throw badRequest("The value given for 'lines' is not valid.");
          const kept = (entry.lines as HaloObject[]).map(
            (l) => upsertLine(state, l, invoice.id).id,
          );
          if (deleteOmittedLines)
            for (const lineId of [...invoice.lineIds])
              if (!kept.includes(lineId)) state.removeLine(lineId);
        }
        return renderInvoice(state, invoice, true);
      }),
    );
    answer(res, 201, written);
  });

  // Both line endpoints answer the lines written (their response body is not in the spec).
  router.post(
    '/RecurringInvoice/updatelines',
    requirePermission('invoices', 'edit'),
    (req, res) => {
      const written = state.transaction(() =>
        bodyArray(req).map((entry) => {
          if (upsertId(entry) === undefined) throw badRequest('Each line to update needs its id.');
          return renderLine(state, upsertLine(state, entry, undefined));
        }),
      );
      res.status(200).json(written);
    },
  );
  router.post('/RecurringInvoice/Lines', requirePermission('invoices', 'edit'), (req, res) => {
    const written = state.transaction(() =>
      bodyArray(req).map((entry) => renderLine(state, upsertLine(state, entry, undefined))),
    );
    res.status(200).json(written);
  });

  return router;
}
