import { PsaError } from '../errors.js';
import type { ConnectwiseApi } from './api.js';

// A connection check that says which part is wrong: the site address, the company id, the
// keys and clientId, or the API member's security role.

export type ConnectionPart = 'address' | 'company' | 'credentials' | 'permission';

export class ConnectwiseConnectionError extends PsaError {
  constructor(
    /** What the partner has to fix. */
    readonly part: ConnectionPart,
    cause: PsaError,
  ) {
    super(cause.kind, cause.message, cause.status, cause.retryAfterMs);
    this.name = 'ConnectwiseConnectionError';
  }
}

/** The lists the sync reads; each needs Inquire on its module of the security role. */
const readProbes = [
  { path: '/company/companies/count', entity: 'companies' },
  { path: '/procurement/catalog/count', entity: 'catalog' },
  { path: '/finance/agreements/count', entity: 'agreements' },
];

export async function testConnectwiseConnection(
  api: ConnectwiseApi,
): Promise<{ description: string }> {
  const step = async <T>(part: (e: PsaError) => ConnectionPart, run: () => Promise<T>) => {
    try {
      return await run();
    } catch (error) {
      if (!(error instanceof PsaError) || error.kind === 'rate_limited') throw error;
      throw new ConnectwiseConnectionError(part(error), error);
    }
  };
  const info = await step(
    (e) => (e.kind === 'credentials' ? 'company' : 'address'),
    () => api.companyInfo(),
  );
  const system = await step(
    (e) => (e.kind === 'credentials' ? 'credentials' : 'address'),
    () => api.call<{ version?: string }>('/system/info', { entity: 'system' }),
  );
  for (const probe of readProbes)
    await step(
      (e) => (e.kind === 'permission' ? 'permission' : 'address'),
      () => api.call(probe.path, { entity: probe.entity }),
    );
  const version = system.data.version ?? info.VersionCode ?? 'of unknown version';
  const name = info.CompanyName ?? 'ConnectWise PSA';
  return { description: `${name}: ConnectWise PSA ${version}, codebase ${info.Codebase}` };
}
