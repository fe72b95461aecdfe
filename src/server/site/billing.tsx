import { Router, type Request } from 'express';
import { z } from 'zod';
import { parseSourceKey } from '../../domain/billing.js';
import type { Services } from '../../dependencies.js';
import { psaKinds, type PsaKind } from '../../psa/client.js';
import { PsaError } from '../../psa/errors.js';
import { jobIds } from '../../queue/catalog.js';
import type { JobQueues } from '../../queue/job-queues.js';
import {
  enqueueApply,
  reconciliationProgress,
  type ReconciliationProgress,
} from '../../services/billing-reconciliation.js';
import { psaClientFor, saveConnection, testConnection } from '../../services/psa-connections.js';
import {
  companyMatches,
  linkCompany,
  MappingRefused,
  mappableProducts,
  mapProduct,
  unmapped,
} from '../../services/psa-mapping.js';
import type { LedgerRecord } from '../../store/psa-sync.js';
import { reconciliationCsv, reconciliationTotals, reconciliationView } from '../api/billing.js';
import { productMappingBody } from '../api/psa.js';
import { HttpError } from '../http-error.js';
import { invalidRequestSentence } from '../validation.js';
import { BillingPage, psaNames, type ReconciliationFilter } from '../views/billing.js';
import { BillingCompanyPage, BillingLedgerPage, type LedgerRow } from '../views/billing-ledger.js';
import { BillingSetupPage, type SetupCompanyRow } from '../views/billing-setup.js';
import { html } from '../views/layout.js';
import { signedIn, type PageContext } from './page-context.js';

const filterOf = (q: Request['query']): ReconciliationFilter =>
  q.differences === 'true' ? 'differences' : q.unmapped === 'true' ? 'unmapped' : 'all';
/** The key of a reconciliation a page asked for (`page-<ms>`), which the page then follows. */
const comparingKey = (q: Request['query']) =>
  typeof q.comparing === 'string' && /^page-\d{1,15}$/.test(q.comparing) ? q.comparing : undefined;
const bodyOf = (req: Request) => (req.body ?? {}) as Record<string, unknown>;
const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');
/** `words` ended by one full stop: a PSA's own message often brings its own. */
const asSentence = (words: string) => (/[.!?]$/.test(words) ? words : `${words}.`);
const psaFailure = (error: unknown) => {
  if (error instanceof PsaError || error instanceof MappingRefused) return error.message;
  throw error;
};

/** The Billing tab: reconciliation and plan, setup, a company's container, the ledger. */
export function billingPages(options: {
  services: Services;
  queues: JobQueues;
  page: PageContext;
}): Router {
  const { services, queues, page } = options;
  const { viewerOf, takeFlash, back, partnerFor } = page;
  const router = Router();

  async function companyOf(partnerId: string, companyId: string) {
    const company = z.uuid().safeParse(companyId).success
      ? await services.partners.company(partnerId, companyId)
      : undefined;
    if (!company) throw new HttpError(404, 'not_found', 'No such company.');
    return company;
  }

  async function ledgerRows(partnerId: string, entries: LedgerRecord[]): Promise<LedgerRow[]> {
    const names = new Map(
      (await services.partners.companies(partnerId)).map((c) => [c.id, c.name]),
    );
    return entries.map((e) => ({
      ...e,
      psa: e.psaKind,
      product: e.productName,
      companyName: (e.companyId && names.get(e.companyId)) || '(removed company)',
    }));
  }

  router.get('/partners/:id/billing', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const filter = filterOf(req.query);
    const key = comparingKey(req.query);
    // Read before the rows: once it says finished, the rows read next are the new ones.
    const comparing: ReconciliationProgress | undefined = key
      ? await reconciliationProgress(
          { queues, psaConnections: services.psaConnections },
          partner.id,
          key,
        )
      : undefined;
    const [rows, connection, changes, missing, companies] = await Promise.all([
      reconciliationView(services, partner.id, {
        differences: filter === 'differences',
        unmapped: filter === 'unmapped',
      }),
      services.psaConnections.get(partner.id),
      services.psaSync.changes(partner.id, ['planned', 'approved', 'applying', 'failed']),
      unmapped(services, partner.id),
      services.partners.companies(partner.id),
    ]);
    const names = new Map(companies.map((c) => [c.id, c.name]));
    res.type('html').send(
      html(
        <BillingPage
          viewer={viewerOf(req)}
          partner={partner}
          connection={connection}
          filter={filter}
          rows={rows}
          totals={reconciliationTotals(rows)}
          plan={changes.map((c) => ({
            ...c,
            product: c.productName,
            companyName: names.get(c.companyId) ?? '',
          }))}
          unmappedProducts={missing.products.length}
          unlinkedCompanies={missing.companies.length}
          comparing={comparing}
          flash={takeFlash(req)}
        />,
      ),
    );
  });

  router.get('/partners/:id/billing/reconciliation.csv', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const filter = filterOf(req.query);
    const rows = await reconciliationView(services, partner.id, {
      differences: filter === 'differences',
      unmapped: filter === 'unmapped',
    });
    res
      .type('text/csv; charset=utf-8')
      .attachment(`reconciliation-${partner.id}.csv`)
      .send(reconciliationCsv(rows));
  });

  router.post('/partners/:id/billing/reconcile', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    if (!(await services.psaConnections.get(partner.id)))
      return back(req, res, `/partners/${partner.id}/billing`, 'Connect a PSA first.');
    const key = `page-${Date.now()}`;
    await queues.enqueue(
      'reconcileBilling',
      { partnerId: partner.id },
      { jobId: jobIds.reconcileBilling(partner.id, key) },
    );
    // The page follows the comparison it asked for and shows its numbers once it is done.
    back(
      req,
      res,
      `/partners/${partner.id}/billing?comparing=${key}`,
      'Comparing with the PSA now.',
    );
  });

  router.post('/partners/:id/billing/approve', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const body = bodyOf(req);
    const picked = ([] as unknown[]).concat(body.changeId ?? []).map(String);
    const ids =
      body.scope === 'all' ? undefined : picked.filter((v) => z.uuid().safeParse(v).success);
    const to = `/partners/${partner.id}/billing`;
    if (ids && ids.length === 0) return back(req, res, to, 'Tick the changes to approve first.');
    const approved = await services.psaSync.approve(partner.id, req.user!.email, ids);
    for (const companyId of new Set(approved.map((c) => c.companyId)))
      await enqueueApply({ queues, partners: services.partners }, partner.id, companyId);
    back(
      req,
      res,
      to,
      approved.length === 0
        ? 'Nothing was waiting for approval.'
        : `Approved ${approved.length} ${approved.length === 1 ? 'change' : 'changes'}; writing to the PSA now.`,
    );
  });

  router.get('/partners/:id/billing/setup', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const connection = await services.psaConnections.get(partner.id);
    const asked = z.enum(psaKinds).safeParse(req.query.psa);
    const formKind: PsaKind = asked.success ? asked.data : (connection?.kind ?? 'connectwise');
    let companies: SetupCompanyRow[] | null = null;
    let psaCompanies: { id: string; name: string }[] = [];
    let psaProducts: { id: string; name: string }[] = [];
    let psaError: string | undefined;
    const found = connection ? await psaClientFor(services, partner.id) : undefined;
    if (found && connection?.status !== 'broken') {
      try {
        const matches = await companyMatches(services, partner.id, found.client);
        companies = matches.companies;
        psaCompanies = matches.psaCompanies.filter((c) => c.active);
        psaProducts = await found.client.listProducts();
      } catch (error) {
        psaError = `${psaNames[found.connection.kind]} could not be read: ${psaFailure(error)}`;
      }
    }
    const [products, mappings] = await Promise.all([
      mappableProducts(services, partner.id),
      services.psaConnections.mappings(partner.id),
    ]);
    const mappingOf = new Map(mappings.map((m) => [m.sourceKey, m]));
    res
      .type('html')
      .send(
        html(
          <BillingSetupPage
            viewer={viewerOf(req)}
            partner={partner}
            connection={connection}
            formKind={formKind}
            fields={services.psaRegistry.fields(formKind)}
            companies={companies}
            psaCompanies={psaCompanies}
            products={products.map((p) => ({ ...p, mapping: mappingOf.get(p.sourceKey) ?? null }))}
            psaProducts={psaProducts}
            psaError={psaError}
            flash={takeFlash(req)}
          />,
        ),
      );
  });

  router.post('/partners/:id/billing/connection', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const body = bodyOf(req);
    const kind = z.enum(psaKinds).safeParse(body.kind);
    if (!kind.success) throw new HttpError(400, 'invalid_request', 'Choose a PSA.');
    const to = `/partners/${partner.id}/billing/setup?psa=${kind.data}`;
    const fields: Record<string, string> = {};
    const current = await services.psaConnections.open(partner.id);
    for (const f of services.psaRegistry.fields(kind.data)) {
      const value = text(body[f.name]);
      // A secret left blank keeps the one saved for the same PSA.
      if (!value && f.secret && current?.connection.kind === kind.data) {
        const kept = current.secrets[f.name];
        if (kept) fields[f.name] = kept;
      } else if (value) fields[f.name] = value;
    }
    try {
      await saveConnection(
        services,
        partner.id,
        {
          kind: kind.data,
          effectiveDatePolicy: body.effectiveDatePolicy === 'next_month' ? 'next_month' : 'today',
          proration: body.proration === 'none' ? 'none' : 'prorate',
          fields,
        },
        req.user!.email,
      );
    } catch (error) {
      if (error instanceof z.ZodError) return back(req, res, to, invalidRequestSentence(error));
      throw error;
    }
    const test = await testConnection({ ...services, queues }, partner.id);
    back(
      req,
      res,
      to,
      asSentence(
        test?.ok
          ? `Connected to ${psaNames[kind.data]}: ${test.description}`
          : `Saved, but ${psaNames[kind.data]} refused: ${test?.message ?? 'no answer'}`,
      ),
    );
  });

  router.post('/partners/:id/billing/companies/:companyId/link', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const company = await companyOf(partner.id, String(req.params.companyId));
    const to = `/partners/${partner.id}/billing/setup`;
    const psaCompanyId = text(bodyOf(req).psaCompanyId);
    if (!psaCompanyId)
      return back(req, res, to, `Choose the PSA company ${company.name} is, then confirm.`);
    const found = await psaClientFor(services, partner.id);
    if (!found) return back(req, res, to, 'Connect a PSA first.');
    try {
      const containers = await found.client.listContainers(psaCompanyId);
      const link = await linkCompany(
        services,
        partner.id,
        found.client,
        // A company billed on one agreement or contract needs no second question.
        {
          companyId: company.id,
          psaCompanyId,
          containerId: containers.length === 1 ? containers[0]!.id : undefined,
        },
        req.user!.email,
      );
      back(
        req,
        res,
        link.containerId ? to : `/partners/${partner.id}/billing/companies/${company.id}`,
        `${company.name} is ${link.psaCompanyName} in the PSA${link.containerName ? `, billed on ${link.containerName}` : ': choose what it is billed on'}.`,
      );
    } catch (error) {
      back(req, res, to, `${company.name} was not linked: ${psaFailure(error)}`);
    }
  });

  router.get('/partners/:id/billing/companies/:companyId', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const company = await companyOf(partner.id, String(req.params.companyId));
    const link = await services.psaConnections.linkOf(partner.id, company.id);
    if (!link)
      throw new HttpError(404, 'not_found', `${company.name} is not linked to a PSA company.`);
    const found = await psaClientFor(services, partner.id);
    let containers = null;
    let psaError: string | undefined;
    try {
      containers = found ? await found.client.listContainers(link.psaCompanyId) : null;
    } catch (error) {
      psaError = `The PSA could not be read: ${psaFailure(error)}`;
    }
    const rows = await ledgerRows(
      partner.id,
      await services.psaSync.ledger(partner.id, company.id),
    );
    res
      .type('html')
      .send(
        html(
          <BillingCompanyPage
            viewer={viewerOf(req)}
            partner={partner}
            company={company}
            link={link}
            containers={containers}
            psaError={psaError}
            rows={rows}
            flash={takeFlash(req)}
          />,
        ),
      );
  });

  router.post(
    '/partners/:id/billing/companies/:companyId/container',
    signedIn,
    async (req, res) => {
      const partner = await partnerFor(req);
      const company = await companyOf(partner.id, String(req.params.companyId));
      const to = `/partners/${partner.id}/billing/companies/${company.id}`;
      const link = await services.psaConnections.linkOf(partner.id, company.id);
      const found = await psaClientFor(services, partner.id);
      if (!link || !found) return back(req, res, to, 'Link the company first.');
      try {
        const saved = await linkCompany(
          services,
          partner.id,
          found.client,
          {
            companyId: company.id,
            psaCompanyId: link.psaCompanyId,
            containerId: text(bodyOf(req).containerId),
          },
          req.user!.email,
        );
        back(req, res, to, `${company.name} is billed on ${saved.containerName}.`);
      } catch (error) {
        back(req, res, to, psaFailure(error));
      }
    },
  );

  // A listed product comes as its sourceKey; any other SKU as its id and term. Both are
  // checked as the API checks them, and refused with its words.
  router.post('/partners/:id/billing/products', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const body = bodyOf(req);
    const to = `/partners/${partner.id}/billing/setup`;
    const listed = text(body.sourceKey);
    const source = listed
      ? (parseSourceKey(listed) ?? listed)
      : {
          kind: 'sku',
          skuId: text(body.skuId),
          ...(text(body.term) ? { term: text(body.term) } : {}),
        };
    if (!text(body.psaProductId)) return back(req, res, to, 'Choose the PSA product to bill.');
    const parsed = productMappingBody.safeParse({
      source,
      psaProductId: text(body.psaProductId),
      countBasis: body.countBasis,
      applyMode: body.applyMode === 'automatic' ? 'automatic' : 'approval',
    });
    if (!parsed.success)
      return back(req, res, to, `Not mapped: ${invalidRequestSentence(parsed.error)}`);
    const found = await psaClientFor(services, partner.id);
    if (!found) return back(req, res, to, 'Connect a PSA first.');
    try {
      const mapping = await mapProduct(
        services,
        partner.id,
        found.client,
        parsed.data,
        req.user!.email,
      );
      back(req, res, to, `Mapped to ${mapping.psaProductName}.`);
    } catch (error) {
      back(req, res, to, `Not mapped: ${psaFailure(error)}`);
    }
  });

  router.get('/partners/:id/billing/ledger', signedIn, async (req, res) => {
    const partner = await partnerFor(req);
    const rows = await ledgerRows(partner.id, await services.psaSync.ledger(partner.id));
    res
      .type('html')
      .send(html(<BillingLedgerPage viewer={viewerOf(req)} partner={partner} rows={rows} />));
  });

  return router;
}
