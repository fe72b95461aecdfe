import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptionKey } from '../../config/index.js';

/** Thrown when a sealed value cannot be opened: malformed, unknown key, or tampered with. */
export class DecryptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DecryptionError';
  }
}

const version = 'v1';
const algorithm = 'aes-256-gcm';

function seal(key: Buffer, plaintext: Buffer, aad: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv(algorithm, key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, body, cipher.getAuthTag()]);
}

function open(key: Buffer, sealed: Buffer, aad: string): Buffer {
  if (sealed.length < 12 + 16) throw new DecryptionError('sealed value is truncated');
  const decipher = createDecipheriv(algorithm, key, sealed.subarray(0, 12));
  decipher.setAAD(Buffer.from(aad, 'utf8'));
  decipher.setAuthTag(sealed.subarray(sealed.length - 16));
  try {
    return Buffer.concat([
      decipher.update(sealed.subarray(12, sealed.length - 16)),
      decipher.final(),
    ]);
  } catch {
    throw new DecryptionError('sealed value failed authentication (tampered, or wrong context)');
  }
}

/**
 * Envelope encryption with AES-256-GCM. Each value gets its own data key, wrapped by the
 * newest key of the ring; the sealed text names the wrapping key id so older keys still
 * open what they sealed. `context` (e.g. "consent_attempt:<id>:verifier") is bound as
 * additional authenticated data, so a ciphertext copied to another row does not open.
 *
 * Format: v1.<kid>.<wrapped data key>.<sealed value>, base64url parts.
 */
export class KeyRing {
  private readonly keys: Map<string, Buffer>;
  private readonly current: EncryptionKey;

  constructor(keys: readonly EncryptionKey[]) {
    if (keys.length === 0) throw new Error('the key ring needs at least one key');
    for (const k of keys) {
      if (k.key.length !== 32) throw new Error(`key ${k.id} is not 32 bytes`);
    }
    this.current = keys[0]!;
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  /** The id of the key new values are sealed with. */
  get currentKeyId(): string {
    return this.current.id;
  }

  encrypt(plaintext: string | Buffer, context: string): string {
    const dataKey = randomBytes(32);
    const kid = this.current.id;
    const wrapped = seal(this.current.key, dataKey, `${version}|${kid}|data-key`);
    const body = seal(
      dataKey,
      typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext,
      `${version}|${kid}|${context}`,
    );
    dataKey.fill(0);
    return [version, kid, wrapped.toString('base64url'), body.toString('base64url')].join('.');
  }

  decrypt(sealed: string, context: string): Buffer {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== version) {
      throw new DecryptionError('not a sealed value of a known version');
    }
    const [, kid, wrapped, body] = parts as [string, string, string, string];
    const key = this.keys.get(kid);
    if (!key) throw new DecryptionError(`sealed with key "${kid}", which ENCRYPTION_KEYS lacks`);
    const dataKey = open(key, Buffer.from(wrapped, 'base64url'), `${version}|${kid}|data-key`);
    try {
      return open(dataKey, Buffer.from(body, 'base64url'), `${version}|${kid}|${context}`);
    } finally {
      dataKey.fill(0);
    }
  }

  decryptString(sealed: string, context: string): string {
    return this.decrypt(sealed, context).toString('utf8');
  }

  /** True when `sealed` was wrapped by an older key and should be sealed again. */
  isStale(sealed: string): boolean {
    return sealed.split('.')[1] !== this.current.id;
  }

  /** Opens with whichever key sealed it and seals again with the current key. */
  reencrypt(sealed: string, context: string): string {
    return this.encrypt(this.decrypt(sealed, context), context);
  }
}
