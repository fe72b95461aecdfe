import type { NextFunction, Request, Response } from 'express';
import { sendConnectwiseError } from './errors.js';
import type { ConnectwiseScenario, SecurityModule } from './scenario.js';
import type { ConnectwiseState } from './state.js';

// What every /apis/3.0 request goes through: the model version, the API member's keys and
// the integration's clientId, the (optional) edge rate limit, then per route the member's
// security role.

type Member = ConnectwiseScenario['members'][number];
type Level = 'inquire' | 'add' | 'edit' | 'delete';

const moduleNames: Record<SecurityModule, string> = {
  companyMaintenance: 'Companies > Company Maintenance',
  agreements: 'Finance > Agreements',
  productCatalog: 'Procurement > Product Catalog',
};

/** The model version the request pinned in Accept (`…; version=2020.4`), else the current. */
function pinnedVersion(req: Request, current: string): string | { invalid: string } {
  const match = /version\s*=\s*"?([^;,"\s]+)/i.exec(req.get('Accept') ?? '');
  if (!match) return current;
  const version = match[1]!;
  if (!/^\d{4}\.\d{1,2}$/.test(version)) return { invalid: version };
  const [a = 0, b = 0] = version.split('.').map(Number);
  const [c = 0, d = 0] = current.split('.').map(Number);
  // A version newer than the site's is served the site's current model.
  return a > c || (a === c && b > d) ? current : version;
}

function memberOf(req: Request, scenario: ConnectwiseScenario): Member | undefined {
  const match = /^Basic\s+(\S+)$/i.exec(req.get('Authorization') ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  const user = decoded.slice(0, Math.max(colon, 0));
  const plus = user.indexOf('+');
  if (colon < 0 || plus < 0) return undefined;
  const company = user.slice(0, plus);
  const publicKey = user.slice(plus + 1);
  const privateKey = decoded.slice(colon + 1);
  if (company.toLowerCase() !== scenario.companyId.toLowerCase()) return undefined;
  return scenario.members.find((m) => m.publicKey === publicKey && m.privateKey === privateKey);
}

/** 429 with Retry-After once a member has used its window (scenario `rateLimit`). */
function rateLimited(state: ConnectwiseState, member: Member, res: Response): boolean {
  const limit = state.scenario.rateLimit;
  if (!limit) return false;
  const now = state.base.now();
  const windowMs = limit.windowSeconds * 1000;
  let window = state.rateWindows.get(member.publicKey);
  if (!window || now - window.startedAt >= windowMs) {
    window = { startedAt: now, count: 0 };
    state.rateWindows.set(member.publicKey, window);
  }
  if (window.count < limit.requests) {
    window.count += 1;
    return false;
  }
  res.set(
    'Retry-After',
    String(Math.max(1, Math.ceil((window.startedAt + windowMs - now) / 1000))),
  );
  sendConnectwiseError(res, 429, 'Too many requests. Retry after the time given in Retry-After.');
  return true;
}

export function authenticateApiRequest(state: ConnectwiseState) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const { scenario } = state;
    res.set('api-current-version', scenario.apiVersion);
    const model = pinnedVersion(req, scenario.apiVersion);
    if (typeof model !== 'string')
      return sendConnectwiseError(res, 400, `The version '${model.invalid}' is not valid.`, {
        code: 'InvalidVersion',
      });
    const member = memberOf(req, scenario);
    if (!member)
      return sendConnectwiseError(
        res,
        401,
        'Authentication failed: the company id, public key or private key is not valid.',
      );
    const clientId = req.get('clientId');
    if (!clientId || !scenario.clientIds.includes(clientId))
      return sendConnectwiseError(
        res,
        401,
        clientId ? 'The clientId is not valid.' : 'A clientId header is required.',
      );
    if (rateLimited(state, member, res)) return;
    res.locals.member = member;
    res.locals.model = model;
    next();
  };
}

/** Route guard: 403 unless the member's security role grants `level` on `module`. */
export function requireLevel(module: SecurityModule, level: Level) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    const member = res.locals.member as Member;
    if (member.securityRole[module].includes(level)) return next();
    sendConnectwiseError(
      res,
      403,
      `Security role '${member.securityRole.name}' does not allow ${level} on ${moduleNames[module]}.`,
    );
  };
}
