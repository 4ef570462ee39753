/**
 * Client certificates: the CA bundles that issue callers (every certificate of a bundle, so that a CA rotation that
 * ships the old and the new CA in one file works), and the identity of a leaf, or Unauthenticated.
 */
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { CertificateIdentity } from '../../lib/authorizer/policy';
import { Unauthenticated } from './errors';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/**
 * Who a CA issues identities to: `workload` CAs issue user workloads' certificates (identity URIs
 * `.../temporal-client/<name>`), `platform` CAs the platform's own components' (`.../temporal-platform/<name>`).
 * A certificate is accepted only with a URI of its CA's kind, so a workload CA can never mint a platform identity.
 */
export type CertificateKind = 'workload' | 'platform';

/** The URI path segment of each kind of identity. */
export const IDENTITY_SEGMENTS: Readonly<Record<CertificateKind, string>> = { workload: 'temporal-client', platform: 'temporal-platform' };

/** A CA whose own leaves (and nothing further down) authenticate callers of one kind. */
export interface TrustedCa {
  readonly certificate: X509Certificate;
  readonly kind: CertificateKind;
}

/** Which certificates authenticate a caller. */
export interface CertificateTrust {
  readonly cas: readonly TrustedCa[];
  /** The trust domain of identity URIs: `spiffe://<domain>/ns/<namespace>/<temporal-client|temporal-platform>/<name>`. */
  readonly trustDomain: string;
}

/** Every certificate of a PEM bundle (a CA file may hold several during a rotation); an error when it holds none. */
export function parseCertificates(pem: string | Buffer, what = 'the bundle'): X509Certificate[] {
  const blocks = pem.toString('utf8').split(/(?=-----BEGIN CERTIFICATE-----)/).filter((b) => b.includes('-----BEGIN CERTIFICATE-----'));
  if (blocks.length === 0) {
    throw new Error(`${what} holds no PEM certificate`);
  }
  return blocks.map((block) => new X509Certificate(block));
}

/** An identity URI of `kind`: the Kubernetes namespace the certificate was issued into, and the identity's name. */
export function identityUri(uri: string, trustDomain: string, kind: CertificateKind): { namespace: string; name: string } | undefined {
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

/** A certificate's identity, and the period it is valid in (ms). */
export interface VerifiedCertificate {
  readonly identity: CertificateIdentity;
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * The identity of a client certificate (DER), or Unauthenticated: it must be a leaf (not a CA) whose signature one of
 * `trust.cas` verifies (that CA directly, no intermediate), valid at `now`, for client authentication, with exactly one
 * URI, an identity of the issuing CA's kind in the trust domain. TLS has proven that the caller holds its key; this
 * check does not rely on TLS having verified the chain, and the callers check that it did too.
 */
export function certificateIdentity(der: Buffer, trust: CertificateTrust, now: number): VerifiedCertificate {
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
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (now < notBefore || now > notAfter) {
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
  // A certificate may have an empty subject (identities in SANs only): Node then gives no subject at all.
  const subject = cert.subject ?? '';
  const commonName = subjectValues(subject, 'CN')[0];
  return {
    identity: {
      kind: 'certificate',
      uris,
      dnsNames: sans(cert, 'DNS'),
      ...(commonName !== undefined ? { commonName } : {}),
      organizations: subjectValues(subject, 'O'),
      organizationalUnits: subjectValues(subject, 'OU'),
    },
    notBefore,
    notAfter,
  };
}

/** A file as read (its name for errors, its bytes). */
interface ReadFile {
  readonly name: string;
  readonly content: Buffer;
}

/**
 * A listener's serving certificate, key and CA bundles, checked as TLS will use them: a certificate or key that does not
 * parse, or a key that is not the certificate's, throws naming the files, so that a reload keeps what is served.
 */
export function servingTls(cert: ReadFile, key: ReadFile, cas: readonly ReadFile[]): { cert: Buffer; key: Buffer; ca: Buffer[] } {
  const tls = { cert: cert.content, key: key.content, ca: cas.map((f) => f.content) };
  try {
    createSecureContext(tls);
  } catch (e) {
    throw new Error(`${cert.name} and ${key.name} are no usable serving certificate and key: ${(e as Error).message}`);
  }
  return tls;
}
