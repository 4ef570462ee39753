/**
 * The chain of authenticators every program that takes callers runs (the authorizer proxy and the codec server):
 * a client certificate (mutual TLS), a bearer JWT of the identity provider, a bearer API key. Each check returns an
 * identity or nothing; the first bearer check that recognises the token decides. A certificate, when presented, must
 * be valid even when a bearer token is the caller's identity (it authenticates the component forwarding the token).
 * Verified identities are cached, and every cached identity is re-checked against the clock on every call.
 */
import { looksLikeApiKey } from '../../lib/authorizer/api-keys';
import { Identity } from '../../lib/authorizer/policy';
import { ApiKeys } from './api-keys';
import { VerifiedCache } from './cache';
import { certificateIdentity, CertificateTrust, VerifiedCertificate } from './certificates';
import { Clock } from './clock';
import { Busy, Unauthenticated } from './errors';
import { bearerToken, ClaimNames, jwtIdentity, JwtTrust } from './tokens';

/** What a call presents. */
export interface Credentials {
  /** The peer's certificate (DER), only when TLS verified its chain; a certificate TLS refused is no certificate. */
  readonly certificate?: { readonly der: Buffer; readonly fingerprint: string };
  /** The `authorization` header (or metadata) value, as it came. */
  readonly authorization?: unknown;
}

/** Who the caller is, how it proved it (`mtls`, `jwt`, `apikey`, `jwt+mtls` ...), and until when the proof holds (ms). */
export interface Authenticated {
  readonly identity: Identity;
  /** The identity in audit lines and minted tokens: the certificate's URI, `jwt:<iss>#<sub>`, `apikey:<id>`. */
  readonly id: string;
  readonly auth: string;
  readonly expiresAt: number;
}

export interface AuthenticatorOptions {
  readonly clock: Clock;
  /** The certificates that authenticate callers now (reloaded by the caller); undefined: none do. */
  readonly certificates?: () => CertificateTrust;
  /** The identity provider whose JWTs authenticate callers. @default - none */
  readonly jwt?: JwtTrust;
  /** The claims the policy in force reads. */
  readonly claims: () => ClaimNames;
  /** The API keys in force (reloaded by the caller). @default - none */
  readonly apiKeys?: () => ApiKeys;
  /** The reason given to a call with no credential at all. */
  readonly noCredentials: string;
  /** @default 10000 */
  readonly maxCachedIdentities?: number;
  /**
   * Tokens whose signature is being verified at once (a verification may wait for the identity provider's keys); past
   * it, Busy. Certificates, API keys and tokens already verified never wait, and never count.
   * @default 64
   */
  readonly maxPendingVerifications?: number;
}

/** Longest a verified token is reused without being verified again (a key the provider withdraws stops working soon). */
export const TOKEN_CACHE_MS = 60_000;
/** Longest a refused certificate's refusal is reused. */
const REFUSAL_CACHE_MS = 60_000;

export class Authenticator {
  private readonly certificates: VerifiedCache<VerifiedCertificate | Unauthenticated>;
  private readonly tokens: VerifiedCache<Authenticated>;
  private trustSeen?: CertificateTrust;
  private pending = 0;

  public constructor(private readonly options: AuthenticatorOptions) {
    const maxEntries = options.maxCachedIdentities ?? 10_000;
    this.certificates = new VerifiedCache({ maxEntries, clock: options.clock });
    this.tokens = new VerifiedCache({ maxEntries, clock: options.clock, maxAgeMs: TOKEN_CACHE_MS });
  }

  /** Who presents `credentials`, or Unauthenticated with the reason. */
  public async authenticate(credentials: Credentials): Promise<Authenticated> {
    const certificate = credentials.certificate ? this.certificate(credentials.certificate) : undefined;
    const token = bearerToken(credentials.authorization);
    if (token !== undefined) {
      const bearer = looksLikeApiKey(token) ? this.apiKey(token) : await this.jwt(token);
      return certificate ? { ...bearer, auth: `${bearer.auth}+mtls`, expiresAt: Math.min(bearer.expiresAt, certificate.expiresAt) } : bearer;
    }
    if (certificate) {
      return certificate;
    }
    throw new Unauthenticated(this.options.noCredentials);
  }

  /** The identity of a certificate TLS verified: checked once per trust generation and certificate, its validity on every call. */
  private certificate(peer: { der: Buffer; fingerprint: string }): Authenticated {
    const trust = this.options.certificates?.();
    if (trust === undefined) {
      throw new Unauthenticated('client certificates are not accepted here');
    }
    if (trust !== this.trustSeen) {
      // Verified against other trust: every cached answer is forgotten.
      this.trustSeen = trust;
      this.certificates.clear();
    }
    const key = peer.fingerprint;
    let verified = this.certificates.get(key);
    if (verified === undefined) {
      const now = this.options.clock();
      try {
        verified = certificateIdentity(peer.der, trust, now);
        this.certificates.set(key, verified, { notBefore: verified.notBefore, notAfter: verified.notAfter + 1 });
      } catch (e) {
        if (!(e instanceof Unauthenticated)) {
          throw e;
        }
        // Time-related refusals are decided on every call; the others hold for the certificate's bytes.
        if (!e.message.includes('expired or not yet valid')) {
          this.certificates.set(key, e, { notAfter: now + REFUSAL_CACHE_MS });
        }
        throw e;
      }
    }
    if (verified instanceof Unauthenticated) {
      throw verified;
    }
    return { identity: verified.identity, id: verified.identity.uris[0], auth: 'mtls', expiresAt: verified.notAfter };
  }

  private async jwt(token: string): Promise<Authenticated> {
    const trust = this.options.jwt;
    if (trust === undefined) {
      throw new Unauthenticated('bearer tokens are not accepted here');
    }
    const claims = this.options.claims();
    const key = JSON.stringify([claims.groups, claims.permissions, token]);
    const cached = this.tokens.get(key);
    if (cached !== undefined) {
      return cached;
    }
    if (this.pending >= (this.options.maxPendingVerifications ?? 64)) {
      throw new Busy('too many tokens are being verified at once: retry shortly');
    }
    this.pending += 1;
    let verified: Awaited<ReturnType<typeof jwtIdentity>>;
    try {
      verified = await jwtIdentity(token, trust, claims);
    } finally {
      this.pending -= 1;
    }
    const { identity, expiresAt } = verified;
    const authenticated = { identity, id: `jwt:${identity.issuer}#${identity.subject}`, auth: 'jwt', expiresAt };
    this.tokens.set(key, authenticated, { notAfter: expiresAt });
    return authenticated;
  }

  private apiKey(key: string): Authenticated {
    const keys = this.options.apiKeys?.();
    if (keys === undefined) {
      throw new Unauthenticated('API keys are not accepted here');
    }
    const { identity, expiresAt } = keys.verify(key, this.options.clock);
    return { identity, id: `apikey:${identity.id}`, auth: 'apikey', expiresAt };
  }

  /** Tokens being verified now. */
  public get pendingVerifications(): number {
    return this.pending;
  }

  /** Forgets every verified token (the policy's claims or the provider changed). */
  public forgetTokens(): void {
    this.tokens.clear();
  }
}
