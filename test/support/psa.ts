import { autotaskEmulator } from '../../emulator/psa/autotask/index.js';
import { connectwiseEmulator } from '../../emulator/psa/connectwise/index.js';
import { haloEmulator } from '../../emulator/psa/halo/index.js';
import { startPsaEmulator, type RunningPsaEmulator } from '../../emulator/psa/server.js';
import type { PsaKind } from '../../src/psa/client.js';

/**
 * A PSA's data described once, whichever PSA plays it: companies with the containers
 * (agreement, contract, recurring invoice) their lines are billed on, and the products.
 */
export interface PsaFixture {
  products: { id: number; code: string; name: string }[];
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

export interface TestPsa {
  kind: PsaKind;
  emulator: RunningPsaEmulator<unknown>;
  /** The connection fields to save, as a person would enter them. */
  fields: Record<string, string>;
  /** The same fields with the secret wrong. */
  wrongSecret: Record<string, string>;
  /** The PSA's id of a fixture company, container, product or line. */
  id(kind: 'company' | 'container' | 'product' | 'line', fixtureId: number): string;
  /** What the PSA bills now on a container for a product (active lines). */
  billed(containerId: number, productId: number): number;
  /** Requests that changed the PSA's data (not reads, queries or token requests). */
  writes(): number;
}

/** Counts the emulator's successful requests that are writes by this PSA's rules. */
const writesOf =
  (emulator: RunningPsaEmulator<unknown>, isRead: (method: string, path: string) => boolean) =>
  () =>
    emulator.base.log.filter((e) => e.status < 400 && !isRead(e.method, e.path)).length;

// Test-only credentials, known to the emulators started here.
const secrets = {
  privateKey: 'cw-private-key-test-only',
  autotask: 'at-secret-test-only',
  halo: 'halo-secret-test-only',
};
const today = () => new Date().toISOString().slice(0, 10);
const startDate = '2026-01-01T00:00:00Z';

async function connectwise(fixture: PsaFixture): Promise<TestPsa> {
  const emulator = await startPsaEmulator(connectwiseEmulator, {
    scenario: connectwiseEmulator.parseScenario({
      companyId: 'testmsp',
      clientIds: ['3f1c8d3e-0000-4000-8000-00000000c11e'],
      members: [
        { identifier: 'license-sync', publicKey: 'cw-public-key', privateKey: secrets.privateKey },
      ],
      companies: fixture.companies.map((c) => ({
        id: c.id,
        identifier: `C${c.id}`,
        name: c.name,
        website: `https://www.${c.domain}`,
      })),
      catalog: fixture.products.map((p) => ({ id: p.id, identifier: p.code, description: p.name })),
      agreements: fixture.companies.flatMap((c) =>
        c.containers.map((a) => ({
          id: a.id,
          name: a.name,
          companyId: c.id,
          startDate,
          additions: a.lines.map((l) => ({ ...l, effectiveDate: startDate })),
        })),
      ),
    }),
  });
  const fields = {
    siteUrl: emulator.url,
    companyId: 'testmsp',
    publicKey: 'cw-public-key',
    privateKey: secrets.privateKey,
    clientId: '3f1c8d3e-0000-4000-8000-00000000c11e',
  };
  return {
    kind: 'connectwise',
    emulator,
    writes: writesOf(emulator, (method) => method === 'GET'),
    fields,
    wrongSecret: { ...fields, privateKey: 'not-the-key' },
    id: (_kind, fixtureId) => String(fixtureId),
    billed: (containerId, productId) =>
      [...emulator.state.additions.values()]
        .filter(
          (a) =>
            a.agreementId === containerId &&
            a.productId === productId &&
            (!a.cancelledDate || Date.parse(a.cancelledDate) > emulator.base.now()),
        )
        .reduce((sum, a) => sum + a.quantity, 0),
  };
}

async function autotask(fixture: PsaFixture): Promise<TestPsa> {
  const emulator = await startPsaEmulator(autotaskEmulator, {
    scenario: autotaskEmulator.parseScenario({
      zones: [{ path: 'zone5', zoneName: 'America East 5', ci: 5 }],
      integrationCodes: ['LICSYNCTESTCODE'],
      apiUsers: [{ userName: 'sync@msp.example', secret: secrets.autotask, zone: 'zone5' }],
      companies: fixture.companies.map((c) => ({
        id: c.id,
        companyName: c.name,
        webAddress: `https://www.${c.domain}`,
      })),
      services: fixture.products.map((p) => ({ id: p.id, name: p.name, unitPrice: 10 })),
      contracts: fixture.companies.flatMap((c) =>
        c.containers.map((k) => ({
          id: k.id,
          companyID: c.id,
          contractName: k.name,
          startDate: '2026-01-01',
          endDate: '2027-12-31',
          services: k.lines.map((l) => ({ serviceID: l.productId, units: l.quantity })),
        })),
      ),
    }),
  });
  const fields = {
    userName: 'sync@msp.example',
    secret: secrets.autotask,
    integrationCode: 'LICSYNCTESTCODE',
    zoneLookupUrl: `${emulator.url}/atservicesrest/`,
  };
  return {
    kind: 'autotask',
    emulator,
    // Autotask queries are POSTs too.
    writes: writesOf(
      emulator,
      (method, path) => method === 'GET' || /\/query(\/count|\/next)?$/.test(path),
    ),
    fields,
    wrongSecret: { ...fields, secret: 'not-the-key' },
    id: (_kind, fixtureId) => String(fixtureId),
    billed: (containerId, productId) => {
      const day = new Date(emulator.base.now()).toISOString().slice(0, 10);
      return emulator.state.units
        .filter(
          (u) =>
            u.contractID === containerId &&
            u.serviceID === productId &&
            u.startDate.slice(0, 10) <= day &&
            u.endDate.slice(0, 10) >= day,
        )
        .reduce((sum, u) => sum + u.units, 0);
    },
  };
}

async function halo(fixture: PsaFixture): Promise<TestPsa> {
  const emulator = await startPsaEmulator(haloEmulator, {
    scenario: haloEmulator.parseScenario({
      agents: [{ id: 1, name: 'License Sync' }],
      applications: [{ clientId: 'halo-sync', clientSecret: secrets.halo, agentId: 1 }],
      clients: fixture.companies.map((c) => ({
        id: c.id,
        name: c.name,
        website: `https://www.${c.domain}`,
        domain: c.domain,
      })),
      items: fixture.products.map((p) => ({ id: p.id, name: p.name, internalReference: p.code })),
      recurringInvoices: fixture.companies.flatMap((c) =>
        c.containers.map((k) => ({
          id: k.id,
          clientId: c.id,
          name: k.name,
          lines: k.lines.map((l) => ({
            id: l.id,
            itemId: l.productId,
            quantity: l.quantity,
            startDate: '2026-01-01',
          })),
        })),
      ),
    }),
  });
  const fields = { url: emulator.url, clientId: 'halo-sync', clientSecret: secrets.halo };
  return {
    kind: 'halo',
    emulator,
    writes: writesOf(emulator, (method, path) => method === 'GET' || path.startsWith('/auth/')),
    fields,
    wrongSecret: { ...fields, clientSecret: 'not-the-key' },
    id: (_kind, fixtureId) => String(fixtureId),
    billed: (containerId, productId) =>
      [...emulator.state.lines.values()]
        .filter(
          (l) =>
            l.ihid === containerId &&
            l._itemid === productId &&
            !l.isinactive &&
            (!l.enddate || l.enddate.slice(0, 10) > today()),
        )
        .reduce((sum, l) => sum + l.qty_order, 0),
  };
}

/** Starts `kind`'s emulator holding the fixture. */
export function startTestPsa(kind: PsaKind, fixture: PsaFixture): Promise<TestPsa> {
  switch (kind) {
    case 'connectwise':
      return connectwise(fixture);
    case 'autotask':
      return autotask(fixture);
    case 'halo':
      return halo(fixture);
  }
}
