import { Router, type Request } from 'express';
import type { RedisClient } from '../queue/connections.js';
import { withDeadline } from '../deadline.js';
import type { Store } from '../store/database.js';

export type ReadinessCheck = () => Promise<void>;

/**
 * The parts /readyz checks, each named in a 503 when it fails. Redis is asked about a key
 * under `prefix`: on a cluster that reaches the master of the deployment's slot, where a PING
 * would reach any node.
 */
export function readinessChecks(
  store: Store,
  redis: RedisClient,
  prefix: string,
): Record<string, ReadinessCheck> {
  return {
    redis: async () => {
      await redis.exists(`${prefix}:readyz`);
    },
    postgres: () => store.ping(),
    migrations: async () => {
      const state = await store.migrationState();
      if (state.status === 'pending') {
        throw new Error(`${state.expected - state.applied} migration(s) not applied`);
      }
      if (state.status === 'ahead') {
        throw new Error('the database has migrations this version does not know');
      }
    },
  };
}

/**
 * GET /healthz (the process answers) and GET /readyz (its dependencies answer). /readyz names
 * a failing dependency to anyone, but says why (hosts, ports, error text) only to `showsDetails`.
 */
export function healthRouter(
  checks: Record<string, ReadinessCheck>,
  options: {
    /** Whether this request may read why a check failed (an operator's credential). */
    showsDetails: (req: Request) => boolean;
    /** How long each check may take. Default: 2 s */
    timeoutMs?: number;
  },
): Router {
  const { showsDetails, timeoutMs = 2_000 } = options;
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (req, res) => {
    const details = showsDetails(req);
    const names = Object.keys(checks);
    const outcomes = await Promise.allSettled(
      names.map((name) => withDeadline(timeoutMs, checks[name]!())),
    );
    const results: Record<string, string> = {};
    const failing: string[] = [];
    outcomes.forEach((outcome, i) => {
      const name = names[i]!;
      if (outcome.status === 'fulfilled') {
        results[name] = 'ok';
      } else {
        failing.push(name);
        results[name] = details
          ? `unavailable: ${(outcome.reason as Error).message}`
          : 'unavailable';
      }
    });
    res
      .status(failing.length ? 503 : 200)
      .json(
        failing.length
          ? { status: 'unavailable', failing, checks: results }
          : { status: 'ready', checks: results },
      );
  });
  return router;
}
