import type { Router } from 'express';
import { z } from 'zod';
import type { PsaHolder } from '../definition.js';
import type { AutotaskState } from './state.js';

// Autotask's own controls under /_emulator: what happens in the PSA's web pages (approving
// and posting a contract period) or in Datto's hosting (moving a database to another zone).

const approveBody = z
  .object({
    contractID: z.number().int(),
    /** Last day of the last period to approve and post (YYYY-MM-DD). */
    through: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  })
  .strict();
const moveBody = z.object({ userName: z.string(), zone: z.string() }).strict();

export function autotaskControls(router: Router, holder: () => PsaHolder<AutotaskState>): void {
  router.post('/approve-and-post', (req, res) => {
    const body = approveBody.safeParse(req.body);
    if (!body.success)
      return void res
        .status(400)
        .json({ error: 'expected {"contractID": n, "through": "YYYY-MM-DD"}' });
    const { state } = holder();
    if (!state.contracts.some((c) => c.id === body.data.contractID))
      return void res.status(404).json({ error: `no contract ${body.data.contractID}` });
    const marked = state.approveAndPost(body.data.contractID, body.data.through);
    res.json({
      contractID: body.data.contractID,
      postedThrough: state.postedThrough.get(body.data.contractID),
      marked,
    });
  });
  router.post('/move-user', (req, res) => {
    const body = moveBody.safeParse(req.body);
    if (!body.success) return void res.status(400).json({ error: 'expected {"userName", "zone"}' });
    const { state } = holder();
    const key = body.data.userName.toLowerCase();
    if (!state.userZones.has(key)) return void res.status(404).json({ error: 'no such API user' });
    if (!state.scenario.zones.some((z) => z.path === body.data.zone))
      return void res.status(404).json({ error: 'no such zone' });
    state.userZones.set(key, body.data.zone);
    res.json({ userName: body.data.userName, zone: body.data.zone });
  });
}
