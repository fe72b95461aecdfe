import {
  startAutotaskFixture,
  startConnectwiseFixture,
  startHaloFixture,
  type PsaFixture,
} from '../../emulator/psa/fixture.js';
import type { RunningPsaEmulator } from '../../emulator/psa/server.js';
import type { PsaKind } from '../../src/psa/client.js';

export type { PsaFixture } from '../../emulator/psa/fixture.js';

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

// Test-only secrets, known to the emulators started here.
const secrets = {
  connectwise: 'cw-private-key-test-only',
  autotask: 'at-secret-test-only',
  halo: 'halo-secret-test-only',
};
const today = () => new Date().toISOString().slice(0, 10);
const sameIds = (_kind: string, fixtureId: number) => String(fixtureId);

async function connectwise(fixture: PsaFixture): Promise<TestPsa> {
  const { emulator, fields } = await startConnectwiseFixture(fixture, secrets.connectwise);
  const started = emulator as RunningPsaEmulator<unknown>;
  return {
    kind: 'connectwise',
    emulator: started,
    writes: writesOf(started, (method) => method === 'GET'),
    fields,
    wrongSecret: { ...fields, privateKey: 'not-the-key' },
    id: sameIds,
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
  const { emulator, fields } = await startAutotaskFixture(fixture, secrets.autotask);
  const started = emulator as RunningPsaEmulator<unknown>;
  return {
    kind: 'autotask',
    emulator: started,
    // Autotask queries are POSTs too.
    writes: writesOf(
      started,
      (method, path) => method === 'GET' || /\/query(\/count|\/next)?$/.test(path),
    ),
    fields,
    wrongSecret: { ...fields, secret: 'not-the-key' },
    id: sameIds,
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
  const { emulator, fields } = await startHaloFixture(fixture, secrets.halo);
  const started = emulator as RunningPsaEmulator<unknown>;
  return {
    kind: 'halo',
    emulator: started,
    writes: writesOf(started, (method, path) => method === 'GET' || path.startsWith('/auth/')),
    fields,
    wrongSecret: { ...fields, clientSecret: 'not-the-key' },
    id: sameIds,
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
