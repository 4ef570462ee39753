/** The proxy's token signer at its edges: key types, certificates that are missing or of another key, the token cache. */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { TokenSigner } from '../../../services/authorizer-proxy/signer';
import { signingKeyPem } from './signing-key';
import { issue } from './test-pki';

const dir = mkdtempSync(join(tmpdir(), 'signer-edges-'));
let n = 0;
const file = (content: string) => {
  n += 1;
  const path = join(dir, `f${n}`);
  writeFileSync(path, content);
  return path;
};

describe('TokenSigner at its edges', () => {
  it('does refuse an EC key of another curve, and an Ed25519 key', async () => {
    for (const key of [generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey, generateKeyPairSync('ed25519').privateKey]) {
      const keyFile = file(String(key.export({ type: 'pkcs8', format: 'pem' })));
      await expect(TokenSigner.create({ keyFile, issuer: 'p', audience: 'a', ttlSeconds: 300, publishDelaySeconds: 0 }))
        .rejects.toThrow('the signing key must be an EC P-256 key (ES256)');
    }
  });

  it('does sign at once without a certificate, or with a certificate file that is missing or of another key', async () => {
    const made = Date.parse('2026-11-29T12:00:00Z');
    const other = await issue({ commonName: 'another key' }, undefined, { notBefore: new Date(made) });
    const keyFile = file(signingKeyPem());
    for (const certFile of [undefined, join(dir, 'missing.crt'), file(other.cert)]) {
      const signer = await TokenSigner.create({ keyFile, ...(certFile ? { certFile } : {}), issuer: 'p', audience: 'a', ttlSeconds: 300,
        publishDelaySeconds: 150, now: () => made });
      expect(signer.ready()).toBe(true);
    }
  });

  it('does write its tokens as ES256 JWTs of the issuer and audience, with the subject and permissions', async () => {
    let now = 1_900_000_000_000;
    const signer = await TokenSigner.create({ keyFile: file(signingKeyPem()), issuer: 'proxy', audience: 'frontend', ttlSeconds: 300,
      publishDelaySeconds: 0, now: () => now });
    const token = await signer.mint('spiffe://x', ['orders:write', 'billing:read']);
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'ES256', kid: signer.kid, typ: 'JWT' });
    expect(decodeJwt(token)).toMatchObject({ iss: 'proxy', aud: 'frontend', sub: 'spiffe://x', permissions: ['orders:write', 'billing:read'],
      iat: 1_900_000_000, exp: 1_900_000_300 });
    const jwk = signer.jwks().keys[0];
    expect([jwk.kid, jwk.alg, jwk.use, jwk.kty, jwk.crv]).toEqual([signer.kid, 'ES256', 'sig', 'EC', 'P-256']);
    expect(jwk).not.toHaveProperty('d');
    // Reused while more than half its life is left: not at exactly half.
    now += 149_999;
    expect(await signer.mint('spiffe://x', ['orders:write', 'billing:read'])).toBe(token);
    now += 1;
    expect(await signer.mint('spiffe://x', ['orders:write', 'billing:read'])).not.toBe(token);
  });

  it('does tell tokens apart by subject and permissions in its cache, and forget the oldest past 10,000', async () => {
    const now = 1_900_000_000_000;
    const signer = await TokenSigner.create({ keyFile: file(signingKeyPem()), issuer: 'p', audience: 'a', ttlSeconds: 300,
      publishDelaySeconds: 0, now: () => now });
    const first = await signer.mint('a', ['x:read', 'y:read']);
    expect(await signer.mint('a', ['x:read,y:read'])).not.toBe(first);
    expect(await signer.mint('a\nx:read', ['y:read'])).not.toBe(first);
    for (let i = 0; i < 9_997; i++) {
      await signer.mint(`s${i}`, []);
    }
    expect(await signer.mint('a', ['x:read', 'y:read'])).toBe(first);
    // The 10,001st entry finds 10,000 held: the oldest, the first token, is forgotten.
    await signer.mint('one more', []);
    const again = await signer.mint('a', ['x:read', 'y:read']);
    expect(again).not.toBe(first);
    expect(decodeJwt(again).sub).toBe('a');
    expect(await signer.mint('a', ['x:read', 'y:read'])).toBe(again);
  });

  it('does keep a replaced key published until the last token it signed has expired, not a millisecond longer', async () => {
    let now = 1_900_000_000_000;
    const keyFile = file(signingKeyPem());
    const signer = await TokenSigner.create({ keyFile, issuer: 'p', audience: 'a', ttlSeconds: 300, publishDelaySeconds: 60, now: () => now });
    const old = signer.kid;
    writeFileSync(keyFile, signingKeyPem());
    await signer.reload();
    // The new key signs from now + 60 s; the old one is retired then, and published for 300 s more.
    now += 60_000;
    expect(signer.kid).not.toBe(old);
    now += 299_999;
    expect(signer.jwks().keys.map((k) => k.kid)).toContain(old);
    now += 1;
    expect(signer.jwks().keys.map((k) => k.kid)).not.toContain(old);
  });
});
