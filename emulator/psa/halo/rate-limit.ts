import type { NextFunction, Request, Response } from 'express';
import { sendHaloError } from './errors.js';
import type { HaloState } from './state.js';

// Hosted Halo allows 300 requests per rolling 5-minute window, then answers 429 "Rate Limit
// Reached - 300 Requests per rolling 5 minute window" (KelvinTegelaar/PowerShellWarrantyReports
// issue #51, homotechsual/HaloAPI issue #31), with no documented Retry-After. Every resource
// server request counts, per tenant; a refused one does not.

function rateLimitMessage(requests: number, windowSeconds: number): string {
  const minutes = windowSeconds / 60;
  const window = Number.isInteger(minutes) ? `${minutes} minute` : `${windowSeconds} second`;
  return `Rate Limit Reached - ${requests} Requests per rolling ${window} window`;
}

export function haloRateLimit(state: HaloState) {
  const { requests, windowSeconds, retryAfterSeconds } = state.scenario.rateLimit;
  const windowMs = windowSeconds * 1000;
  const tenant = state.scenario.tenant ?? '';
  return (_req: Request, res: Response, next: NextFunction) => {
    const now = state.base.now();
    const times = (state.requestTimes.get(tenant) ?? []).filter((t) => t > now - windowMs);
    state.requestTimes.set(tenant, times);
    if (times.length >= requests) {
      if (retryAfterSeconds !== undefined) res.set('Retry-After', String(retryAfterSeconds));
      return sendHaloError(res, 429, rateLimitMessage(requests, windowSeconds));
    }
    times.push(now);
    next();
  };
}
