import type { AxiosInstance } from 'axios';
import type {
  AppliedChange,
  PsaBillingContainer,
  PsaBillingLine,
  PsaClient,
  PsaCompany,
  PsaProduct,
  PsaRequestHooks,
  QuantityChange,
} from '../client.js';
import { PsaError } from '../errors.js';
import { ConnectwiseApi } from './api.js';
import { connectwiseConnectionSchema } from './connection.js';
import {
  additionRecord,
  agreementRecord,
  catalogRecord,
  companyRecord,
  connectwiseDate,
  domainsOf,
  isCancelled,
  parseRecords,
  recordId,
  type AdditionRecord,
} from './records.js';
import { testConnectwiseConnection } from './test-connection.js';
import type { z } from 'zod';

// The billing sync's PsaClient for ConnectWise PSA: a billing container is an agreement, a
// line an agreement addition. Quantities change in place (PATCH quantity); a product new to
// the agreement gets a new addition; a cancel sets cancelledDate and never deletes.

export { connectwiseConnectionSchema } from './connection.js';
export { ConnectwiseConnectionError } from './test-connection.js';

export function createConnectwiseClient(
  connection: z.input<typeof connectwiseConnectionSchema>,
  options: { http: AxiosInstance; hooks?: PsaRequestHooks },
): PsaClient {
  const settings = connectwiseConnectionSchema.parse(connection);
  const api = new ConnectwiseApi(settings, options.http, options.hooks);
  const additionsPath = (agreementId: number) => `/finance/agreements/${agreementId}/additions`;

  const agreementsOf = async (companyId: string) => {
    const id = recordId(companyId, 'company');
    const rows = await api.listAll(
      '/finance/agreements',
      { conditions: `company/id = ${id} and cancelledFlag = false` },
      'agreements',
    );
    return parseRecords(agreementRecord, rows, 'agreements');
  };
  const additionsOf = async (agreementId: number, conditions?: string) =>
    parseRecords(
      additionRecord,
      await api.listAll(additionsPath(agreementId), conditions ? { conditions } : {}, 'additions'),
      'additions',
    );
  const additionById = async (agreementId: number, additionId: number) => {
    const { data } = await api.call(`${additionsPath(agreementId)}/${additionId}`, {
      entity: 'additions',
    });
    return parseRecords(additionRecord, [data], 'an addition')[0]!;
  };
  const patchAddition = async (addition: AdditionRecord, fields: Record<string, unknown>) => {
    // Written through the agreement that owns it: a parent agreement only shows it.
    const { data } = await api.call(`${additionsPath(addition.agreementId)}/${addition.id}`, {
      method: 'PATCH',
      body: Object.entries(fields).map(([path, value]) => ({ op: 'replace', path, value })),
      entity: 'additions',
    });
    return parseRecords(additionRecord, [data], 'an addition')[0]!;
  };

  /** The addition billing a product on this agreement now (the latest if several). */
  const openLineFor = async (agreementId: number, productId: number) => {
    const lines = await additionsOf(agreementId, `product/id = ${productId}`);
    return lines
      .filter((a) => a.agreementId === agreementId && !isCancelled(a))
      .sort((a, b) => (a.effectiveDate ?? '').localeCompare(b.effectiveDate ?? '') || a.id - b.id)
      .at(-1);
  };

  return {
    kind: 'connectwise',
    prorationByDate: false,
    testConnection: () => testConnectwiseConnection(api),

    async listCompanies(): Promise<PsaCompany[]> {
      const rows = await api.listAll(
        '/company/companies',
        { conditions: 'deletedFlag = false', fields: 'id,name,website,status,deletedFlag' },
        'companies',
      );
      return parseRecords(companyRecord, rows, 'companies').map((c) => ({
        id: String(c.id),
        name: c.name,
        domains: domainsOf(c.website),
        active: !c.deletedFlag && c.status?.name !== 'Inactive',
      }));
    },

    async listProducts(): Promise<PsaProduct[]> {
      const rows = await api.listAll(
        '/procurement/catalog',
        { conditions: 'inactiveFlag = false', fields: 'id,identifier,description' },
        'catalog',
      );
      return parseRecords(catalogRecord, rows, 'catalog items').map((item) => ({
        id: String(item.id),
        name: item.description,
        code: item.identifier,
      }));
    },

    async listContainers(companyId): Promise<PsaBillingContainer[]> {
      return (await agreementsOf(companyId)).map((a) => ({
        id: String(a.id),
        companyId: String(a.company.id),
        name: a.name,
      }));
    },

    async listLines(companyId): Promise<PsaBillingLine[]> {
      // A parent agreement lists its child agreements' additions too: one line per addition id.
      const byId = new Map<number, AdditionRecord>();
      for (const agreement of await agreementsOf(companyId))
        for (const addition of await additionsOf(agreement.id)) byId.set(addition.id, addition);
      return [...byId.values()].map((a) => ({
        id: String(a.id),
        companyId,
        containerId: String(a.agreementId),
        productId: String(a.product.id),
        productName: a.description ?? a.product.identifier ?? String(a.product.id),
        quantity: a.quantity,
        cancelled: isCancelled(a),
      }));
    },

    async setQuantity(change: QuantityChange): Promise<AppliedChange> {
      const agreementId = recordId(change.containerId, 'agreement');
      const productId = recordId(change.productId, 'product');
      const effectiveDate = connectwiseDate(change.effectiveDate);
      const prorate = (change.proration ?? 'prorate') === 'prorate';
      let line: AdditionRecord | undefined;
      if (change.lineId) {
        line = await additionById(agreementId, recordId(change.lineId, 'addition')).catch(
          (error: unknown) => {
            if (error instanceof PsaError && error.kind === 'not_found') return undefined;
            throw error;
          },
        );
        if (line && isCancelled(line)) line = undefined;
      }
      line ??= await openLineFor(agreementId, productId);
      if (line) {
        const lineId = String(line.id);
        if (line.quantity === change.target)
          return {
            lineId,
            before: line.quantity,
            after: line.quantity,
            responseId: lineId,
            alreadyApplied: true,
          };
        // The flag has ConnectWise bill (or credit) the rest of the current period for the
        // change; without it the new quantity is billed from the next period.
        const updated = await patchAddition(line, {
          quantity: change.target,
          prorateCurrentPeriodFlag: prorate,
        });
        return {
          lineId,
          before: line.quantity,
          after: updated.quantity,
          responseId: lineId,
          alreadyApplied: false,
        };
      }
      if (change.target === 0)
        return { lineId: '', before: 0, after: 0, responseId: '', alreadyApplied: true };
      const { data } = await api.call(additionsPath(agreementId), {
        method: 'POST',
        body: {
          product: { id: productId },
          billCustomer: settings.newAdditionBillCustomer,
          quantity: change.target,
          effectiveDate,
          prorateCurrentPeriodFlag: prorate,
        },
        entity: 'additions',
      });
      const created = parseRecords(additionRecord, [data], 'the new addition')[0]!;
      const lineId = String(created.id);
      return {
        lineId,
        before: 0,
        after: created.quantity,
        responseId: lineId,
        alreadyApplied: false,
      };
    },

    async cancelLine(line, effectiveDate): Promise<AppliedChange> {
      const cancelledDate = connectwiseDate(effectiveDate);
      const addition = await additionById(
        recordId(line.containerId, 'agreement'),
        recordId(line.lineId, 'addition'),
      );
      const lineId = String(addition.id);
      const billed = isCancelled(addition) ? 0 : addition.quantity;
      if (addition.cancelledDate && Date.parse(addition.cancelledDate) <= Date.parse(cancelledDate))
        return { lineId, before: billed, after: 0, responseId: lineId, alreadyApplied: true };
      await patchAddition(addition, { cancelledDate });
      return { lineId, before: billed, after: 0, responseId: lineId, alreadyApplied: false };
    },
  };
}
