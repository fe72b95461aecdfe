import { PsaError } from '../errors.js';
import type { HaloApi } from './api.js';
import { apiUrlOf } from './connection.js';

// testConnection: first the address and the client credentials (a token), then one read of
// each area the sync uses, so a refusal names the permission the API application or its agent
// lacks. Write permissions show at the first write (Halo has no dry run).

const areas: [path: string, what: string][] = [
  ['/Client', 'clients'],
  ['/RecurringInvoice', 'recurring invoices'],
  ['/Item', 'items'],
  ['/SoftwareLicence', 'software licences'],
];

export async function checkHaloConnection(api: HaloApi): Promise<{ description: string }> {
  const apiUrl = apiUrlOf(api.connection);
  try {
    await api.tokens.get(true);
  } catch (error) {
    if (error instanceof PsaError && error.status === undefined && error.kind === 'transient')
      throw new PsaError('transient', `Cannot reach the Halo address: ${error.message}`);
    throw error;
  }
  for (const [path, what] of areas) {
    try {
      // One record of one page (/Item declares no count parameter).
      await api.get(path, { pageinate: true, page_size: 1, page_no: 1 });
    } catch (error) {
      if (!(error instanceof PsaError)) throw error;
      if (error.kind === 'permission')
        throw new PsaError(
          'permission',
          `The Halo API application may not read ${what}: ${error.message}`,
          error.status,
        );
      if (error.kind === 'not_found')
        throw new PsaError(
          'credentials',
          `No Halo API answered at ${apiUrl}${path}: check the address.`,
          error.status,
        );
      throw error;
    }
  }
  const tenant = api.connection.tenant ? ` (tenant ${api.connection.tenant})` : '';
  return {
    description: `HaloPSA at ${apiUrl}${tenant}: clients, recurring invoices, items and software licences readable.`,
  };
}
