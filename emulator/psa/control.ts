import express, { Router } from 'express';
import { z } from 'zod';
import { psaFaultSchema, ScenarioError } from './base.js';
import type { PsaEmulatorDefinition, PsaHolder, PsaScenarioCommon } from './definition.js';

interface ControlHolder<Scenario, State> {
  get(): PsaHolder<State>;
  scenario(): Scenario;
  replace(input: unknown): void;
}

const clockBody = z
  .union([
    z.object({ advanceSeconds: z.number() }).strict(),
    z.object({ setTo: z.string().datetime({ offset: true }) }).strict(),
  ])
  .describe('{"advanceSeconds": n} or {"setTo": "2027-01-31T00:00:00Z"}');
const single = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** /_emulator: the test, benchmark and demo controls. Never under a PSA path. */
export function psaControlRouter<Scenario extends PsaScenarioCommon, State>(
  definition: PsaEmulatorDefinition<Scenario, State>,
  holder: ControlHolder<Scenario, State>,
): Router {
  const router = Router();
  router.use(express.json({ limit: '20mb' }));

  router.get('/scenario', (_req, res) => res.json(holder.scenario()));
  router.put('/scenario', (req, res) => {
    try {
      holder.replace(req.body);
      res.json({ status: 'loaded' });
    } catch (error) {
      if (!(error instanceof ScenarioError)) throw error;
      res.status(400).json({ error: error.message });
    }
  });
  router.get('/state', (_req, res) => res.json(definition.snapshot(holder.get().state)));

  router.post('/faults', (req, res) => {
    const list: unknown[] = Array.isArray(req.body) ? req.body : [req.body];
    const parsed = z.array(psaFaultSchema).safeParse(list);
    if (!parsed.success)
      return void res.status(400).json({
        error: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      });
    const added = parsed.data.map((f) => holder.get().base.addFault(f));
    res.status(201).json({ faults: added.map(({ matches: _m, ...f }) => f) });
  });
  router.get('/faults', (_req, res) => {
    res.json({ faults: holder.get().base.faults.map(({ matches: _m, ...f }) => f) });
  });
  router.delete('/faults', (_req, res) => {
    holder.get().base.faults = [];
    res.status(204).end();
  });
  router.delete('/faults/:id', (req, res) => {
    const { base } = holder.get();
    const before = base.faults.length;
    base.faults = base.faults.filter((f) => f.id !== req.params.id);
    res.status(base.faults.length < before ? 204 : 404).end();
  });

  router.post('/clock', (req, res) => {
    const body = clockBody.safeParse(req.body);
    if (!body.success)
      return void res.status(400).json({ error: `expected ${clockBody.description}` });
    const { base } = holder.get();
    if ('advanceSeconds' in body.data) base.clockOffsetMs += body.data.advanceSeconds * 1000;
    else base.clockOffsetMs = Date.parse(body.data.setTo) - Date.now();
    res.json({ now: new Date(base.now()).toISOString(), offsetSeconds: base.clockOffsetMs / 1000 });
  });
  router.get('/clock', (_req, res) => {
    const { base } = holder.get();
    res.json({ now: new Date(base.now()).toISOString(), offsetSeconds: base.clockOffsetMs / 1000 });
  });

  router.get('/requests', (req, res) => {
    const q = req.query;
    const since = Number(q.since ?? 0);
    const entries = holder
      .get()
      .base.log.filter(
        (e) =>
          e.id > since &&
          (!q.status || String(e.status) === q.status) &&
          (!q.method || e.method === single(q.method)?.toUpperCase()) &&
          (!q.path || e.path.startsWith(single(q.path) ?? '')),
      );
    const limit = Math.min(Number(q.limit ?? 10_000), 50_000);
    res.json({ requests: entries.slice(-limit), total: entries.length });
  });
  router.get('/counters', (_req, res) => res.json(holder.get().base.counters));

  definition.control?.(router, () => holder.get());
  return router;
}
