/**
 * Bearer JWTs of the organisation's identity provider: signature by a key of its JWKS with RS256 or ES256 only (never
 * `none`, never HMAC), and `exp` (required), `nbf`, `iss`, `aud` and `sub` checked against the injected clock.
 */
import { errors, jwtVerify, JWTVerifyGetKey } from 'jose';
import { JwtIdentity } from '../../lib/authorizer/policy';
import { Clock } from './clock';
import { Unauthenticated } from './errors';

export interface JwtTrust {
  readonly issuer: string;
  readonly audience: string;
  /** The provider's keys (IdentityProviderKeys.getKey, or any jose key resolver). */
  readonly keys: JWTVerifyGetKey;
  /** @default ['RS256', 'ES256'] */
  readonly algorithms?: readonly string[];
  readonly clock: Clock;
}

/** Which claims the policy reads. */
export interface ClaimNames {
  /** Claim with the caller's groups. */
  readonly groups: string;
  /** Claim with Temporal permissions (`<namespace>:<role>`), or undefined when the policy reads none. */
  readonly permissions?: string;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
}

/** A JWT's identity and when it expires (ms), or Unauthenticated with a reason that names only the token. */
export async function jwtIdentity(token: string, trust: JwtTrust, claims: ClaimNames):
  Promise<{ identity: JwtIdentity; expiresAt: number }> {
  try {
    const { payload } = await jwtVerify(token, trust.keys, {
      issuer: trust.issuer,
      audience: trust.audience,
      algorithms: [...(trust.algorithms ?? ['RS256', 'ES256'])],
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 5,
      currentDate: new Date(trust.clock()),
    });
    return {
      identity: {
        kind: 'jwt',
        issuer: trust.issuer,
        subject: String(payload.sub),
        groups: strings(payload[claims.groups]),
        permissions: claims.permissions === undefined ? [] : strings(payload[claims.permissions]),
      },
      expiresAt: Number(payload.exp) * 1000,
    };
  } catch (e) {
    if (e instanceof Unauthenticated) {
      throw e;
    }
    const reason = e instanceof errors.JWTExpired ? 'the token is expired'
      : e instanceof errors.JWTClaimValidationFailed ? `the token's ${e.claim} claim is not acceptable`
        : e instanceof errors.JWKSNoMatchingKey ? 'no key of the identity provider matches the token'
          : e instanceof errors.JOSEAlgNotAllowed ? 'the token\'s algorithm is not accepted'
            : e instanceof errors.JWSSignatureVerificationFailed ? 'the token\'s signature does not verify'
              : 'the token is not valid';
    throw new Unauthenticated(reason);
  }
}

/** The bearer token of an `authorization` header value, undefined without one, Unauthenticated for another scheme. */
export function bearerToken(header: unknown): string | undefined {
  if (header === undefined) {
    return undefined;
  }
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header.trim()) : null;
  if (!match) {
    throw new Unauthenticated('the authorization header is not a bearer token');
  }
  return match[1];
}
