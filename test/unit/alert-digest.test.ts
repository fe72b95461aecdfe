import { expect } from 'chai';
import { digestBody, digestEmail, type AlertDigest } from '../../src/domain/digest-messages.js';
import { latestDigestTime, nextDigestTime } from '../../src/domain/digest-schedule.js';

const digest: AlertDigest = {
  digestId: 'digest-c1-2026-12-01',
  day: '2026-12-01',
  entries: [
    {
      alertId: 'a1',
      partnerId: 'p1',
      partnerName: 'Contoso <Ltd>',
      event: 'customLicenseTokenExpiring',
      key: 'custom-license-token-expiring-2030-01-10',
      severity: 'warning',
      title: 'The custom-license token expires on 2030-01-10',
      url: 'https://sync.example/partners/p1/delegated-admin',
      raised: true,
      raisedAt: '2026-11-30T10:00:00.000Z',
      resolvedAt: null,
    },
    {
      alertId: 'a2',
      partnerId: 'p1',
      partnerName: 'Contoso <Ltd>',
      event: 'runFinishedWithFailures',
      key: 'run-failures',
      severity: 'info',
      title: 'A refresh ended with failures',
      url: 'https://sync.example/partners/p1/refresh',
      raised: false,
      raisedAt: '2026-11-29T10:00:00.000Z',
      resolvedAt: '2026-11-30T12:00:00.000Z',
    },
  ],
};

describe('alert digest rendering', () => {
  it('generic webhook: an alert.digest body with each alert, its severity, times and link', () => {
    const body = JSON.parse(digestBody('webhook', digest)) as Record<string, unknown>;
    expect(body).to.deep.include({
      id: 'digest-c1-2026-12-01',
      type: 'alert.digest',
      day: '2026-12-01',
    });
    expect(body.alerts).to.deep.equal([
      {
        id: 'a1',
        partnerId: 'p1',
        event: 'customLicenseTokenExpiring',
        key: 'custom-license-token-expiring-2030-01-10',
        severity: 'warning',
        title: 'The custom-license token expires on 2030-01-10',
        url: 'https://sync.example/partners/p1/delegated-admin',
        raisedAt: '2026-11-30T10:00:00.000Z',
        resolvedAt: null,
      },
      {
        id: 'a2',
        partnerId: 'p1',
        event: 'runFinishedWithFailures',
        key: 'run-failures',
        severity: 'info',
        title: 'A refresh ended with failures',
        url: 'https://sync.example/partners/p1/refresh',
        raisedAt: '2026-11-29T10:00:00.000Z',
        resolvedAt: '2026-11-30T12:00:00.000Z',
      },
    ]);
  });

  it('Teams: one Adaptive Card, a headline and a line with a link per alert', () => {
    const body = JSON.parse(digestBody('teams', digest)) as {
      attachments: { contentType: string; content: { body: { text: string }[] } }[];
    };
    expect(body.attachments).to.have.length(1);
    expect(body.attachments[0]!.contentType).to.equal('application/vnd.microsoft.card.adaptive');
    const texts = body.attachments[0]!.content.body.map((b) => b.text);
    expect(texts).to.deep.equal([
      'license-sync daily digest for 2026-12-01: 2 alerts',
      'Warning: The custom-license token expires on 2030-01-10 (Contoso <Ltd>), raised 2026-11-30T10:00:00.000Z [Open](https://sync.example/partners/p1/delegated-admin)',
      'Info: A refresh ended with failures (Contoso <Ltd>), resolved 2026-11-30T12:00:00.000Z (raised 2026-11-29T10:00:00.000Z) [Open](https://sync.example/partners/p1/refresh)',
    ]);
  });

  it('Slack: a header and one section per alert, mrkdwn escaped, with its link', () => {
    const body = JSON.parse(digestBody('slack', digest)) as {
      text: string;
      blocks: { type: string; text?: { text: string } }[];
    };
    expect(body.blocks.map((b) => b.type)).to.deep.equal(['header', 'section', 'section']);
    expect(body.blocks[1]!.text!.text).to.equal(
      'Warning: The custom-license token expires on 2030-01-10 (Contoso &lt;Ltd&gt;), raised 2026-11-30T10:00:00.000Z · <https://sync.example/partners/p1/delegated-admin|Open>',
    );
  });

  it('Slack: past 48 alerts, the rest are counted in a last block (50 blocks at most)', () => {
    const many = { ...digest, entries: Array.from({ length: 60 }, () => digest.entries[0]!) };
    const body = JSON.parse(digestBody('slack', many)) as {
      blocks: { type: string; elements?: { text: string }[] }[];
    };
    expect(body.blocks).to.have.length(50);
    expect(body.blocks[49]!.elements![0]!.text).to.equal('and 12 more');
  });

  it('email: a subject with the count, every alert in text and escaped HTML, a stable Message-ID', () => {
    const mail = digestEmail(digest, { messageIdDomain: 'sync.example' });
    expect(mail.subject).to.equal(
      '[license-sync] license-sync daily digest for 2026-12-01: 2 alerts',
    );
    expect(mail.text).to.include(
      'Warning: The custom-license token expires on 2030-01-10 (Contoso <Ltd>), raised 2026-11-30T10:00:00.000Z\nOpen: https://sync.example/partners/p1/delegated-admin',
    );
    expect(mail.text).to.include('Info: A refresh ended with failures');
    expect(mail.html).to.include('(Contoso &lt;Ltd&gt;)');
    expect(mail.html).to.include('<a href="https://sync.example/partners/p1/refresh">Open</a>');
    expect(mail.html).not.to.match(/<img|<script|<link/i);
    expect(mail.messageId).to.equal('<alert-digest.digest-c1-2026-12-01@sync.example>');
  });

  it('the digest day: today from the hour on, yesterday before it', () => {
    expect(latestDigestTime(new Date('2026-12-01T07:00:00Z'), 7)).to.deep.equal({
      at: new Date('2026-12-01T07:00:00Z'),
      day: '2026-12-01',
    });
    expect(latestDigestTime(new Date('2026-12-01T06:59:59Z'), 7)).to.deep.equal({
      at: new Date('2026-11-30T07:00:00Z'),
      day: '2026-11-30',
    });
    expect(latestDigestTime(new Date('2027-01-01T00:30:00Z'), 23).day).to.equal('2026-12-31');
  });

  it('the next digest: later today before the hour, tomorrow from it on', () => {
    expect(nextDigestTime(new Date('2026-12-01T06:59:59Z'), 7)).to.deep.equal(
      new Date('2026-12-01T07:00:00Z'),
    );
    expect(nextDigestTime(new Date('2026-12-01T07:00:00Z'), 7)).to.deep.equal(
      new Date('2026-12-02T07:00:00Z'),
    );
    expect(nextDigestTime(new Date('2026-12-31T23:30:00Z'), 23)).to.deep.equal(
      new Date('2027-01-01T23:00:00Z'),
    );
  });
});
