/**
 * The proxy's own token signer: short-lived ES256 JWTs carrying the caller's Temporal permissions, and the
 * JWKS the frontend fetches them from. The key comes from a mounted file (a Secret the PKI keeps rotating);
 * a new key is published at once but signs only after `publishDelay`, so every frontend has fetched it first.
 *
 * With the key's certificate (cert-manager writes a self-signed one next to the key), the delay counts from the
 * certificate's `notBefore`, the moment the key was made: every replica switches to a new key at the same
 * instant, however late its volume was updated. A replica whose newest key is younger than the delay and that
 * knows no older one (it started during a rotation) is not `ready()`: it signs nothing the frontends may not
 * know yet, and does not publish a key set without the key the other replicas still sign with.
 */
import { createHash, createPrivateKey, createPublicKey, KeyObject, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { calculateJwkThumbprint, exportJWK, JWK, SignJWT } from 'jose';

export interface SignerOptions {
  /** PEM file with the EC P-256 private key (PKCS#8, as cert-manager writes `tls.key`). */
  readonly keyFile: string;
  /** PEM file with the key's certificate (`tls.crt`): its `notBefore` anchors the publish delay. @default - none */
  readonly certFile?: string;
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

/** The key's certificate, when its file exists and holds the certificate of this very key. */
function keyCertificate(certFile: string | undefined, key: KeyObject): X509Certificate | undefined {
  if (certFile === undefined || !existsSync(certFile)) {
    return undefined;
  }
  const cert = new X509Certificate(readFileSync(certFile, 'utf8'));
  return cert.publicKey.equals(createPublicKey(key)) ? cert : undefined;
}

async function loadKey(pem: string, options: SignerOptions, unanchoredSignsFrom: number): Promise<SigningKey> {
  const key = createPrivateKey(pem);
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the signing key must be an EC P-256 key (ES256)');
  }
  const jwk = await exportJWK(createPublicKey(key));
  const kid = await calculateJwkThumbprint(jwk);
  // The key file and the certificate file are updated together but not atomically: a certificate of another key
  // is ignored (the next reload sees the pair).
  const cert = keyCertificate(options.certFile, key);
  const signsFrom = cert ? Date.parse(cert.validFrom) + options.publishDelaySeconds * 1000 : unanchoredSignsFrom;
  return { kid, key, jwk: { ...jwk, kid, alg: 'ES256', use: 'sig' }, digest: createHash('sha256').update(pem).digest('hex'), signsFrom };
}

export class TokenSigner {
  public static async create(options: SignerOptions): Promise<TokenSigner> {
    const now = options.now ?? Date.now;
    // Without a certificate, the first key signs at once: this replica signed nothing before it.
    return new TokenSigner(options, [await loadKey(readFileSync(options.keyFile, 'utf8'), options, now())]);
  }

  private readonly cache = new Map<string, { token: string; expires: number }>();

  private constructor(private readonly options: SignerOptions, private keys: SigningKey[]) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  /** The key that signs now: the newest one whose publish delay has passed (else the oldest it knows). */
  private active(): SigningKey {
    const now = this.now();
    return [...this.keys].reverse().find((k) => k.signsFrom <= now) ?? this.keys[0];
  }

  /**
   * Whether this replica should take calls: its signing key is past its publish delay, so every frontend knows it
   * and every other replica publishes it. False only while a replica that started during a rotation knows nothing
   * but the new key.
   */
  public ready(): boolean {
    return this.active().signsFrom <= this.now();
  }

  /** Re-reads the key file; a new key is published now and signs after the publish delay. Returns true on a change. */
  public async reload(): Promise<boolean> {
    const pem = readFileSync(this.options.keyFile, 'utf8');
    const digest = createHash('sha256').update(pem).digest('hex');
    if (this.keys[this.keys.length - 1].digest === digest) {
      return false;
    }
    const now = this.now();
    const fresh = await loadKey(pem, this.options, now + this.options.publishDelaySeconds * 1000);
    this.keys[this.keys.length - 1].retiredAt = Math.max(now, fresh.signsFrom);
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
    const cacheKey = JSON.stringify([active.kid, subject, permissions]);
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
