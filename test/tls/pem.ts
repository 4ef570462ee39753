import { ValidationCode, ValidationError } from '../../lib/core/errors';
import { extensionsFor, generateKeys, signingAlgorithm, x509 } from './x509-spec';

/** A self-signed certificate as PEM (a CA unless `isCA` is false), and its PKCS#8 private key. */
export async function selfSignedPem(commonName: string, isCA = true): Promise<{ cert: string; key: string }> {
  const keys = await generateKeys({ algorithm: 'ECDSA', size: 256 });
  const spec = { secretName: 'x', issuerRef: { name: 'x' }, commonName, isCA, usages: isCA ? ['cert sign'] : ['client auth'] };
  const cert = await x509.X509CertificateGenerator.create({
    subject: [{ CN: [commonName] }],
    issuer: [{ CN: [commonName] }],
    notBefore: new Date(),
    notAfter: new Date(Date.now() + 86400e3),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: signingAlgorithm(keys.privateKey),
    extensions: await extensionsFor(spec, keys.publicKey),
  });
  const pkcs8 = await globalThis.crypto.subtle.exportKey('pkcs8', keys.privateKey);
  return { cert: `${cert.toString('pem')}\n`, key: `${x509.PemConverter.encode(pkcs8, 'PRIVATE KEY')}\n` };
}

/** Runs `fn`, expects a ValidationError with `code` whose message matches `pattern`; returns it. */
export function expectTlsError(fn: () => unknown, code: ValidationCode, pattern?: RegExp): ValidationError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  if (!(caught instanceof ValidationError)) {
    throw new Error(`expected a ValidationError ${code}, got ${caught instanceof Error ? caught.message : String(caught)}`);
  }
  expect(caught.code).toBe(code);
  if (pattern) {
    expect(caught.message).toMatch(pattern);
  }
  return caught;
}
