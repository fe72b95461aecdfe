import type { PsaKind } from './base.js';
import { autotaskEmulator } from './autotask/index.js';
import { connectwiseEmulator } from './connectwise/index.js';
import { haloEmulator } from './halo/index.js';
import { startPsaEmulator, type PsaEmulatorOptions, type RunningPsaEmulator } from './server.js';

/**
 * A PSA's data described once, whichever PSA plays it: companies with the containers
 * (agreement, contract, recurring invoice) their lines are billed on, and the products. The
 * tests and the demo describe their PSA this way; each PSA's emulator gets it in its own terms.
 */
export interface PsaFixture {
  /** unitPrice: what a seat bills a month. Default: 0 (Autotask: 10) */
  products: { id: number; code: string; name: string; unitPrice?: number }[];
  companies: {
    id: number;
    name: string;
    domain: string;
    containers: {
      id: number;
      name: string;
      lines: { id: number; productId: number; quantity: number }[];
    }[];
  }[];
}

const startDate = '2026-01-01';
type Options = Pick<PsaEmulatorOptions<never>, 'port' | 'hostname' | 'dir'>;

/** ConnectWise: companies, catalog items and agreements with their additions. */
export async function startConnectwiseFixture(
  fixture: PsaFixture,
  secret: string,
  options: Options = {},
) {
  const emulator = await startPsaEmulator(connectwiseEmulator, {
    ...options,
    scenario: connectwiseEmulator.parseScenario({
      companyId: 'demomsp',
      clientIds: ['3f1c8d3e-0000-4000-8000-00000000c11e'],
      members: [{ identifier: 'license-sync', publicKey: 'cw-public-key', privateKey: secret }],
      companies: fixture.companies.map((c) => ({
        id: c.id,
        identifier: `C${c.id}`,
        name: c.name,
        website: `https://www.${c.domain}`,
      })),
      catalog: fixture.products.map((p) => ({
        id: p.id,
        identifier: p.code,
        description: p.name,
        price: p.unitPrice ?? 0,
      })),
      agreements: fixture.companies.flatMap((c) =>
        c.containers.map((a) => ({
          id: a.id,
          name: a.name,
          companyId: c.id,
          startDate: `${startDate}T00:00:00Z`,
          additions: a.lines.map((l) => ({ ...l, effectiveDate: `${startDate}T00:00:00Z` })),
        })),
      ),
    }),
  });
  const fields = {
    siteUrl: emulator.url,
    companyId: 'demomsp',
    publicKey: 'cw-public-key',
    privateKey: secret,
    clientId: '3f1c8d3e-0000-4000-8000-00000000c11e',
  };
  return { emulator, fields, secretField: 'privateKey' };
}

/** Autotask: one zone, companies, services and Recurring Service contracts with their units. */
export async function startAutotaskFixture(
  fixture: PsaFixture,
  secret: string,
  options: Options = {},
) {
  const emulator = await startPsaEmulator(autotaskEmulator, {
    ...options,
    scenario: autotaskEmulator.parseScenario({
      zones: [{ path: 'zone5', zoneName: 'America East 5', ci: 5 }],
      integrationCodes: ['LICSYNCDEMOCODE'],
      apiUsers: [{ userName: 'sync@msp.example', secret, zone: 'zone5' }],
      companies: fixture.companies.map((c) => ({
        id: c.id,
        companyName: c.name,
        webAddress: `https://www.${c.domain}`,
      })),
      services: fixture.products.map((p) => ({
        id: p.id,
        name: p.name,
        unitPrice: p.unitPrice ?? 10,
      })),
      contracts: fixture.companies.flatMap((c) =>
        c.containers.map((k) => ({
          id: k.id,
          companyID: c.id,
          contractName: k.name,
          startDate,
          endDate: '2027-12-31',
          services: k.lines.map((l) => ({ serviceID: l.productId, units: l.quantity })),
        })),
      ),
    }),
  });
  const fields = {
    userName: 'sync@msp.example',
    secret,
    integrationCode: 'LICSYNCDEMOCODE',
    zoneLookupUrl: `${emulator.url}/atservicesrest/`,
  };
  return { emulator, fields, secretField: 'secret' };
}

/** HaloPSA: an application and its agent, clients, items and recurring invoices with lines. */
export async function startHaloFixture(fixture: PsaFixture, secret: string, options: Options = {}) {
  const emulator = await startPsaEmulator(haloEmulator, {
    ...options,
    scenario: haloEmulator.parseScenario({
      agents: [{ id: 1, name: 'License Sync' }],
      applications: [{ clientId: 'halo-sync', clientSecret: secret, agentId: 1 }],
      clients: fixture.companies.map((c) => ({
        id: c.id,
        name: c.name,
        website: `https://www.${c.domain}`,
        domain: c.domain,
      })),
      items: fixture.products.map((p) => ({
        id: p.id,
        name: p.name,
        internalReference: p.code,
        recurringPrice: p.unitPrice ?? 0,
      })),
      recurringInvoices: fixture.companies.flatMap((c) =>
        c.containers.map((k) => ({
          id: k.id,
          clientId: c.id,
          name: k.name,
          lines: k.lines.map((l) => ({
            id: l.id,
            itemId: l.productId,
            quantity: l.quantity,
            startDate,
          })),
        })),
      ),
    }),
  });
  const fields = { url: emulator.url, clientId: 'halo-sync', clientSecret: secret };
  return { emulator, fields, secretField: 'clientSecret' };
}

/** Starts `kind`'s emulator holding the fixture, with the connection fields that reach it. */
export async function startFixturePsa(
  kind: PsaKind,
  fixture: PsaFixture,
  secret: string,
  options: Options = {},
): Promise<{
  emulator: RunningPsaEmulator<unknown>;
  fields: Record<string, string>;
  secretField: string;
}> {
  switch (kind) {
    case 'connectwise':
      return startConnectwiseFixture(fixture, secret, options);
    case 'autotask':
      return startAutotaskFixture(fixture, secret, options);
    case 'halo':
      return startHaloFixture(fixture, secret, options);
  }
}
