import type { NextFunction, Request, Response } from 'express';
import { canonicalEntity } from './fields.js';
import {
  hourlyLimitMessage,
  hourlyLimitStatus,
  threadThresholdMessage,
  threadThresholdStatus,
} from './limits.js';
import type { AutotaskState } from './state.js';

// What every call under a zone's /atservicesrest/v1.0 passes before its entity route:
// the three headers and the zone, the thread limit, the hourly limit (and its slowdown),
// and the user's permission on the entity.

export const sendErrors = (res: Response, status: number, message: string) =>
  void res.status(status).json({ errors: [message] });

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Autotask's words when the API user's security level does not reach the entity. */
const permissionMessage = (entity: string) =>
  `The logged in Resource does not have the adequate permissions to access the ${entity} entity.`;

export function apiGate(state: AutotaskState) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const zone = String(req.params.zone);
    const code = req.get('ApiIntegrationCode');
    const userName = req.get('UserName');
    const secret = req.get('Secret');
    const user = state.scenario.apiUsers.find(
      (u) => u.userName.toLowerCase() === userName?.toLowerCase(),
    );
    const known =
      user !== undefined &&
      user.secret === secret &&
      code !== undefined &&
      state.scenario.integrationCodes.includes(code);
    // A user of another zone is refused as if unknown: clients re-resolve the zone on 401.
    if (!known || state.userZones.get(user.userName.toLowerCase()) !== zone.toLowerCase())
      return sendErrors(
        res,
        401,
        'Unauthorized: the user name, secret or integration code is not valid for this zone.',
      );

    const segment = req.path.split('/')[1] ?? '';
    const entity = canonicalEntity(segment) ?? segment;
    const slot = `${code.toLowerCase()}|${entity.toLowerCase()}`;
    const { limits } = state;
    if (!limits.enter(slot))
      return sendErrors(
        res,
        threadThresholdStatus,
        threadThresholdMessage(limits.config.threadLimit),
      );
    let released = false;
    const release = () => {
      if (!released) limits.leave(slot);
      released = true;
    };
    res.on('finish', release);
    res.on('close', release);

    const admission = limits.admit();
    if (admission.kind === 'refused') {
      res.set('Retry-After', String(admission.retryAfterSec));
      return sendErrors(res, hourlyLimitStatus, hourlyLimitMessage(limits.config.requestsPerHour));
    }
    const delayMs = admission.delayMs + limits.config.holdMs;
    if (delayMs > 0) await sleep(delayMs);
    if (user.deniedEntities.some((e) => e.toLowerCase() === entity.toLowerCase()))
      return sendErrors(res, 500, permissionMessage(entity));
    next();
  };
}
