import { expect } from 'chai';
import { classifyWebhookAddress } from '../../src/domain/address-ranges.js';
import type { alertEvents } from '../../src/domain/alert-events.js';
import { alertEventNames, describeAlert } from '../../src/domain/alert-events.js';
import {
  messageBody,
  webhookSignature,
  type AlertMessage,
} from '../../src/domain/webhook-messages.js';

const partnerId = '11111111-2222-4333-8444-555555555555';
const runId = '66666666-7777-4888-8999-aaaaaaaaaaaa';

/** Details each event accepts, for the tests below. */
const sampleDetails: Record<string, Record<string, unknown>> = {
  consentNeeded: { reason: 'The consent was revoked.' },
  customLicenseTokenInvalid: { reason: 'The token was revoked.' },
  customLicenseTokenExpiring: { expiresAt: '2026-12-20T00:00:00Z' },
  runFinishedWithFailures: {
    runId,
    total: 40,
    failed: 3,
    noAccess: 2,
    reasons: [{ reason: 'GDAP ended', customers: 2 }],
  },
  runNotStarted: { scheduledAt: '2026-12-01T03:00:00Z' },
  runNotFinished: { runId, startedAt: '2026-12-01T03:00:00Z' },
  gdapEnding30Days: { customers: 4, firstEndsAt: '2026-12-20T00:00:00Z' },
  gdapEnding7Days: { customers: 1, firstEndsAt: '2026-12-05T00:00:00Z' },
  gdapEnded: { customers: 2 },
  appConsentMissing: { customers: 7 },
  billingSyncFailed: { reason: 'The PSA refused the API member.' },
  unmappedProducts: { products: 3 },
  renewalWindow: { subscriptions: 2, windowEndsAt: '2026-12-08T00:00:00Z' },
};

describe('alert events', () => {
  it('every event of the catalog has a severity, a key, sentences and a page under the partner', () => {
    expect(alertEventNames).to.have.members(Object.keys(sampleDetails));
    for (const name of alertEventNames) {
      const text = describeAlert(name, partnerId, sampleDetails[name]);
      expect(['critical', 'warning', 'info'], name).to.include(text.severity);
      expect(text.key, name).to.match(/^[a-z0-9-]+$/);
      expect(text.title.length, name).to.be.within(10, 150);
      expect(text.summary, name).to.match(/\.$/);
      expect(text.path, name).to.match(new RegExp(`^/partners/${partnerId}/[a-z]`));
    }
  });

  it('the same condition gives the same key; another expiry date or run gives another where it should', () => {
    const key = (name: keyof typeof alertEvents, details: object) =>
      describeAlert(name, partnerId, details).key;
    expect(key('consentNeeded', { reason: 'Revoked.' })).to.equal(
      key('consentNeeded', { reason: 'MFA is required again.' }),
    );
    expect(key('customLicenseTokenExpiring', { expiresAt: '2026-12-20T00:00:00Z' })).to.equal(
      key('customLicenseTokenExpiring', { expiresAt: '2026-12-20T18:00:00Z' }),
    );
    expect(key('customLicenseTokenExpiring', { expiresAt: '2026-12-20T00:00:00Z' })).not.to.equal(
      key('customLicenseTokenExpiring', { expiresAt: '2027-01-20T00:00:00Z' }),
    );
    expect(key('runFinishedWithFailures', sampleDetails.runFinishedWithFailures!)).to.equal(
      key('runFinishedWithFailures', {
        ...sampleDetails.runFinishedWithFailures,
        runId: '00000000-0000-4000-8000-000000000000',
      }),
    );
  });

  it('refuses details the event does not take (nothing else can slip into a message)', () => {
    expect(() =>
      describeAlert('consentNeeded', partnerId, { reason: 'x', refreshToken: 'secret' }),
    ).to.throw();
    expect(() => describeAlert('gdapEnded', partnerId, { customers: -1 })).to.throw();
  });

  it('the summary says what happened and what to do', () => {
    const text = describeAlert(
      'runFinishedWithFailures',
      partnerId,
      sampleDetails.runFinishedWithFailures,
    );
    expect(text.title).to.equal('5 customers of 40 were not refreshed');
    expect(text.summary).to.include('3 failed customers and 2 customers without access');
    expect(text.summary).to.include('GDAP ended (2)');
  });
});

describe('webhook messages', () => {
  it('signs timestamp "." body with HMAC-SHA256 as v1=<hex> (the value openssl gives)', () => {
    // printf '%s' '1700000000.{"a":1}' | openssl dgst -sha256 -hmac 'whsec_test'
    expect(webhookSignature('whsec_test', 1_700_000_000, '{"a":1}')).to.equal(
      'v1=38877139021993b830af32feea6e18a8da83eb2f6e49ee50bd9e4cf4ca4d3789',
    );
    expect(webhookSignature('whsec_test', 1_700_000_001, '{"a":1}')).not.to.equal(
      webhookSignature('whsec_test', 1_700_000_000, '{"a":1}'),
    );
  });

  const message: AlertMessage = {
    deliveryId: 'd1',
    kind: 'raised',
    alertId: 'a1',
    partnerId,
    event: 'consentNeeded',
    key: 'consent-needed',
    severity: 'critical',
    title: 'Partner Center consent must be granted again',
    summary: 'The consent was revoked <now>.',
    url: `https://ls.example/partners/${partnerId}/delegated-admin`,
    raisedAt: '2026-12-01T10:00:00.000Z',
    resolvedAt: null,
  };

  it('formats the generic webhook, Teams (an Adaptive Card) and Slack (text and blocks)', () => {
    const generic = JSON.parse(messageBody('webhook', message));
    expect(generic).to.deep.include({ id: 'd1', type: 'alert.raised' });
    expect(generic.alert).to.include({ event: 'consentNeeded', key: 'consent-needed' });
    const teams = JSON.parse(messageBody('teams', message));
    expect(teams.type).to.equal('message');
    expect(teams.attachments[0].contentType).to.equal('application/vnd.microsoft.card.adaptive');
    expect(teams.attachments[0].content.type).to.equal('AdaptiveCard');
    expect(teams.attachments[0].content.actions[0].url).to.equal(message.url);
    const slack = JSON.parse(messageBody('slack', message));
    expect(slack.text).to.equal(message.title);
    expect(slack.blocks[1].text.text).to.equal('The consent was revoked &lt;now&gt;.');
    const resolved = JSON.parse(messageBody('slack', { ...message, kind: 'resolved' }));
    expect(resolved.text).to.match(/^Resolved: /);
  });
});

describe('webhook address ranges', () => {
  it('takes public unicast addresses only', () => {
    for (const address of ['8.8.8.8', '93.184.216.34', '2606:4700::1111']) {
      expect(classifyWebhookAddress(address).refused, address).to.equal(null);
    }
    const refused: Record<string, RegExp> = {
      '127.0.0.1': /loopback/,
      '10.1.2.3': /private/,
      '172.16.5.4': /private/,
      '192.168.0.10': /private/,
      '169.254.169.254': /link-local/,
      '100.64.0.1': /carrier-grade NAT/,
      '0.0.0.0': /unspecified/,
      '224.0.0.251': /multicast/,
      '255.255.255.255': /broadcast/,
      '::1': /loopback/,
      '::': /unspecified/,
      'fe80::1': /link-local/,
      'fd12:3456::1': /unique-local/,
      'ff02::1': /multicast/,
      '::ffff:127.0.0.1': /loopback/,
      '::ffff:10.0.0.1': /private/,
      '64:ff9b::a00:1': /reserved/,
      'not-an-ip': /not an IP/,
    };
    for (const [address, words] of Object.entries(refused)) {
      expect(classifyWebhookAddress(address).refused, address).to.match(words);
    }
  });
});
