import { connectwiseEmulator } from '../../emulator/psa/connectwise/index.js';
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
}

// Test-only credentials, known to the emulators started here.
const secrets = { privateKey: 'cw-private-key-test-only' };
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
    emulator: emulator as RunningPsaEmulator<unknown>,
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

/** Starts `kind`'s emulator holding the fixture. */
export function startTestPsa(kind: PsaKind, fixture: PsaFixture): Promise<TestPsa> {
  switch (kind) {
    case 'connectwise':
      return connectwise(fixture);
    default:
      throw new Error(`no test PSA for ${kind} yet`);
  }
}
