import { Writable } from 'node:stream';
import { expect } from 'chai';
import { createLogger, redactUrl } from '../../src/logger.js';
import { presentedSecret } from '../../src/server/admin-auth.js';

describe('log redaction', () => {
  it('blanks secret query parameters inside URLs and drops fragments', () => {
    expect(redactUrl('/auth/callback?code=0.AAA&state=xyz&session_state=s1')).to.equal(
      '/auth/callback?code=[REDACTED]&state=[REDACTED]&session_state=[REDACTED]',
    );
    expect(redactUrl('https://h/p?a=1&CODE=2&b=3#access_token=abc')).to.equal(
      'https://h/p?a=1&CODE=[REDACTED]&b=3',
    );
    expect(redactUrl('/x?st%61te=1&%zz=2')).to.equal('/x?st%61te=[REDACTED]&%zz=2');
    expect(redactUrl('/healthz')).to.equal('/healthz');
    expect(redactUrl('https://login.example/authorize?client_id=c&nonce=n1&state=s1')).to.equal(
      'https://login.example/authorize?client_id=c&nonce=[REDACTED]&state=[REDACTED]',
    );
  });

  it('never writes tokens, passwords or authorization headers', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const log = createLogger({ level: 'info', destination });
    log.info(
      {
        req: { headers: { authorization: 'Bearer abc123', cookie: 'sid=s3cr3t' } },
        tokens: { refreshToken: 'rt-value', accessToken: 'at-value' },
        admin: { password: 'hunter2' },
      },
      'hello',
    );
    const written = lines.join('');
    for (const secret of ['abc123', 's3cr3t', 'rt-value', 'at-value', 'hunter2']) {
      expect(written).to.not.contain(secret);
    }
    expect(written).to.contain('[REDACTED]');
  });

  it('reads the admin secret from Bearer credentials only', () => {
    expect(presentedSecret('Bearer tok')).to.equal('tok');
    expect(presentedSecret('bearer tok')).to.equal('tok');
    expect(presentedSecret(`Basic ${Buffer.from('ops:pa:ss').toString('base64')}`)).to.equal(
      undefined,
    );
    expect(presentedSecret('Digest x')).to.equal(undefined);
    expect(presentedSecret(undefined)).to.equal(undefined);
  });
});
