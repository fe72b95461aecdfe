import type { Request, RequestHandler, Response } from 'express';
import { rateLimit } from 'express-rate-limit';
import type { Redis } from 'ioredis';
import { redisLimitStore } from './rate-limit-store.js';

/** Consent starts per user (pages) or per partner (API) per window. Default: 10 per 15 minutes */
export const consentStarts = { limit: 10, windowMs: 15 * 60 * 1000 };

/** The sentence a refused start answers with. */
export const tooManyConsentStarts = 'Too many consents started. Wait 15 minutes, then start again.';

/**
 * Limits consent starts, each of which stores an attempt: `keyOf` names whose budget a request
 * spends, `refuse` answers once it is spent. Counts live in Redis, shared by every API process.
 */
export function consentStartLimiter(options: {
  redis: Redis;
  /** Redis key prefix of this limiter's counters (one per limiter). */
  prefix: string;
  keyOf: (req: Request) => string;
  refuse: (req: Request, res: Response) => void;
}): RequestHandler {
  const { redis } = options;
  return rateLimit({
    ...consentStarts,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    keyGenerator: options.keyOf,
    store: redisLimitStore(redis, options.prefix),
    // A Redis outage must not stop consents; the attempt itself then fails on its own.
    passOnStoreError: true,
    handler: (req, res) => options.refuse(req, res),
  });
}
