import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { Directory } from '../../emulator/directory.js';
import { subscribedSkus, transitiveUserIds } from '../../emulator/tenants.js';
import { scenarioJsonSchema } from '../../emulator/scenario-json-schema.js';
import { loadDefaultScenario, parseScenario, ScenarioError } from '../../emulator/scenario.js';
import { TokenBucket } from '../../emulator/throttle.js';
import { testScenario } from '../support/emulator.js';

describe('emulator scenarios', () => {
  it('ships a default scenario: an MFA Admin Agent, a user without MFA, a non-Admin-Agent, a few dozen customers', () => {
    const scenario = loadDefaultScenario();
    const [partner] = scenario.partners;
    expect(partner!.users.map((u) => [u.mfa, u.adminAgent])).to.deep.include.members([
      [true, true],
      [false, true],
      [true, false],
    ]);
    expect(new Directory(scenario).partners[0]!.customers.length).to.be.within(24, 60);
    // A Sales Agent and a Helpdesk Agent with MFA, who may list customers but are no Admin Agents.
    const directory = new Directory(scenario);
    const roles = (upn: string) => directory.rolesOf(directory.user(upn)!);
    expect(roles('admin@s365l.com')).to.deep.equal(['AdminAgents']);
    expect(roles('sales@s365l.com')).to.deep.equal(['SalesAgents']);
    expect(roles('helpdesk@s365l.com')).to.deep.equal(['HelpdeskAgents']);
    expect(roles('staff@s365l.com')).to.deep.equal([]);
    expect(directory.user('sales@s365l.com')!.mfa).to.equal(true);
  });

  it('resolves partner roles through nested groups, and amr ngcmfa as MFA', () => {
    const directory = new Directory(parseScenario(testScenario()));
    const nested = directory.user('nested@first.example')!;
    expect(directory.rolesOf(nested)).to.deep.equal(['AdminAgents']);
    expect(directory.directGroupsOf(nested).map((g) => g.displayName)).to.deep.equal([
      'Tier 2',
      'All partner users',
    ]);
    expect(directory.user('hello@first.example')).to.include({ mfa: true });
    expect(directory.user('hello@first.example')!.amr).to.deep.equal(['pwd', 'ngcmfa']);
    const bad = testScenario();
    bad.partners[0]!.groups = [{ displayName: 'X', members: ['nobody@first.example'] }];
    expect(() => new Directory(parseScenario(bad))).to.throw(/unknown member nobody/);
  });

  it('names each problem of an invalid scenario with its path', () => {
    const bad = testScenario({ latencyMs: -1 });
    (bad.partners[0] as { users: unknown[] }).users = [{ upn: 'not-an-upn' }];
    expect(() => parseScenario(bad))
      .to.throw(ScenarioError)
      .with.property('message')
      .that.matches(/latencyMs: .*; partners\.0\.users\.0\.upn: expected a user principal name/);
    const twice = testScenario();
    twice.partners[1]!.tenantId = twice.partners[0]!.tenantId;
    expect(() => parseScenario(twice)).to.throw(/appears twice/);
  });

  it('generates the same customers from the same seed, with consistent license counts', () => {
    const a = new Directory(parseScenario(testScenario()));
    const b = new Directory(parseScenario(testScenario()));
    const [ca, cb] = [a.partners[0]!.customers[5]!, b.partners[0]!.customers[5]!];
    expect(ca.tenantId).to.equal(cb.tenantId);
    expect(a.detail(ca)).to.deep.equal(b.detail(cb));
    for (const customer of a.partners[0]!.customers) {
      const detail = a.detail(customer);
      for (const sku of subscribedSkus(detail)) {
        const bought = detail.subscriptions
          .filter((s) => s.sku.skuId === sku.sku.skuId && s.status === 'active')
          .reduce((n, s) => n + s.quantity, 0);
        expect(sku.activeUnits).to.equal(bought);
        expect(sku.consumedUnits).to.be.at.most(sku.activeUnits);
      }
    }
  });

  it('counts group members through nested groups', () => {
    const directory = new Directory(parseScenario(testScenario()));
    const customer = directory.customer('explicit.example')!;
    const detail = directory.detail(customer);
    const managed = detail.groups.find((g) => g.displayName === 'Managed')!;
    expect(transitiveUserIds(detail, managed.id).size).to.equal(2);
  });

  it('keeps emulator/scenario.schema.json in step with the schema (npm run emulator:schema)', () => {
    const committed = JSON.parse(readFileSync('emulator/scenario.schema.json', 'utf8')) as unknown;
    expect(committed).to.deep.equal(JSON.parse(JSON.stringify(scenarioJsonSchema())));
  });

  it('throttles with a token bucket of one second of burst', () => {
    const bucket = TokenBucket.perSecond(5, 0);
    const waits = Array.from({ length: 7 }, () => bucket.take(1, 0));
    expect(waits.slice(0, 5)).to.deep.equal([0, 0, 0, 0, 0]);
    expect(waits[5]).to.equal(200);
    expect(bucket.take(1, 1000)).to.equal(0);
  });

  it('spends costs from a bucket refilled over its window, refusing without spending', () => {
    // 30 units per 10 s: 3 units a second.
    const bucket = new TokenBucket(30, 10_000, 0);
    expect(bucket.take(25, 0)).to.equal(0);
    // 5 left: a cost of 6 waits for 1 unit (1/3 s) and is not spent.
    expect(bucket.take(6, 0)).to.equal(334);
    expect(bucket.take(5, 0)).to.equal(0);
    expect(bucket.used(0)).to.equal(1);
    expect(bucket.take(3, 1000)).to.equal(0);
  });
});
