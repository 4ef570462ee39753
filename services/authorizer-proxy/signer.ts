/**
 * The proxy's own token signer: short-lived ES256 JWTs carrying the caller's Temporal permissions, and the
 * JWKS the frontend fetches them from. The key comes from a mounted file (a Secret the PKI keeps rotating);
 * a new key is published at once but signs only after `publishDelay`, so every frontend has fetched it first.
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, JWK, SignJWT } from 'jose';

export interface SignerOptions {
  /** PEM file with the EC P-256 private key (PKCS#8, as cert-manager writes `tls.key`). */
  readonly keyFile: string;
  /** `iss` of minted tokens. */
  readonly issuer: string;
  /** `aud` of minted tokens (the frontend's `global.authorization.audience`). */
  readonly audience: string;
  /** Lifetime of a minted token. */
  readonly ttlSeconds: number;
  /** How long a new key is published before it signs (longer than the frontend's key refresh interval). */
  readonly publishDelaySeconds: number;
  /** @default Date.now */
  readonly now?: () => number;
}

interface SigningKey {
  readonly kid: string;
  readonly key: KeyObject;
  readonly jwk: JWK;
  readonly digest: string;
  /** When it may start signing (ms). */
  readonly signsFrom: number;
  /** When it was replaced (ms), if it was. */
  retiredAt?: number;
}

async function loadKey(pem: string, signsFrom: number): Promise<SigningKey> {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the signing key must be an EC P-256 key (ES256)');
  }
  const jwk = await exportJWK(createPublicKey(key));
  const kid = await calculateJwkThumbprint(jwk);
  return { kid, key, jwk: { ...jwk, kid, alg: 'ES256', use: 'sig' }, digest: createHash('sha256').update(pem).digest('hex'), signsFrom };
}

export class TokenSigner {
  public static async create(options: SignerOptions): Promise<TokenSigner> {
    const now = options.now ?? Date.now;
    // The first key signs at once: nothing was signed before it.
    return new TokenSigner(options, [await loadKey(readFileSync(options.keyFile, 'utf8'), now())]);
  }

  private readonly cache = new Map<string, { token: string; expires: number }>();

  private constructor(private readonly options: SignerOptions, private keys: SigningKey[]) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** The key that signs now: the newest one whose publish delay has passed. */
  private active(): SigningKey {
    const now = this.now();
    return [...this.keys].reverse().find((k) => k.signsFrom <= now) ?? this.keys[0];
  }

  /** Re-reads the key file; a new key is published now and signs after the publish delay. Returns true on a change. */
  public async reload(): Promise<boolean> {
    const pem = readFileSync(this.options.keyFile, 'utf8');
    const digest = createHash('sha256').update(pem).digest('hex');
    if (this.keys[this.keys.length - 1].digest === digest) {
      return false;
    }
    const now = this.now();
    const fresh = await loadKey(pem, now + this.options.publishDelaySeconds * 1000);
    this.keys[this.keys.length - 1].retiredAt = fresh.signsFrom;
    // Old keys stay published while tokens they signed can still be presented.
    this.keys = [...this.published(), fresh];
    this.cache.clear();
    return true;
  }

  /** The published keys (the frontend's key source). */
  public jwks(): { keys: JWK[] } {
    return { keys: this.published().map((k) => k.jwk) };
  }

  /** Keys that are published: every key not retired, and retired ones while their tokens may still be presented. */
  private published(): SigningKey[] {
    const now = this.now();
    return this.keys.filter((k) => k.retiredAt === undefined || k.retiredAt + this.options.ttlSeconds * 1000 > now);
  }

  /** The `kid` of the key that signs now. */
  public get kid(): string {
    return this.active().kid;
  }

  /**
   * A token for `subject` with `permissions`, reused while more than half of its lifetime is left (so a busy
   * caller does not pay for a signature on every call).
   */
  public async mint(subject: string, permissions: readonly string[]): Promise<string> {
    const now = this.now();
    const active = this.active();
    const cacheKey = `${active.kid}\n${subject}\n${permissions.join(',')}`;
    const cached = this.cache.get(cacheKey);
    if (cached && cached.expires - now > (this.options.ttlSeconds * 1000) / 2) {
      return cached.token;
    }
    const iat = Math.floor(now / 1000);
    const token = await new SignJWT({ permissions: [...permissions] })
      .setProtectedHeader({ alg: 'ES256', kid: active.kid, typ: 'JWT' })
      .setIssuer(this.options.issuer)
      .setAudience(this.options.audience)
      .setSubject(subject)
      .setIssuedAt(iat)
      .setNotBefore(iat - 5)
      .setExpirationTime(iat + this.options.ttlSeconds)
      .sign(active.key);
    if (this.cache.size >= 10_000) {
      this.cache.delete(this.cache.keys().next().value as string);
    }
    this.cache.set(cacheKey, { token, expires: (iat + this.options.ttlSeconds) * 1000 });
    return token;
  }
}
