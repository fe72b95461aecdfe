import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../config/index.js';
import {
  alertEmail,
  mailtoAddresses,
  mailtoUrl,
  normalizedAddresses,
} from '../../src/domain/email-messages.js';
import type { AlertMessage } from '../../src/domain/webhook-messages.js';
import { createLogger } from '../../src/logger.js';
import { testEnv } from '../support/config.js';

const message: AlertMessage = {
  deliveryId: '0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d',
  kind: 'raised',
  alertId: 'a1',
  partnerId: 'p1',
  event: 'consentNeeded',
  key: 'consent-needed',
  severity: 'critical',
  title: 'Partner Center consent must be granted again',
  summary: 'The consent was revoked. Open Delegated Admin and click Grant Partner Center Consent.',
  url: 'https://ls.example.com/partners/p1/delegated-admin',
  raisedAt: '2026-12-01T10:00:00.000Z',
  resolvedAt: null,
};
const context = { partnerName: 'Contoso IT', messageIdDomain: 'ls.example.com' };

function smtpProblems(env: Record<string, string>): ConfigError {
  try {
    loadConfig(testEnv(env), {
      localSecretsFile: join(mkdtempSync(join(tmpdir(), 'ls-')), 's.json'),
    });
  } catch (error) {
    expect(error).to.be.instanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('alert emails', () => {
  it('a raised alert: severity and partner in the subject; title, summary, facts and the fixing page in text and HTML', () => {
    const mail = alertEmail(message, context);
    expect(mail.subject).to.equal(
      '[license-sync] Critical: Partner Center consent must be granted again (Contoso IT)',
    );
    expect(mail.text.split('\n').slice(0, 9)).to.deep.equal([
      'Partner Center consent must be granted again',
      '',
      'The consent was revoked. Open Delegated Admin and click Grant Partner Center Consent.',
      '',
      'Partner: Contoso IT',
      'Severity: Critical',
      'Event: consentNeeded',
      'Raised: 2026-12-01T10:00:00.000Z',
      '',
    ]);
    expect(mail.text).to.include('Open: https://ls.example.com/partners/p1/delegated-admin\n');
    expect(mail.html).to.include(
      '<a href="https://ls.example.com/partners/p1/delegated-admin">Open the page that fixes it</a>',
    );
    expect(mail.html).to.include('<h1 style="font-size: 1.2em">Partner Center consent');
    // No tracking: nothing is loaded from anywhere, and the one link is the fixing page.
    expect(mail.html).not.to.match(/<img|<script|<link|<iframe|url\(|src=/i);
    expect(mail.html.match(/href="/g)).to.have.length(1);
  });

  it('a resolved alert says so, without the severity, with both times', () => {
    const mail = alertEmail(
      { ...message, kind: 'resolved', resolvedAt: '2026-12-01T11:00:00.000Z' },
      context,
    );
    expect(mail.subject).to.equal(
      '[license-sync] Resolved: Partner Center consent must be granted again (Contoso IT)',
    );
    expect(mail.text).to.include(
      'This no longer needs attention. It was raised at 2026-12-01T10:00:00.000Z.',
    );
    expect(mail.text).to.include('Resolved: 2026-12-01T11:00:00.000Z');
    expect(mail.text).not.to.include('Grant Partner Center Consent');
  });

  it('the Message-ID is the delivery’s: the same on every retry, another for another delivery', () => {
    const first = alertEmail(message, context);
    expect(first.messageId).to.equal(
      '<alert-delivery.0b1f2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d@ls.example.com>',
    );
    expect(alertEmail(message, context).messageId).to.equal(first.messageId);
    expect(alertEmail({ ...message, deliveryId: 'other' }, context).messageId).not.to.equal(
      first.messageId,
    );
  });

  it('escapes every value in the HTML and keeps a partner name with line breaks on one header line', () => {
    const mail = alertEmail(
      { ...message, title: 'A <b>"bold"</b> & \'quoted\' title', summary: '<script>x()</script>' },
      { partnerName: 'Evil\r\nBcc: victim@example.com', messageIdDomain: 'ls.example.com' },
    );
    expect(mail.subject).to.equal(
      '[license-sync] Critical: A <b>"bold"</b> & \'quoted\' title (Evil Bcc: victim@example.com)',
    );
    expect(mail.subject).not.to.match(/[\r\n]/);
    expect(mail.html).to.include(
      'A &lt;b&gt;&quot;bold&quot;&lt;/b&gt; &amp; &#39;quoted&#39; title',
    );
    expect(mail.html).to.include('&lt;script&gt;x()&lt;/script&gt;');
    expect(mail.html).not.to.include('<script>');
  });

  it('an operators’ channel (no partner) and a test-send say what they are', () => {
    const mail = alertEmail(
      { ...message, kind: 'test', partnerId: null },
      {
        partnerName: null,
        messageIdDomain: 'ls.example.com',
      },
    );
    expect(mail.subject).to.equal('[license-sync] Test message from license-sync');
    expect(mail.text).to.include('This address receives license-sync alerts.');
    expect(mail.text).to.include('Partner: every partner (operators’ channel)');
  });

  it('keeps addresses as one mailto: URI and reads them back; normalises and deduplicates them', () => {
    const list = ['it+alerts@example.com', "o'brien@example.com", 'ops@example.com'];
    expect(mailtoUrl(list)).to.equal(
      "mailto:it%2Balerts@example.com,o'brien@example.com,ops@example.com",
    );
    expect(mailtoAddresses(mailtoUrl(list))).to.deep.equal(list);
    expect(mailtoAddresses('https://example.com')).to.deep.equal([]);
    expect(
      normalizedAddresses(['It@Example.COM', 'it@example.com', 'IT@EXAMPLE.com', 'b@x.org']),
    ).to.deep.equal(['It@example.com', 'b@x.org']);
  });
});

describe('email configuration', () => {
  it('takes smtp:// and smtps:// with a login, and a From with or without a name', () => {
    const { config } = loadConfig(
      testEnv({
        SMTP_URL: 'smtps://alerts:p%40ss@mail.example.com:465',
        SMTP_FROM: 'License sync <alerts@example.com>',
      }),
    );
    expect(config.smtp).to.deep.equal({
      url: 'smtps://alerts:p%40ss@mail.example.com:465',
      from: 'License sync <alerts@example.com>',
    });
    const plain = loadConfig(testEnv({ SMTP_URL: 'smtp://127.0.0.1:2525' })).config.smtp;
    expect(plain).to.deep.equal({
      url: 'smtp://127.0.0.1:2525',
      from: 'alerts@localhost',
    });
    expect(loadConfig(testEnv()).config.smtp.url).to.equal(undefined);
  });

  it('names SMTP_URL and SMTP_FROM with what each expects, never repeating the password', () => {
    const cases: [Record<string, string>, string, string][] = [
      [
        { SMTP_URL: 'https://u:hunter2@mail.example.com' },
        'SMTP_URL',
        'expected smtp:// or smtps://',
      ],
      [{ SMTP_URL: 'mail.example.com:25' }, 'SMTP_URL', 'expected smtp:// or smtps://'],
      [
        { SMTP_URL: 'smtp://:hunter2@mail.example.com' },
        'SMTP_URL',
        'a password needs a user name (smtp://user:password@host)',
      ],
      [
        { SMTP_URL: 'smtp://u:hunter2@mail.example.com/x?pool=true' },
        'SMTP_URL',
        'expected no path, query or fragment: smtp[s]://[user:password@]host[:port]',
      ],
      [
        { SMTP_FROM: 'alerts\r\nBcc: x@example.com' },
        'SMTP_FROM',
        'expected an address (alerts@example.com) or a name and one (License sync <alerts@example.com>)',
      ],
      [
        { SMTP_FROM: 'License sync' },
        'SMTP_FROM',
        'expected an address (alerts@example.com) or a name and one (License sync <alerts@example.com>)',
      ],
    ];
    for (const [env, variable, message] of cases) {
      const error = smtpProblems(env);
      expect(error.problems).to.deep.equal([{ variable, message }]);
      expect(error.message).not.to.include('hunter2');
    }
  });

  it('requires SMTP_FROM in production when SMTP_URL is set', () => {
    const error = smtpProblems({ NODE_ENV: 'production', SMTP_URL: 'smtp://mail.example.com' });
    expect(error.problems).to.deep.include({
      variable: 'SMTP_FROM',
      message: 'required when NODE_ENV=production and SMTP_URL is set',
    });
  });

  it('never logs the SMTP URL, which may carry the password', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const { config } = loadConfig(
      testEnv({ SMTP_URL: 'smtp://alerts:hunter2@mail.example.com:587' }),
    );
    const log = createLogger({ level: 'info', destination });
    log.info({ smtp: config.smtp }, 'mail');
    log.info({ config }, 'config');
    expect(lines.join('')).not.to.include('hunter2');
    expect(lines.join('')).to.include('[REDACTED]');
  });
});
