import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import type { PlannedChange, ReconciliationRow } from '../../src/domain/billing.js';
import { createLogger } from '../../src/logger.js';
import { openStore, type Store } from '../../src/store/database.js';
import { KeyRing } from '../../src/store/encryption.js';
import { PsaConnectionStore } from '../../src/store/psa-connections.js';
import { PsaSyncStore, type SyncChange } from '../../src/store/psa-sync.js';
import { companies, partners } from '../../src/store/schema.js';
import { testConfig } from '../support/config.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { suiteFailed } from '../support/keep-on-failure.js';

const log = createLogger({ level: 'silent' });

describe('PSA connections, reconciliation, sync plan and ledger (PostgreSQL)', function () {
  let database: TestDatabase;
  let store: Store;
  /** Plain SQL beside the stores: what is really in the rows, and what the database refuses. */
  let raw: pg.Pool;
  let ring: KeyRing;
  let connections: PsaConnectionStore;
  let sync: PsaSyncStore;

  before(async () => {
    database = await createTestDatabase();
    store = openStore({ databaseUrl: database.url, log });
    await store.migrate();
    raw = new pg.Pool({ connectionString: database.url, max: 2 });
    ring = new KeyRing(testConfig().encryptionKeys);
    connections = new PsaConnectionStore(store.db, ring);
    sync = new PsaSyncStore(store.db);
  });

  after(async function () {
    await raw?.end();
    await store?.close();
    if (!suiteFailed(this)) await database?.drop();
  });

  /** A partner of its own for each test, with `n` companies. */
  async function partnerWith(n: number): Promise<{ partnerId: string; companyIds: string[] }> {
    const [partner] = await store.db
      .insert(partners)
      .values({ name: `Partner ${randomUUID().slice(0, 8)}` })
      .returning();
    const rows =
      n === 0
        ? []
        : await store.db
            .insert(companies)
            .values(
              Array.from({ length: n }, (_, i) => ({
                partnerId: partner!.id,
                name: `Customer ${i + 1}`,
                customerTenantId: randomUUID(),
              })),
            )
            .returning();
    return { partnerId: partner!.id, companyIds: rows.map((c) => c.id) };
  }

  /** Replaces a company's plan, its products mapped as the plan says (a plan comes of them). */
  async function replacePlan(
    partnerId: string,
    companyId: string,
    plan: Parameters<PsaSyncStore['replacePlan']>[2],
  ): Promise<SyncChange[]> {
    for (const c of plan.changes)
      await connections.saveMapping(
        partnerId,
        {
          sourceKey: c.sourceKey,
          psaProductId: c.psaProductId,
          psaProductName: c.productName,
          countBasis: 'purchased',
          applyMode: c.applyMode,
        },
        'planner',
      );
    return sync.replacePlan(partnerId, companyId, plan);
  }

  async function auditActions(partnerId: string): Promise<{ action: string; details: object }[]> {
    const { rows } = await raw.query<{ action: string; details: object }>(
      'select action, details from audit_events where partner_id = $1 order by id',
      [partnerId],
    );
    return rows;
  }

  const cwSettings = { site: 'na.myconnectwise.net', companyId: 'contosomsp' };
  const cwSecrets = { publicKey: 'pub-Q7wz2', privateKey: 'priv-9fK3xLmP0sT' };

  describe('connections', () => {
    it('seals the credentials in the row and opens them back', async () => {
      const { partnerId } = await partnerWith(0);
      const saved = await connections.save(
        partnerId,
        {
          kind: 'connectwise',
          settings: cwSettings,
          secrets: cwSecrets,
          effectiveDatePolicy: 'today',
        },
        'alice',
      );
      expect(saved).to.not.have.property('credentialsEnc');
      expect(saved).to.include({ kind: 'connectwise', status: 'untested' });

      const { rows } = await raw.query<{ credentials_enc: string }>(
        'select * from psa_connections where partner_id = $1',
        [partnerId],
      );
      expect(rows).to.have.length(1);
      const stored = JSON.stringify(rows[0]);
      for (const secret of Object.values(cwSecrets)) expect(stored).to.not.contain(secret);
      expect(rows[0]!.credentials_enc).to.be.a('string').and.not.be.empty;

      const opened = await connections.open(partnerId);
      expect(opened?.secrets).to.deep.equal(cwSecrets);
      expect(opened?.connection).to.not.have.property('credentialsEnc');
      expect(await connections.get(partnerId)).to.not.have.property('credentialsEnc');

      // Sealed for this connection (the context key rotation reseals it with): under
      // another connection's context the same text does not open.
      const sealed = rows[0]!.credentials_enc;
      expect(
        JSON.parse(ring.decryptString(sealed, `psa_connection:${saved.id}:credentials`)),
      ).to.deep.equal(cwSecrets);
      expect(() =>
        ring.decryptString(sealed, `psa_connection:${randomUUID()}:credentials`),
      ).to.throw();

      // Replacing the secrets seals the new ones, never the old, and the audit has neither.
      const autotaskSecrets = {
        username: 'api@contoso.example',
        secret: 'at-S3cr3t-77',
        integrationCode: 'IC-5521',
      };
      await connections.save(
        partnerId,
        {
          kind: 'autotask',
          settings: { zone: 'webservices5' },
          secrets: autotaskSecrets,
          effectiveDatePolicy: 'next_month',
        },
        'alice',
      );
      expect((await connections.open(partnerId))?.secrets).to.deep.equal(autotaskSecrets);
      const audit = JSON.stringify(await auditActions(partnerId));
      for (const secret of [...Object.values(cwSecrets), ...Object.values(autotaskSecrets)])
        expect(audit).to.not.contain(secret);
    });

    it('drops links and mappings when the partner moves to another PSA, keeps them on the same one', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      const save = (kind: 'connectwise' | 'halo') =>
        connections.save(
          partnerId,
          { kind, settings: cwSettings, secrets: cwSecrets, effectiveDatePolicy: 'today' },
          'alice',
        );
      const first = await save('connectwise');
      await connections.link(
        partnerId,
        {
          companyId: companyIds[0]!,
          psaCompanyId: '250',
          psaCompanyName: 'Contoso Ltd',
          containerId: 'agr-7',
          containerName: 'Managed services',
        },
        'alice',
      );
      await connections.saveMapping(
        partnerId,
        {
          sourceKey: `sku:${randomUUID()}`,
          psaProductId: 'cw-42',
          psaProductName: 'M365 E3',
          countBasis: 'purchased',
          applyMode: 'approval',
        },
        'alice',
      );

      const again = await save('connectwise');
      expect(again.id).to.equal(first.id);
      expect(await connections.links(partnerId)).to.have.length(1);
      expect(await connections.mappings(partnerId)).to.have.length(1);

      const moved = await save('halo');
      expect(moved.id).to.equal(first.id);
      expect(moved.kind).to.equal('halo');
      expect(await connections.links(partnerId)).to.deep.equal([]);
      expect(await connections.mappings(partnerId)).to.deep.equal([]);
    });

    it('drops what names the old site when the connection moves to another site of the same PSA', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      const companyId = companyIds[0]!;
      const save = (settings: Record<string, unknown>, privateKey = cwSecrets.privateKey) =>
        connections.save(
          partnerId,
          {
            kind: 'connectwise',
            settings: { publicKey: 'pub-Q7wz2', clientId: 'client-1', ...settings },
            secrets: { privateKey },
            effectiveDatePolicy: 'today',
          },
          'alice',
        );
      const plannedChange = (sourceKey: string): PlannedChange => ({
        sourceKey,
        productName: sourceKey,
        action: 'set_quantity',
        psaProductId: 'cw-42',
        psaLineId: 'add-77',
        before: 1,
        target: 2,
        applyMode: 'approval',
      });
      const stored = async () => ({
        links: (await connections.links(partnerId)).length,
        mappings: (await connections.mappings(partnerId)).length,
        rows: (await sync.reconciliation(partnerId)).length,
        open: (await sync.changes(partnerId, ['planned', 'approved', 'applying'])).length,
        ledger: (await sync.ledger(partnerId)).length,
      });

      await save({ siteUrl: 'https://na.myconnectwise.net', companyId: 'contosomsp' });
      await connections.link(
        partnerId,
        {
          companyId,
          psaCompanyId: '250',
          psaCompanyName: 'Contoso Ltd',
          containerId: 'agr-7',
          containerName: 'Managed services',
        },
        'alice',
      );
      // One change written (in the ledger), one open.
      await replacePlan(partnerId, companyId, {
        changes: [plannedChange('sku:written')],
        containerId: 'agr-7',
        effectiveDate: '2026-12-01',
      });
      await sync.approve(partnerId, 'alice');
      const [claimed] = await sync.claim(companyId);
      await sync.applied(claimed!, {
        psaKind: 'connectwise',
        lineId: 'add-77',
        before: 1,
        after: 2,
        responseId: 'add-77',
        alreadyApplied: false,
      });
      await replacePlan(partnerId, companyId, {
        changes: [plannedChange('sku:open')],
        containerId: 'agr-7',
        effectiveDate: '2026-12-01',
      });
      await sync.saveReconciliation(partnerId, companyId, [
        {
          sourceKey: 'sku:open',
          productName: 'M365 E3',
          skuId: null,
          skuPartNumber: null,
          mapping: null,
          microsoftPurchased: 2,
          microsoftAssigned: 2,
          customCount: null,
          psaBilled: 1,
          psaLineId: 'add-77',
          psaLineCount: 1,
          difference: 1,
        },
      ]);
      const before = { links: 1, mappings: 2, rows: 1, open: 1, ledger: 1 };
      expect(await stored()).to.deep.equal(before);

      // The same site and company, a new key, typed as the API's address and in capitals.
      await save(
        { siteUrl: 'https://API-NA.myconnectwise.net/', companyId: 'ContosoMSP' },
        'priv-rotated-77',
      );
      expect(await stored()).to.deep.equal(before);

      // Another company on the same site: agreement 7 and product 42 are someone else's.
      await save({ siteUrl: 'https://na.myconnectwise.net', companyId: 'fabrikammsp' });
      expect(await stored()).to.deep.equal({ links: 0, mappings: 0, rows: 0, open: 0, ledger: 1 });
      expect((await sync.changes(partnerId, ['discarded'])).map((c) => c.sourceKey)).to.deep.equal([
        'sku:open',
      ]);
    });

    it('closes the open changes of a PSA the partner leaves', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      const companyId = companyIds[0]!;
      const save = (kind: 'connectwise' | 'autotask') =>
        connections.save(
          partnerId,
          { kind, settings: cwSettings, secrets: cwSecrets, effectiveDatePolicy: 'today' },
          'alice',
        );
      const change = (sourceKey: string): PlannedChange => ({
        sourceKey,
        productName: sourceKey,
        action: 'set_quantity',
        psaProductId: 'cw-42',
        psaLineId: 'add-77',
        before: 1,
        target: 2,
        applyMode: 'approval',
      });
      const planAll = async (...keys: string[]) => {
        await replacePlan(partnerId, companyId, {
          changes: keys.map(change),
          containerId: 'agr-7',
          effectiveDate: '2026-12-01',
        });
      };
      const statuses = async () =>
        Object.fromEntries((await sync.changes(partnerId)).map((c) => [c.sourceKey, c.status]));

      await save('connectwise');
      await planAll('applying');
      await sync.approve(partnerId, 'alice');
      await sync.claim(companyId);
      await planAll('approved');
      await sync.approve(partnerId, 'alice');
      await planAll('planned');
      // The same PSA again (new secrets, say): its ids still mean the same lines.
      await save('connectwise');
      expect(await statuses()).to.deep.equal({
        applying: 'applying',
        approved: 'approved',
        planned: 'planned',
      });

      // ConnectWise agreement ids mean nothing, or another line, in Autotask.
      await save('autotask');
      expect(await statuses()).to.deep.equal({
        applying: 'failed',
        approved: 'discarded',
        planned: 'discarded',
      });
      expect(await sync.claim(companyId)).to.deep.equal([]);
      const [failed] = await sync.changes(partnerId, ['failed']);
      expect(failed!.error).to.match(/PSA connection/);

      // Removing the connection closes them too.
      await planAll('later');
      await sync.approve(partnerId, 'alice');
      await connections.remove(partnerId, 'alice');
      expect((await statuses()).later).to.equal('discarded');
    });

    it("closes a company's open changes when it is billed elsewhere or unlinked", async () => {
      const { partnerId, companyIds } = await partnerWith(2);
      const [companyId, otherCompany] = companyIds as [string, string];
      const linkTo = (company: string, psaCompanyId: string, containerId: string) =>
        connections.link(
          partnerId,
          {
            companyId: company,
            psaCompanyId,
            psaCompanyName: 'Contoso',
            containerId,
            containerName: null,
          },
          'alice',
        );
      const approveOne = async (company: string, sourceKey: string) => {
        await replacePlan(partnerId, company, {
          changes: [
            {
              sourceKey,
              productName: sourceKey,
              action: 'set_quantity',
              psaProductId: 'cw-42',
              psaLineId: null,
              before: 0,
              target: 3,
              applyMode: 'approval',
            },
          ],
          containerId: 'agr-7',
          effectiveDate: '2026-12-01',
        });
        await sync.approve(partnerId, 'alice');
      };
      const statuses = async () =>
        Object.fromEntries((await sync.changes(partnerId)).map((c) => [c.sourceKey, c.status]));

      await linkTo(companyId, '250', 'agr-7');
      await linkTo(otherCompany, '251', 'agr-9');
      await approveOne(companyId, 'first');
      await approveOne(otherCompany, 'elsewhere');
      // Confirmed again as it was: the plan still holds.
      await linkTo(companyId, '250', 'agr-7');
      expect(await statuses()).to.deep.equal({ first: 'approved', elsewhere: 'approved' });

      await linkTo(companyId, '250', 'agr-8');
      expect(await statuses()).to.deep.equal({ first: 'discarded', elsewhere: 'approved' });

      await approveOne(companyId, 'second');
      await linkTo(companyId, '300', 'agr-8');
      expect((await statuses()).second).to.equal('discarded');

      await approveOne(companyId, 'third');
      await sync.claim(companyId);
      expect(await connections.unlink(partnerId, companyId, 'alice')).to.equal(true);
      expect(await statuses()).to.deep.equal({
        first: 'discarded',
        second: 'discarded',
        third: 'failed',
        elsewhere: 'approved',
      });
    });

    it('audits the connection, its links and its mappings', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      const companyId = companyIds[0]!;
      const settings = { tenant: 'contoso', host: 'contoso.halopsa.com' };
      const secrets = { clientId: 'halo-client', clientSecret: 'halo-S3cr3t-90' };
      await connections.save(
        partnerId,
        { kind: 'halo', settings, secrets, effectiveDatePolicy: 'today' },
        'alice',
      );
      await connections.save(
        partnerId,
        { kind: 'halo', settings, secrets, effectiveDatePolicy: 'next_month' },
        'bob',
      );
      await connections.link(
        partnerId,
        {
          companyId,
          psaCompanyId: '12',
          psaCompanyName: 'Contoso',
          containerId: 'ri-3',
          containerName: null,
        },
        'bob',
      );
      const mapping = await connections.saveMapping(
        partnerId,
        {
          sourceKey: 'custom:users',
          psaProductId: 'halo-9',
          psaProductName: 'Managed users',
          countBasis: 'custom_count',
          applyMode: 'automatic',
        },
        'bob',
      );
      expect(await connections.unlink(partnerId, companyId, 'carol')).to.equal(true);
      expect(await connections.unlink(partnerId, companyId, 'carol')).to.equal(false);
      expect(await connections.removeMapping(partnerId, mapping.id, 'carol')).to.equal(true);
      expect(await connections.remove(partnerId, 'carol')).to.equal(true);
      expect(await connections.remove(partnerId, 'carol')).to.equal(false);

      const { rows } = await raw.query<{ actor: string; action: string; subject_id: string }>(
        'select actor, action, subject_id from audit_events where partner_id = $1 order by id',
        [partnerId],
      );
      expect(rows.map((r) => [r.actor, r.action])).to.deep.equal([
        ['alice', 'psa_connection.created'],
        ['bob', 'psa_connection.replaced'],
        ['bob', 'psa_company.linked'],
        ['bob', 'psa_product.mapped'],
        ['carol', 'psa_company.unlinked'],
        ['carol', 'psa_product.unmapped'],
        ['carol', 'psa_connection.removed'],
      ]);
      expect(rows[2]!.subject_id).to.equal(companyId);
      expect(rows[3]!.subject_id).to.equal(mapping.id);
      expect(JSON.stringify(await auditActions(partnerId))).to.not.contain(secrets.clientSecret);
      expect(await connections.get(partnerId)).to.equal(undefined);
    });
  });

  describe('reconciliation rows', () => {
    const skuA = randomUUID();
    const row = (key: string, difference: number | null, name = key): ReconciliationRow => ({
      sourceKey: key,
      productName: name,
      skuId: key.startsWith('sku:') ? skuA : null,
      skuPartNumber: null,
      mapping: null,
      microsoftPurchased: 10,
      microsoftAssigned: 8,
      customCount: null,
      psaBilled: difference === null ? null : 10 - difference,
      psaLineId: null,
      psaLineCount: 0,
      difference,
    });
    async function stored(companyId: string) {
      const { rows } = await raw.query<{
        source_key: string;
        difference: number | null;
        difference_since: Date | null;
        checked_at: Date;
      }>(
        'select source_key, difference, difference_since, checked_at from reconciliation_rows where company_id = $1 order by source_key',
        [companyId],
      );
      return rows;
    }

    it('keeps the time a difference appeared while it lasts, even as it changes, and clears it at 0', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      const companyId = companyIds[0]!;
      const key = `sku:${skuA}`;

      await sync.saveReconciliation(partnerId, companyId, [row(key, 0)]);
      expect((await stored(companyId))[0]).to.include({ difference: 0, difference_since: null });

      await sync.saveReconciliation(partnerId, companyId, [row(key, 3)]);
      expect((await stored(companyId))[0]!.difference_since).to.be.instanceOf(Date);
      // An hour back, so "kept" and "restarted" differ by more than the clock's grain.
      await raw.query(
        `update reconciliation_rows set difference_since = difference_since - interval '1 hour',
           checked_at = checked_at - interval '1 hour' where company_id = $1`,
        [companyId],
      );
      const appeared = (await stored(companyId))[0]!;
      expect(appeared.difference).to.equal(3);

      await sync.saveReconciliation(partnerId, companyId, [row(key, -2)]);
      const changed = (await stored(companyId))[0]!;
      expect(changed.difference).to.equal(-2);
      expect(changed.difference_since?.getTime()).to.equal(appeared.difference_since!.getTime());
      expect(changed.checked_at.getTime()).to.be.greaterThan(appeared.checked_at.getTime());

      await sync.saveReconciliation(partnerId, companyId, [row(key, 0)]);
      expect((await stored(companyId))[0]).to.include({ difference: 0, difference_since: null });

      await sync.saveReconciliation(partnerId, companyId, [row(key, 4)]);
      const again = (await stored(companyId))[0]!;
      expect(again.difference_since!.getTime()).to.be.greaterThan(
        appeared.difference_since!.getTime(),
      );

      // Unknown is not a difference either.
      await sync.saveReconciliation(partnerId, companyId, [row(key, null)]);
      expect((await stored(companyId))[0]).to.include({ difference: null, difference_since: null });
    });

    it('starts a difference on a new row at once', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      await sync.saveReconciliation(partnerId, companyIds[0]!, [row('custom:users', 5)]);
      const [first] = await stored(companyIds[0]!);
      expect(first!.difference_since).to.be.instanceOf(Date);
    });

    it("deletes the rows of products gone, and only that company's", async () => {
      const { partnerId, companyIds } = await partnerWith(2);
      const [one, two] = companyIds as [string, string];
      const keys = [`sku:${skuA}`, 'custom:users', 'custom:antispam'];
      await sync.saveReconciliation(
        partnerId,
        one,
        keys.map((k) => row(k, 1)),
      );
      await sync.saveReconciliation(
        partnerId,
        two,
        keys.map((k) => row(k, 1)),
      );

      await sync.saveReconciliation(partnerId, one, [row('custom:users', 1)]);
      expect((await stored(one)).map((r) => r.source_key)).to.deep.equal(['custom:users']);
      expect(await stored(two)).to.have.length(3);

      await sync.saveReconciliation(partnerId, one, []);
      expect(await stored(one)).to.deep.equal([]);
      expect(await stored(two)).to.have.length(3);
      expect(await sync.reconciliation(partnerId)).to.have.length(3);
    });
  });

  describe('sync plan', () => {
    const change = (key: string, target: number, before = 1): PlannedChange => ({
      sourceKey: key,
      productName: `Product ${key}`,
      action: 'set_quantity',
      psaProductId: `p-${key}`,
      psaLineId: `l-${key}`,
      before,
      target,
      applyMode: 'approval',
    });
    const plan = (...changes: PlannedChange[]) => ({
      changes,
      containerId: 'agr-1',
      effectiveDate: '2026-12-01',
    });
    const byKey = (changes: SyncChange[]) =>
      Object.fromEntries(changes.map((c) => [c.sourceKey, [c.status, c.target]]));

    it('replaces planned changes but keeps approved ones, with no second open change for them', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      const companyId = companyIds[0]!;
      const first = await replacePlan(partnerId, companyId, plan(change('a', 5), change('b', 6)));
      expect(first.map((c) => [c.sourceKey, c.status, c.target])).to.have.deep.members([
        ['a', 'planned', 5],
        ['b', 'planned', 6],
      ]);
      const a = first.find((c) => c.sourceKey === 'a')!;
      await sync.approve(partnerId, 'alice', [a.id]);

      const second = await replacePlan(
        partnerId,
        companyId,
        plan(change('a', 50), change('b', 60), change('c', 70)),
      );
      expect(second.map((c) => [c.sourceKey, c.status, c.target])).to.have.deep.members([
        ['b', 'planned', 60],
        ['c', 'planned', 70],
      ]);
      expect(
        byKey(await sync.changes(partnerId, ['planned', 'approved', 'applying'])),
      ).to.deep.equal({
        a: ['approved', 5],
        b: ['planned', 60],
        c: ['planned', 70],
      });
      const discarded = await sync.changes(partnerId, ['discarded']);
      expect(discarded.map((c) => [c.sourceKey, c.target])).to.deep.equal([['b', 6]]);

      // An empty plan discards what is planned, never what was approved.
      expect(await replacePlan(partnerId, companyId, plan())).to.deep.equal([]);
      expect(byKey(await sync.changes(partnerId, ['planned', 'approved']))).to.deep.equal({
        a: ['approved', 5],
      });
    });

    it('keeps the id of a planned change the next plan repeats, so a page showing it can approve it', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      const companyId = companyIds[0]!;
      const first = await replacePlan(partnerId, companyId, plan(change('a', 5), change('b', 6)));
      const second = await replacePlan(partnerId, companyId, plan(change('a', 5), change('b', 7)));
      const id = (list: SyncChange[], key: string) => list.find((c) => c.sourceKey === key)!.id;
      expect(id(second, 'a')).to.equal(id(first, 'a'));
      expect(id(second, 'b')).to.not.equal(id(first, 'b'));
      const approved = await sync.approve(partnerId, 'alice', [id(first, 'a')]);
      expect(approved.map((c) => [c.sourceKey, c.target])).to.deep.equal([['a', 5]]);
    });

    it('approves planned changes only, and only the partner’s', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      const other = await partnerWith(1);
      const companyId = companyIds[0]!;
      const planned = await replacePlan(
        partnerId,
        companyId,
        plan(change('a', 1), change('b', 2), change('c', 3), change('d', 4)),
      );
      const othersPlan = await replacePlan(
        other.partnerId,
        other.companyIds[0]!,
        plan(change('a', 9)),
      );
      const id = (key: string) => planned.find((c) => c.sourceKey === key)!.id;
      await sync.approve(partnerId, 'alice', [id('b')]);
      await sync.claim(companyId); // b: applying
      await sync.failed(id('c'), 'Refused by the PSA.');

      // Approving b again, or the failed c, changes nothing; a and d move.
      const approved = await sync.approve(partnerId, 'bob');
      expect(approved.map((c) => c.sourceKey)).to.have.members(['a', 'd']);
      for (const c of approved) expect(c).to.include({ status: 'approved', approvedBy: 'bob' });
      expect(byKey(await sync.changes(partnerId))).to.deep.equal({
        a: ['approved', 1],
        b: ['applying', 2],
        c: ['failed', 3],
        d: ['approved', 4],
      });
      const [b] = await sync.changes(partnerId, ['applying']);
      expect(b!.approvedBy).to.equal('alice');
      expect(await sync.approve(partnerId, 'bob', [id('b'), id('c')])).to.deep.equal([]);
      // Another partner's change is not approved by this partner, even by id.
      expect(await sync.approve(partnerId, 'bob', [othersPlan[0]!.id])).to.deep.equal([]);
      expect(byKey(await sync.changes(other.partnerId))).to.deep.equal({ a: ['planned', 9] });

      const { rows } = await raw.query<{ actor: string; details: { changes: string[] } }>(
        "select actor, details from audit_events where partner_id = $1 and action = 'psa_sync.approved' order by id",
        [partnerId],
      );
      expect(rows.map((r) => [r.actor, [...r.details.changes].sort()])).to.deep.equal([
        ['alice', [id('b')]],
        ['bob', [id('a'), id('d')].sort()],
      ]);
    });

    it('closes the open changes of a mapping that bills another product or is removed', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      const companyId = companyIds[0]!;
      const statuses = async () =>
        Object.fromEntries((await sync.changes(partnerId)).map((c) => [c.sourceKey, c.status]));
      const remap = (key: string, psaProductId: string, applyMode: 'approval' | 'automatic') =>
        connections.saveMapping(
          partnerId,
          {
            sourceKey: key,
            psaProductId,
            psaProductName: psaProductId,
            countBasis: 'purchased',
            applyMode,
          },
          'alice',
        );
      await replacePlan(partnerId, companyId, plan(change('a', 1)));
      await sync.approve(partnerId, 'alice');
      await sync.claim(companyId);
      await replacePlan(partnerId, companyId, plan(change('a', 1), change('b', 2)));
      await sync.approve(partnerId, 'alice');
      await replacePlan(partnerId, companyId, plan(change('a', 1), change('b', 2), change('c', 3)));
      await replacePlan(
        partnerId,
        companyId,
        plan(change('a', 1), change('b', 2), change('c', 3), change('d', 4)),
      );
      expect(await statuses()).to.deep.equal({
        a: 'applying',
        b: 'approved',
        c: 'planned',
        d: 'planned',
      });

      // Billed the same way (only approved differently): the plan still holds.
      await remap('d', 'p-d', 'automatic');
      expect((await statuses()).d).to.equal('planned');
      // Another PSA product: nothing planned for the old one may be written to it.
      for (const key of ['a', 'b', 'c']) await remap(key, `other-${key}`, 'approval');
      expect(await statuses()).to.deep.equal({
        a: 'failed',
        b: 'discarded',
        c: 'discarded',
        d: 'planned',
      });
      expect(await sync.claim(companyId)).to.deep.equal([]);
      const [failed] = await sync.changes(partnerId, ['failed']);
      expect(failed!.error).to.match(/product mapping changed/);

      // A plan made from the mapping as it was (read before the change) plans nothing on it.
      const stale = await sync.replacePlan(
        partnerId,
        companyId,
        plan(change('b', 2), change('d', 4)),
      );
      expect(stale.map((c) => c.sourceKey)).to.deep.equal(['d']);
      expect(await statuses()).to.include({ b: 'discarded', d: 'planned' });

      // Removed: its open change goes with it.
      const mappingD = (await connections.mappings(partnerId)).find((m) => m.sourceKey === 'd');
      expect(await connections.removeMapping(partnerId, mappingD!.id, 'alice')).to.equal(true);
      expect((await statuses()).d).to.equal('discarded');
      expect(await sync.changes(partnerId, ['planned', 'approved', 'applying'])).to.deep.equal([]);
    });

    it('claims approved changes, and hands back those left applying', async () => {
      const { partnerId, companyIds } = await partnerWith(2);
      const [companyId, otherCompany] = companyIds as [string, string];
      await replacePlan(partnerId, companyId, plan(change('a', 1)));
      await sync.approve(partnerId, 'alice');
      const firstClaim = await sync.claim(companyId);
      expect(firstClaim.map((c) => [c.sourceKey, c.status])).to.deep.equal([['a', 'applying']]);

      // The worker holding a dies; b is approved, c only planned, d is another company's.
      await replacePlan(partnerId, companyId, plan(change('b', 2), change('c', 3)));
      await replacePlan(partnerId, otherCompany, plan(change('d', 4)));
      const planned = await sync.changes(partnerId, ['planned']);
      await sync.approve(
        partnerId,
        'alice',
        planned.filter((c) => c.sourceKey !== 'c').map((c) => c.id),
      );
      const secondClaim = await sync.claim(companyId);
      expect(secondClaim.map((c) => [c.sourceKey, c.status])).to.deep.equal([
        ['a', 'applying'],
        ['b', 'applying'],
      ]);
      expect(byKey(await sync.changes(partnerId))).to.deep.equal({
        a: ['applying', 1],
        b: ['applying', 2],
        c: ['planned', 3],
        d: ['approved', 4],
      });
    });
  });

  describe('ledger', () => {
    const write = {
      psaKind: 'connectwise' as const,
      lineId: 'add-77',
      before: 3,
      after: 5,
      responseId: 'add-77',
      alreadyApplied: false,
    };

    async function claimedChange(partnerId: string, companyId: string, key = 'sku:a') {
      await replacePlan(partnerId, companyId, {
        changes: [
          {
            sourceKey: key,
            productName: 'Microsoft 365 E3',
            action: 'set_quantity',
            psaProductId: 'cw-42',
            psaLineId: 'add-77',
            before: 3,
            target: 5,
            applyMode: 'approval',
          },
        ],
        containerId: 'agr-7',
        effectiveDate: '2026-12-01',
      });
      await sync.approve(partnerId, 'alice');
      const claimed = await sync.claim(companyId);
      return claimed.find((c) => c.sourceKey === key)!;
    }

    type RawLedgerRow = Record<string, unknown>;
    const ledgerRows = async (changeId: string): Promise<RawLedgerRow[]> =>
      (
        await raw.query<RawLedgerRow>('select * from psa_sync_ledger where change_id = $1', [
          changeId,
        ])
      ).rows;

    it('writes one ledger row and ends the change together, never twice', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      const companyId = companyIds[0]!;
      const change = await claimedChange(partnerId, companyId);

      const entry = await sync.applied(change, write);
      expect(entry).to.include({
        partnerId,
        companyId,
        changeId: change.id,
        psaKind: 'connectwise',
        productName: 'Microsoft 365 E3',
        action: 'set_quantity',
        containerId: 'agr-7',
        psaLineId: 'add-77',
        before: 3,
        after: 5,
        effectiveDate: '2026-12-01',
        psaResponseId: 'add-77',
        alreadyApplied: false,
        approvedBy: 'alice',
      });
      expect(byStatus(await sync.changes(partnerId))).to.deep.equal({ applied: 1 });

      let error: unknown;
      await sync
        .applied(change, { ...write, responseId: 'add-78' })
        .catch((e: unknown) => (error = e));
      expect(error, 'a second write of the same change is refused').to.be.instanceOf(Error);
      const rows = await ledgerRows(change.id);
      expect(rows).to.have.length(1);
      expect(rows[0]!.psa_response_id).to.equal('add-77');
      expect(await sync.ledger(partnerId)).to.have.length(1);
      expect(await sync.ledger(partnerId, companyId)).to.have.length(1);
    });

    it('leaves no ledger row when the change cannot be ended', async () => {
      const { partnerId, companyIds } = await partnerWith(1);
      const change = await claimedChange(partnerId, companyIds[0]!);
      // This database refuses to end this one change, as a lost connection would.
      await raw.query(`
        create function refuse_ending() returns trigger language plpgsql as $$
        begin raise exception 'cannot end change'; end $$;
        create trigger refuse_ending before update on psa_sync_changes for each row
          when (new.id = '${change.id}' and new.status = 'applied') execute function refuse_ending();
      `);
      try {
        let error: unknown;
        await sync.applied(change, write).catch((e: unknown) => (error = e));
        expect(error).to.be.instanceOf(Error);
        expect(await ledgerRows(change.id)).to.deep.equal([]);
        expect(byStatus(await sync.changes(partnerId))).to.deep.equal({ applying: 1 });
      } finally {
        await raw.query(
          'drop trigger refuse_ending on psa_sync_changes; drop function refuse_ending();',
        );
      }
    });

    it('refuses any UPDATE, but lets a deleted company’s reference be cleared', async () => {
      const { partnerId, companyIds } = await partnerWith(2);
      const [gone, kept] = companyIds as [string, string];
      const goneEntry = await sync.applied(await claimedChange(partnerId, gone), write);
      const keptEntry = await sync.applied(await claimedChange(partnerId, kept), write);

      for (const statement of [
        'update psa_sync_ledger set after = 99 where id = $1',
        "update psa_sync_ledger set approved_by = 'mallory' where id = $1",
        'update psa_sync_ledger set company_id = null, after = 99 where id = $1',
      ]) {
        let error: unknown;
        await raw.query(statement, [keptEntry.id]).catch((e: unknown) => (error = e));
        expect(String(error), statement).to.contain('psa_sync_ledger is append-only');
      }

      await raw.query('delete from companies where id = $1', [gone]);
      const [afterDelete] = await ledgerRows(goneEntry.changeId);
      expect(afterDelete!.company_id).to.equal(null);
      expect(afterDelete).to.include({ after: 5, before: 3, approved_by: 'alice' });
      const [untouched] = await ledgerRows(keptEntry.changeId);
      expect(untouched!.company_id).to.equal(kept);
      expect(untouched!.after).to.equal(5);
      expect(await sync.ledger(partnerId)).to.have.length(2);
    });
  });
});

function byStatus(changes: SyncChange[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const c of changes) counts[c.status] = (counts[c.status] ?? 0) + 1;
  return counts;
}
