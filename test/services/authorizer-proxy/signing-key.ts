import { generateKeyPairSync } from 'node:crypto';

/** A fresh EC P-256 private key, PKCS#8 PEM: the shape of the `tls.key` cert-manager writes for the signing key. */
export function signingKeyPem(): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
}
