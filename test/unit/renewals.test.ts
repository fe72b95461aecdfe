import { expect } from 'chai';
import {
  attributeSeats,
  daysToCommitmentEnd,
  renewalWindowAlerts,
  renewsWithin,
  termOf,
  windowOpen,
  type TermInput,
} from '../../src/domain/renewals.js';

const spb = 'cbdc14ab-d96c-4c30-b9f4-6ada7cdc1d46';
const exchange = '4b9405b0-7788-4568-add1-99614e613b69';
const now = new Date('2026-12-01T12:00:00Z');
/** Partner Center's commitment end: the term's last day at midnight UTC. */
const endIn = (days: number) => new Date(Date.UTC(2026, 11, 1 + days));

const sub = (over: Partial<TermInput> = {}): TermInput => ({
  subscriptionId: 'sub-1',
  skuId: spb,
  quantity: 10,
  status: 'active',
  termDuration: 'P1Y',
  commitmentEndDate: endIn(20),
  cancellationAllowedUntilDate: null,
  autoRenewEnabled: true,
  ...over,
});

describe('renewals: commitments ending within N days, open cancellation windows, unused seats', () => {
  it('names the terms', () => {
    expect(['P1M', 'P1Y', 'P3Y', 'p1y', 'P5Y', null].map(termOf)).to.deep.equal([
      'monthly',
      'yearly',
      'three-year',
      'yearly',
      'other',
      'other',
    ]);
  });

  it('counts days by UTC calendar day: 0 on the last day of the term', () => {
    expect(daysToCommitmentEnd(endIn(0), now)).to.equal(0);
    expect(daysToCommitmentEnd(endIn(30), new Date('2026-12-01T23:59:59Z'))).to.equal(30);
    expect(daysToCommitmentEnd(endIn(-1), now)).to.equal(-1);
  });

  it('includes a commitment ending exactly N days from today, not N + 1', () => {
    expect(renewsWithin(sub({ commitmentEndDate: endIn(30) }), 30, now)).to.equal(true);
    expect(renewsWithin(sub({ commitmentEndDate: endIn(31) }), 30, now)).to.equal(false);
    expect(renewsWithin(sub({ commitmentEndDate: endIn(0) }), 30, now)).to.equal(true);
    expect(
      renewsWithin(sub({ commitmentEndDate: endIn(1), termDuration: 'P3Y' }), 1, now),
    ).to.equal(true);
  });

  it('never flags a monthly term as expiring, even on its last day', () => {
    for (const days of [0, 1, 29])
      expect(
        renewsWithin(sub({ termDuration: 'P1M', commitmentEndDate: endIn(days) }), 90, now),
      ).to.equal(false);
  });

  it('lists a yearly term with auto-renew off: it ends rather than renews, which matters more', () => {
    expect(renewsWithin(sub({ autoRenewEnabled: false }), 30, now)).to.equal(true);
  });

  it('leaves out a commitment that already ended, one without an end date, and inactive ones', () => {
    expect(renewsWithin(sub({ commitmentEndDate: endIn(-1) }), 30, now)).to.equal(false);
    expect(renewsWithin(sub({ commitmentEndDate: null }), 365, now)).to.equal(false);
    for (const status of ['suspended', 'expired', 'deleted', 'pending', 'disabled'])
      expect(renewsWithin(sub({ status }), 30, now)).to.equal(false);
  });

  it('a window is open until its end, whatever the term; one that closed yesterday is not', () => {
    const until = (ms: number) => new Date(now.getTime() + ms);
    expect(windowOpen(sub({ cancellationAllowedUntilDate: until(3600_000) }), now)).to.equal(true);
    expect(
      windowOpen(sub({ termDuration: 'P1M', cancellationAllowedUntilDate: until(1) }), now),
    ).to.equal(true);
    expect(windowOpen(sub({ cancellationAllowedUntilDate: until(-86_400_000) }), now)).to.equal(
      false,
    );
    expect(windowOpen(sub({ cancellationAllowedUntilDate: until(0) }), now)).to.equal(false);
    // Legacy subscriptions have no window; a suspended one cannot be reduced.
    expect(windowOpen(sub({ cancellationAllowedUntilDate: null }), now)).to.equal(false);
    expect(
      windowOpen(sub({ status: 'suspended', cancellationAllowedUntilDate: until(3600_000) }), now),
    ).to.equal(false);
  });

  it('puts the unassigned seats of a shared SKU on the commitments that end first, once', () => {
    const seats = attributeSeats(
      [
        sub({
          subscriptionId: 'monthly',
          termDuration: 'P1M',
          quantity: 10,
          commitmentEndDate: endIn(5),
        }),
        sub({ subscriptionId: 'yearly', quantity: 6, commitmentEndDate: endIn(40) }),
        sub({
          subscriptionId: 'three-year',
          termDuration: 'P3Y',
          quantity: 4,
          commitmentEndDate: endIn(400),
        }),
        sub({ subscriptionId: 'suspended', status: 'suspended', quantity: 9 }),
        sub({ subscriptionId: 'exchange', skuId: exchange, quantity: 3 }),
      ],
      new Map([[spb, 12]]),
    );
    // 20 purchased, 12 assigned: the three-year and the yearly are full, the monthly has 8 spare.
    expect(Object.fromEntries(seats)).to.deep.equal({
      'three-year': { assigned: 4, unassigned: 0 },
      yearly: { assigned: 6, unassigned: 0 },
      monthly: { assigned: 2, unassigned: 8 },
    });
  });

  it('spreads spare seats over several yearly terms by end date, and never below zero', () => {
    const subs = [
      sub({ subscriptionId: 'b-later', quantity: 5, commitmentEndDate: endIn(60) }),
      sub({ subscriptionId: 'a-sooner', quantity: 5, commitmentEndDate: endIn(10) }),
      sub({ subscriptionId: 'no-date', quantity: 2, commitmentEndDate: null }),
    ];
    expect(Object.fromEntries(attributeSeats(subs, new Map([[spb, 4]])))).to.deep.equal({
      'no-date': { assigned: 2, unassigned: 0 },
      'b-later': { assigned: 2, unassigned: 3 },
      'a-sooner': { assigned: 0, unassigned: 5 },
    });
    // More assigned than purchased (grace seats): nothing is unassigned.
    const over = attributeSeats(subs, new Map([[spb, 30]]));
    expect([...over.values()].map((s) => s.unassigned)).to.deep.equal([0, 0, 0]);
  });

  it('upper-case SKU ids match, and the same end date is settled by id', () => {
    const seats = attributeSeats(
      [
        sub({ subscriptionId: 'b', skuId: spb.toUpperCase(), quantity: 3 }),
        sub({ subscriptionId: 'a', quantity: 3 }),
      ],
      new Map([[spb, 4]]),
    );
    expect(Object.fromEntries(seats)).to.deep.equal({
      a: { assigned: 3, unassigned: 0 },
      b: { assigned: 1, unassigned: 2 },
    });
  });

  it('renewal-window alerts: one per UTC day on which open windows close within 7 days, with their number and the first close', () => {
    const closes = (iso: string, over: Partial<TermInput> = {}) =>
      sub({ cancellationAllowedUntilDate: new Date(iso), ...over });
    expect(
      renewalWindowAlerts(
        [
          closes('2026-12-06T18:00:00.000Z'),
          closes('2026-12-03T09:00:00.000Z'),
          closes('2026-12-06T08:30:00.000Z'),
          // Closed already, not active, past the horizon: none of them.
          closes('2026-12-01T11:59:59.000Z'),
          closes('2026-12-04T00:00:00.000Z', { status: 'suspended' }),
          closes('2026-12-08T12:00:01.000Z'),
          sub(),
        ],
        now,
      ),
    ).to.deep.equal([
      { subscriptions: 1, windowEndsAt: '2026-12-03T09:00:00.000Z' },
      { subscriptions: 2, windowEndsAt: '2026-12-06T08:30:00.000Z' },
    ]);
    expect(renewalWindowAlerts([closes('2026-12-08T12:00:00.000Z')], now)).to.have.length(1);
  });
});
