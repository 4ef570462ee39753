/**
 * Authentication of a caller: a client certificate issued directly by one of the trusted CAs, and/or a bearer
 * JWT from the organisation's identity provider. Each failure is an Unauthenticated with a reason that names
 * nothing but the credential itself.
 */
import { X509Certificate } from 'node:crypto';
import { errors, jwtVerify, JWTVerifyGetKey } from 'jose';
import { CertificateIdentity, JwtIdentity } from '../../lib/authorizer/policy';

/** The caller could not be authenticated (gRPC UNAUTHENTICATED). */
export class Unauthenticated extends Error {}

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * Who a CA issues identities to: `workload` CAs issue user workloads' certificates (identity URIs
 * `.../temporal-client/<name>`), `platform` CAs the platform's own components' (`.../temporal-platform/<name>`).
 * A certificate is accepted only with a URI of its CA's kind, so a workload CA can never mint a platform identity.
 */
export type IdentityKind = 'workload' | 'platform';

/** The URI path segment of each kind of identity. */
export const IDENTITY_SEGMENTS: Readonly<Record<IdentityKind, string>> = { workload: 'temporal-client', platform: 'temporal-platform' };

/** Which certificates authenticate a caller. */
export interface CertificateTrust {
  /** The CAs whose own leaves (and nothing further down) are accepted, each with the kind of identity it issues. */
  readonly cas: readonly { readonly certificate: X509Certificate; readonly kind: IdentityKind }[];
  /** The trust domain of identity URIs: `spiffe://<domain>/ns/<namespace>/<temporal-client|temporal-platform>/<name>`. */
  readonly trustDomain: string;
}

/** An identity URI of `kind`: the Kubernetes namespace the certificate was issued into, and the identity's name. */
export function identityUri(uri: string, trustDomain: string, kind: IdentityKind): { namespace: string; name: string } | undefined {
  const prefix = `spiffe://${trustDomain}/ns/`;
  if (!uri.startsWith(prefix)) {
    return undefined;
  }
  const label = '([a-z0-9]([-a-z0-9]*[a-z0-9])?)';
  const match = new RegExp(`^${label}/${IDENTITY_SEGMENTS[kind]}/${label}$`).exec(uri.slice(prefix.length));
  return match ? { namespace: match[1], name: match[3] } : undefined;
}

function subjectValues(subject: string, attribute: string): string[] {
  return subject.split('\n').filter((line) => line.startsWith(`${attribute}=`)).map((line) => line.slice(attribute.length + 1));
}

function sans(cert: X509Certificate, kind: 'URI' | 'DNS'): string[] {
  return (cert.subjectAltName ?? '').split(', ').filter((s) => s.startsWith(`${kind}:`)).map((s) => s.slice(kind.length + 1));
}

/**
 * The identity of a client certificate (DER), or Unauthenticated: it must be a leaf (not a CA) signed directly
 * by one of `trust.cas` (no intermediate), valid now, for client authentication, with an identity URI of the
 * trust domain. (TLS has already proven that the caller holds its key.)
 */
export function certificateIdentity(der: Buffer, trust: CertificateTrust, now = new Date()): CertificateIdentity {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(der);
  } catch {
    throw new Unauthenticated('the client certificate does not parse');
  }
  const issuer = trust.cas.find((ca) => cert.checkIssued(ca.certificate) && cert.verify(ca.certificate.publicKey));
  if (issuer === undefined) {
    throw new Unauthenticated('the client certificate is not issued directly by a trusted CA');
  }
  if (cert.ca) {
    throw new Unauthenticated('a CA certificate cannot authenticate a caller');
  }
  if (now < new Date(cert.validFrom) || now > new Date(cert.validTo)) {
    throw new Unauthenticated('the client certificate is expired or not yet valid');
  }
  const usages = cert.keyUsage;
  if (!Array.isArray(usages) || !usages.includes(CLIENT_AUTH)) {
    throw new Unauthenticated('the client certificate is not for client authentication');
  }
  // Exactly one URI, and it is an identity of the issuing CA's kind: a second URI (say, a platform identity on a
  // workload certificate) would otherwise be matched by the policy's rules without ever being checked.
  const uris = sans(cert, 'URI');
  if (uris.length !== 1 || identityUri(uris[0], trust.trustDomain, issuer.kind) === undefined) {
    throw new Unauthenticated(uris.length > 1 ? 'the client certificate carries more than one URI'
      : `the client certificate carries no ${issuer.kind} identity URI of this trust domain`);
  }
  const commonName = subjectValues(cert.subject, 'CN')[0];
  return {
    kind: 'certificate',
    uris,
    dnsNames: sans(cert, 'DNS'),
    ...(commonName !== undefined ? { commonName } : {}),
    organizations: subjectValues(cert.subject, 'O'),
    organizationalUnits: subjectValues(cert.subject, 'OU'),
  };
}

/** Which JWTs authenticate a caller. */
export interface JwtTrust {
  readonly issuer: string;
  readonly audience: string;
  /** The identity provider's keys (jose's remote JWKS: cached, refreshed, unknown `kid` refetched at a bounded rate). */
  readonly keys: JWTVerifyGetKey;
  /** @default ['RS256', 'ES256'] */
  readonly algorithms?: readonly string[];
  /** Claim with the caller's groups. */
  readonly groupsClaim: string;
  /** Claim with Temporal permissions (`<namespace>:<role>`), or false. */
  readonly permissionsClaim: string | false;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
}

/**
 * The identity of a bearer JWT, or Unauthenticated: signature by a key of the provider's JWKS with RS256 or
 * ES256 only (never `none`, never HMAC), and `exp`, `nbf`, `iss`, `aud` checked.
 */
export async function jwtIdentity(token: string, trust: JwtTrust): Promise<JwtIdentity> {
  try {
    const { payload } = await jwtVerify(token, trust.keys, {
      issuer: trust.issuer,
      audience: trust.audience,
      algorithms: [...(trust.algorithms ?? ['RS256', 'ES256'])],
      requiredClaims: ['exp', 'sub'],
      clockTolerance: 5,
    });
    return {
      kind: 'jwt',
      issuer: trust.issuer,
      subject: String(payload.sub),
      groups: strings(payload[trust.groupsClaim]),
      permissions: trust.permissionsClaim === false ? [] : strings(payload[trust.permissionsClaim]),
    };
  } catch (e) {
    const reason = e instanceof errors.JWTExpired ? 'the token is expired'
      : e instanceof errors.JWTClaimValidationFailed ? `the token's ${e.claim} claim is not acceptable`
        : e instanceof errors.JWKSNoMatchingKey ? 'no key of the identity provider matches the token'
          : e instanceof errors.JOSEAlgNotAllowed ? 'the token\'s algorithm is not accepted'
            : e instanceof errors.JWSSignatureVerificationFailed ? 'the token\'s signature does not verify'
              : 'the token is not valid';
    throw new Unauthenticated(reason);
  }
}

/** The bearer token of an `authorization` header value, or undefined. */
export function bearerToken(header: unknown): string | undefined {
  if (typeof header !== 'string') {
    return undefined;
  }
  const match = /^Bearer\s+(\S+)$/i.exec(header.trim());
  if (!match) {
    throw new Unauthenticated('the authorization header is not a bearer token');
  }
  return match[1];
}
