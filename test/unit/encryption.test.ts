import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { DecryptionError, KeyRing } from '../../src/store/encryption.js';

const key = (id: string) => ({ id, key: randomBytes(32) });

describe('envelope encryption', () => {
  const k1 = key('k1');
  const k2 = key('k2');

  it('round-trips text and bytes, with a fresh ciphertext every time', () => {
    const ring = new KeyRing([k1]);
    const a = ring.encrypt('refresh-token-value', 'cache:p1');
    const b = ring.encrypt('refresh-token-value', 'cache:p1');
    expect(a).to.not.equal(b);
    expect(a).to.not.contain('refresh-token-value');
    expect(ring.decryptString(a, 'cache:p1')).to.equal('refresh-token-value');
    const bytes = randomBytes(1000);
    expect(ring.decrypt(ring.encrypt(bytes, 'x'), 'x').equals(bytes)).to.be.true;
  });

  it('binds the value to its context', () => {
    const ring = new KeyRing([k1]);
    const sealed = ring.encrypt('secret', 'consent_attempt:1:verifier');
    expect(() => ring.decrypt(sealed, 'consent_attempt:2:verifier')).to.throw(DecryptionError);
  });

  it('rotates: the first key seals, older keys still open, stale values can be resealed', () => {
    const old = new KeyRing([k1]);
    const sealed = old.encrypt('password', 'admin:1');
    const rotated = new KeyRing([k2, k1]);
    expect(rotated.currentKeyId).to.equal('k2');
    expect(rotated.decryptString(sealed, 'admin:1')).to.equal('password');
    expect(rotated.isStale(sealed)).to.be.true;
    const resealed = rotated.reencrypt(sealed, 'admin:1');
    expect(rotated.isStale(resealed)).to.be.false;
    expect(new KeyRing([k2]).decryptString(resealed, 'admin:1')).to.equal('password');
  });

  it('refuses a value sealed with a key the ring no longer has', () => {
    const sealed = new KeyRing([k1]).encrypt('x', 'c');
    expect(() => new KeyRing([k2]).decrypt(sealed, 'c')).to.throw(DecryptionError, /key "k1"/);
  });

  it('detects tampering with any part', () => {
    const ring = new KeyRing([k1]);
    const sealed = ring.encrypt('the value', 'c');
    const parts = sealed.split('.');
    for (const index of [2, 3]) {
      const bytes = Buffer.from(parts[index]!, 'base64url');
      bytes[bytes.length - 5]! ^= 0x01;
      const tampered = [...parts];
      tampered[index] = bytes.toString('base64url');
      expect(() => ring.decrypt(tampered.join('.'), 'c')).to.throw(DecryptionError);
    }
    expect(() => ring.decrypt(sealed.slice(0, 20), 'c')).to.throw(DecryptionError);
    expect(() => ring.decrypt(`v9${sealed.slice(2)}`, 'c')).to.throw(DecryptionError);
  });
});
