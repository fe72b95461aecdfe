import selfsigned from 'selfsigned';

export interface TlsMaterial {
  cert: string;
  key: string;
}

/**
 * A certificate for the loopback names, valid for a year, that is its own CA. Each emulator
 * names its own: a client trusting two CAs of one name may check a chain against the wrong one.
 */
export async function generateTls(commonName = 'license-sync emulator'): Promise<TlsMaterial> {
  const pems = await selfsigned.generate([{ name: 'commonName', value: commonName }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}
