import { Router, type Request, type Response } from 'express';
import { requireLevel } from './access.js';
import { remainingMonthShare, roundMoney } from '../proration.js';
import { additionFields, patchedBody } from './addition-body.js';
import { sendConnectwiseError } from './errors.js';
import { sendCount, sendList } from './listing.js';
import type { ConnectwiseScenario } from './scenario.js';
import {
  additionsVisibleFrom,
  formatDate,
  type ConnectwiseState,
  type StoredAddition,
} from './state.js';
import { additionView } from './views.js';

// /finance/agreements/{id}/additions: a parent agreement's list also shows its child
// agreements' additions (the same addition under two agreements); writes go through the
// agreement that owns the addition.

type Member = ConnectwiseScenario['members'][number];

export function additionRoutes(
  state: ConnectwiseState,
  apiBase: () => string,
  origin: () => string,
) {
  const router = Router({ mergeParams: true });
  const view = (res: Response, a: StoredAddition) =>
    additionView(state, a, apiBase(), res.locals.model as string);

  const agreementOf = (req: Request, res: Response) => {
    const id = Number(req.params.agreementId);
    if (state.agreements.has(id)) return id;
    sendConnectwiseError(
      res,
      404,
      `Agreement with id ${String(req.params.agreementId)} was not found.`,
    );
    return undefined;
  };
  /** The addition as this agreement shows it (reads) or owns it (writes); else a 404. */
  const additionOf = (req: Request, res: Response, owned: boolean) => {
    const agreementId = agreementOf(req, res);
    if (agreementId === undefined) return undefined;
    const addition = state.additions.get(Number(req.params.additionId));
    const reachable = owned
      ? addition?.agreementId === agreementId
      : addition && additionsVisibleFrom(state, agreementId).includes(addition);
    if (addition && reachable) return addition;
    sendConnectwiseError(
      res,
      404,
      `Addition with id ${String(req.params.additionId)} was not found.`,
    );
    return undefined;
  };
  const stamp = (res: Response) => ({
    lastUpdated: formatDate(state.base.now()),
    updatedBy: (res.locals.member as Member).identifier,
  });
  /**
   * The prorate fields of a write: a quantity change made with the flag bills (or credits)
   * the changed seats for the rest of the emulator clock's calendar month. A write that leaves
   * the quantity alone keeps them; one without the flag clears them.
   */
  const prorated = (
    fields: Pick<
      StoredAddition,
      'quantity' | 'unitPrice' | 'unitCost' | 'prorateCurrentPeriodFlag'
    >,
    current: StoredAddition | undefined,
  ) => {
    const change = fields.quantity - (current?.quantity ?? 0);
    if (current && change === 0) {
      const { proratePrice, prorateCost, extendedProratePrice, extendedProrateCost } = current;
      return { proratePrice, prorateCost, extendedProratePrice, extendedProrateCost };
    }
    if (!fields.prorateCurrentPeriodFlag)
      return { proratePrice: 0, prorateCost: 0, extendedProratePrice: 0, extendedProrateCost: 0 };
    const { share } = remainingMonthShare(state.base.now());
    const proratePrice = roundMoney(fields.unitPrice * share);
    const prorateCost = roundMoney(fields.unitCost * share);
    return {
      proratePrice,
      prorateCost,
      extendedProratePrice: roundMoney(proratePrice * change),
      extendedProrateCost: roundMoney(prorateCost * change),
    };
  };
  const invalid = (res: Response, errors: Parameters<typeof sendConnectwiseError>[3]) =>
    sendConnectwiseError(res, 400, 'addition object is invalid', errors);

  const list = (req: Request, res: Response) => {
    const agreementId = agreementOf(req, res);
    if (agreementId === undefined) return undefined;
    return additionsVisibleFrom(state, agreementId).map((a) => view(res, a));
  };
  router.get('/count', requireLevel('agreements', 'inquire'), (req, res) => {
    const rows = list(req, res);
    if (rows) sendCount(req, res, rows);
  });
  router.get('/', requireLevel('agreements', 'inquire'), (req, res) => {
    const rows = list(req, res);
    if (rows)
      sendList(req, res, rows, {
        origin: origin(),
        oversizedPageSize: state.scenario.oversizedPageSize,
      });
  });
  router.get('/:additionId', requireLevel('agreements', 'inquire'), (req, res) => {
    const addition = additionOf(req, res, false);
    if (addition) res.json(view(res, addition));
  });

  router.post('/', requireLevel('agreements', 'add'), (req, res) => {
    const agreementId = agreementOf(req, res);
    if (agreementId === undefined) return;
    if (state.agreements.get(agreementId)!.cancelledFlag)
      return sendConnectwiseError(res, 400, 'Additions cannot be added to a cancelled agreement.');
    const result = additionFields(state, req.body);
    if ('errors' in result) return invalid(res, { errors: result.errors });
    const addition = {
      id: state.nextAdditionId++,
      agreementId,
      ...result.fields,
      ...prorated(result.fields, undefined),
      ...stamp(res),
    };
    state.additions.set(addition.id, addition);
    res.status(201).json(view(res, addition));
  });

  const replace = (res: Response, current: StoredAddition, body: unknown) => {
    const result = additionFields(state, body, current);
    if ('errors' in result) return invalid(res, { errors: result.errors });
    const updated = {
      ...current,
      ...result.fields,
      ...prorated(result.fields, current),
      ...stamp(res),
    };
    state.additions.set(updated.id, updated);
    res.json(view(res, updated));
  };
  router.patch('/:additionId', requireLevel('agreements', 'edit'), (req, res) => {
    const current = additionOf(req, res, true);
    if (!current) return;
    const body = patchedBody(current, req.body);
    if (Array.isArray(body)) return invalid(res, { errors: body });
    replace(res, current, body);
  });
  router.put('/:additionId', requireLevel('agreements', 'edit'), (req, res) => {
    const current = additionOf(req, res, true);
    if (current) replace(res, current, req.body);
  });
  router.delete('/:additionId', requireLevel('agreements', 'delete'), (req, res) => {
    const current = additionOf(req, res, true);
    if (!current) return;
    state.additions.delete(current.id);
    res.status(204).end();
  });
  return router;
}
