import type { Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { RedisClient } from '../queue/connections.js';
import { redisLimitStore } from './rate-limit-store.js';

export interface RequestBudget {
  limit: number;
  windowMs: number;
}

/** Consent starts per user (pages) or per partner (API) per window. Default: 10 per 15 minutes */
export const consentStarts: RequestBudget = { limit: 10, windowMs: 15 * 60 * 1000 };

/** The sentence a refused start answers with. */
export const tooManyConsentStarts = 'Too many consents started. Wait 15 minutes, then start again.';

/** Validations on request per user (pages) or per partner (API) per window. Default: 20 per 15 minutes */
export const validationRequests: RequestBudget = { limit: 20, windowMs: 15 * 60 * 1000 };

/** The sentence a refused validation answers with. */
export const tooManyValidations =
  'Too many validations requested. Wait 15 minutes, then validate again.';

/** Sync now from the pages, per partner per window. Default: 1 per minute */
export const syncNowRequests: RequestBudget = { limit: 1, windowMs: 60 * 1000 };

/** The sentence a refused sync now answers with. */
export const tooManySyncs =
  'A sync was asked for this partner less than a minute ago. Wait a minute, then sync again.';

/**
 * Limits requests that each store or enqueue something (a consent attempt, a validation job):
 * `keyOf` names whose budget a request spends, `refuse` answers once it is spent. Counts live
 * in Redis, shared by every API process.
 */
export function requestLimiter(options: {
  redis: RedisClient;
  budget: RequestBudget;
  /** Redis key prefix of this limiter's counters (one per limiter). */
  prefix: string;
  keyOf: (req: Request) => string;
  refuse: (req: Request, res: Response) => void;
}): RequestHandler {
  return rateLimit({
    ...options.budget,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: options.keyOf,
    store: redisLimitStore(options.redis, options.prefix),
    // A Redis outage must not stop the request; what it starts then fails on its own.
    passOnStoreError: true,
    handler: (req, res) => options.refuse(req, res),
  });
}
