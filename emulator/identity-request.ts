import type { Request, Response } from 'express';
import { sendEntraError } from './errors.js';
import type { EmulatorState } from './state.js';

// What every identity endpoint reads from a request: the tenant in its path, its form fields,
// its origin.

const organizationsAliases = new Set(['common', 'organizations']);

/** The origin the caller used (localhost and 127.0.0.1 give different issuers, as in Entra). */
export function originOf(req: Request): string {
  return `https://${req.get('host') ?? 'localhost'}`;
}

export type TenantRef =
  | { kind: 'multi'; id: string }
  | { kind: 'partner'; id: string }
  | { kind: 'customer'; id: string; partnerTenantId: string };

/** The partner a tenant reference counts against (counters), when it names one. */
export function partnerOf(tenant: TenantRef | undefined): string | undefined {
  if (tenant?.kind === 'partner') return tenant.id;
  if (tenant?.kind === 'customer') return tenant.partnerTenantId;
  return undefined;
}

export function resolveTenant(state: EmulatorState, segment: string): TenantRef | undefined {
  const key = segment.toLowerCase();
  if (organizationsAliases.has(key)) return { kind: 'multi', id: key };
  const partner = state.directory.partner(key);
  if (partner) return { kind: 'partner', id: partner.tenantId };
  const customer = state.directory.customer(key);
  if (customer)
    return { kind: 'customer', id: customer.tenantId, partnerTenantId: customer.partnerTenantId };
  return undefined;
}

export function single(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** A required form field; when absent, answers AADSTS900144 and returns undefined. */
export function requiredParam(req: Request, res: Response, name: string): string | undefined {
  const value = param(req, name);
  if (!value) {
    sendEntraError(
      res,
      400,
      'invalid_request',
      900144,
      `The request body must contain the following parameter: '${name}'.`,
    );
  }
  return value;
}

/** A form field of the request body, when it is a single string. */
export function param(req: Request, name: string): string | undefined {
  return single((req.body as Record<string, unknown> | undefined)?.[name]);
}
