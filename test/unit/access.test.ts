import { expect } from 'chai';
import {
  accessSentences,
  accessSummary,
  autoExtendBlock,
  customerAccess,
  hasProblem,
  stateDate,
  gdapRoles,
  rolesThroughGroups,
  type RelationshipAccess,
} from '../../src/domain/access.js';

const now = new Date('2026-06-01T00:00:00Z');
const days = (n: number) => new Date(now.getTime() + n * 86_400_000).toISOString();
const relationship = (overrides: Partial<RelationshipAccess> = {}): RelationshipAccess => ({
  id: 'r1',
  displayName: 'Contoso GDAP',
  status: 'active',
  endDateTime: days(300),
  autoExtendDuration: 'P180D',
  roles: ['Global Reader'],
  groups: ['License readers'],
  ...overrides,
});
const access = (
  relationships: RelationshipAccess[],
  appConsent: 'consented' | 'not_consented' | 'unknown' = 'unknown',
  needs: ('licenses' | 'mailboxes' | 'directory')[] = [],
) => customerAccess({ relationships, appConsent, needs, now });

describe('GDAP access per customer', () => {
  it('is ok with an active, auto-extending relationship whose roles read licenses', () => {
    const result = access([relationship()], 'consented');
    expect(result.state).to.equal('ok');
    expect(result.reason).to.equal(undefined);
    expect(result.features).to.deep.equal({
      licenses: { ok: true },
      mailboxes: { ok: true },
      directory: { ok: true },
    });
  });

  it('has no relationship when none exists or the only ones are terminated', () => {
    expect(access([]).state).to.equal('no_relationship');
    const terminated = access([relationship({ status: 'terminated', endDateTime: days(-90) })]);
    expect(terminated.state).to.equal('no_relationship');
    expect(terminated.reason).to.equal(accessSentences.noRelationship);
    expect(terminated.features.licenses.ok).to.equal(false);
  });

  it('is expired when the last relationship ended, by status or past its end', () => {
    const byStatus = access([relationship({ status: 'expired', endDateTime: days(-20) })]);
    expect(byStatus.state).to.equal('expired');
    const pastEnd = access([
      relationship({ status: 'expired', endDateTime: days(-20), displayName: 'Old' }),
      relationship({ endDateTime: days(-2), displayName: 'Lapsed' }),
    ]);
    expect(pastEnd.state).to.equal('expired');
    expect(pastEnd.reason).to.equal(accessSentences.expired('Lapsed', days(-2).slice(0, 10)));
  });

  it('is expiring within 30 days without auto-extend, not with it', () => {
    const ending = access([relationship({ endDateTime: days(12), autoExtendDuration: 'PT0S' })]);
    expect(ending.state).to.equal('expiring');
    expect(ending.reason).to.equal(accessSentences.expiring('Contoso GDAP', days(12).slice(0, 10)));
    expect(access([relationship({ endDateTime: days(12) })]).state).to.equal('ok');
    expect(
      access([relationship({ endDateTime: days(45), autoExtendDuration: 'PT0S' })]).state,
    ).to.equal('ok');
  });

  it('names the group and the relationship when licenses lack a role', () => {
    const result = access([relationship({ roles: ['Exchange Administrator'], groups: ['Mail'] })]);
    expect(result.state).to.equal('missing_role');
    expect(result.reason).to.equal(
      "Give the group 'Mail' Directory Readers in the relationship 'Contoso GDAP', or use a relationship that has it.",
    );
    expect(result.features.licenses.ok).to.equal(false);
    expect(result.features.mailboxes).to.deep.equal({ ok: true });
  });

  it('shows a mailbox role missing, and makes it the state only when mailboxes are counted', () => {
    const licensesOnly = relationship({ roles: ['License Administrator'] });
    const unused = access([licensesOnly]);
    expect(unused.state).to.equal('ok');
    expect(unused.features.mailboxes).to.deep.equal({
      ok: false,
      reason:
        "Give the group 'License readers' Reports Reader in the relationship 'Contoso GDAP', or use a relationship that has it.",
    });
    expect(unused.features.directory.ok).to.equal(false);
    const counted = access([licensesOnly], 'consented', ['mailboxes']);
    expect(counted.state).to.equal('missing_role');
    expect(counted.reason).to.equal(counted.features.mailboxes.reason);
  });

  it('says to join a group when the account is in none of the relationship', () => {
    const result = access([relationship({ roles: [], groups: [] })]);
    expect(result.state).to.equal('missing_role');
    expect(result.reason).to.equal(
      accessSentences.missingRoleNoGroup('Directory Readers', 'Contoso GDAP'),
    );
  });

  it('is app_not_consented when the last customer-tenant sign-in met 90099 or 65001', () => {
    const result = access([relationship()], 'not_consented');
    expect(result.state).to.equal('app_not_consented');
    expect(result.reason).to.equal(accessSentences.appNotConsented);
    // No relationship comes first: consenting the app would not help.
    expect(access([], 'not_consented').state).to.equal('no_relationship');
  });

  it('lets Global Administrator read everything', () => {
    const result = access([relationship({ roles: ['Global Administrator'] })], 'consented', [
      'mailboxes',
      'directory',
    ]);
    expect(result.state).to.equal('ok');
  });

  it('takes the roles of the account’s groups only, by name', () => {
    const groups = new Map([['g1', 'GDAP Readers']]);
    expect(
      rolesThroughGroups(
        [
          { groupId: 'G1', roleDefinitionIds: [gdapRoles['Global Reader']] },
          { groupId: 'g2', roleDefinitionIds: [gdapRoles['Exchange Administrator']] },
        ],
        groups,
      ),
    ).to.deep.equal({ roles: ['Global Reader'], groups: ['GDAP Readers'] });
  });
});

describe('GDAP access problems (the Access tab and its summary)', () => {
  const row = (relationships: RelationshipAccess[], appConsent: 'consented' = 'consented') => ({
    state: access(relationships, appConsent).state,
    relationships,
  });

  it('counts a relationship ending within 7 days apart from one ending within 30', () => {
    const soon = row([relationship({ autoExtendDuration: 'PT0S', endDateTime: days(5) })]);
    const later = row([relationship({ autoExtendDuration: 'PT0S', endDateTime: days(20) })]);
    expect([soon.state, later.state]).to.deep.equal(['expiring', 'expiring']);
    expect(stateDate(soon.state, soon.relationships, now)).to.equal(days(5));
    const summary = accessSummary([soon, later, row([relationship()])], now);
    expect(summary).to.include({ expiring: 2, expiring_7_days: 1, ok: 1, attention: 2 });
  });

  it('dates an expired customer by its latest relationship that ended, not a terminated one', () => {
    const lapsed = row([
      relationship({ status: 'expired', endDateTime: days(-20) }),
      relationship({ id: 'r2', status: 'active', endDateTime: days(-2) }),
      relationship({ id: 'r3', status: 'terminated', endDateTime: days(-1) }),
    ]);
    expect(lapsed.state).to.equal('expired');
    expect(stateDate('expired', lapsed.relationships, now)).to.equal(days(-2));
    expect(stateDate('ok', lapsed.relationships, now)).to.equal(null);
  });

  it('says where Microsoft refuses auto-extend: Microsoft-led, Global Administrator, not active', () => {
    expect(autoExtendBlock(relationship({ displayName: 'MLT_1234' }))).to.equal('microsoft_led');
    expect(autoExtendBlock(relationship({ roles: ['Global Administrator'] }))).to.equal(
      'global_administrator',
    );
    expect(autoExtendBlock(relationship({ status: 'expired' }))).to.equal('not_active');
    expect(autoExtendBlock(relationship({ autoExtendDuration: 'PT0S' }))).to.equal(undefined);
    // Counted only where auto-extend is off and cannot be turned on.
    const cannot = row([
      relationship({ roles: ['Global Administrator'], autoExtendDuration: 'PT0S' }),
    ]);
    const can = row([relationship({ autoExtendDuration: 'PT0S' })]);
    expect(hasProblem('no_auto_extend', cannot, now)).to.equal(true);
    expect(hasProblem('no_auto_extend', can, now)).to.equal(false);
  });
});
