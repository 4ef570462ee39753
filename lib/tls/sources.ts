import { X509Certificate } from 'node:crypto';
import { ValidationError } from '../core/errors';
import { IssuerReference } from './issuer-check';
import { CA_PURPOSES, CaPurpose } from './trust';

/**
 * Where the certificate(s) of one trust anchor come from. Only public certificates: a source that
 * contains a private key is rejected.
 */
export type TrustSource =
  /** PEM certificate(s), rendered into the PKI's trust ConfigMap. */
  | { readonly pem: string }
  /** One key of a Secret in the Temporal namespace (only that key is ever mounted). */
  | { readonly secretName: string; readonly key: string }
  /** One key of a ConfigMap in the Temporal namespace. */
  | { readonly configMapName: string; readonly key: string };

/** One CA you already run (Vault, a corporate CA, AWS PCA ...), used in place of a generated purpose CA. */
export interface ExternalCaProps {
  /**
   * The issuer. A namespaced `Issuer` must live in the Temporal namespace and can only issue there; the
   * workload CA therefore needs a `ClusterIssuer` as soon as a client identity lives elsewhere.
   */
  readonly issuer: IssuerReference;
  /** The CA certificate(s) that verify what this issuer signs (its issuing CA, or its root). */
  readonly trustAnchor: TrustSource;
}

/** Existing issuers, one per purpose, in place of the generated chain. */
export interface ExternalPkiProps {
  readonly internode: ExternalCaProps;
  readonly frontend: ExternalCaProps;
  readonly platformClients: ExternalCaProps;
  /** Needed to issue client identities. @default - no workload identities can be issued */
  readonly workload?: ExternalCaProps;
}

/** The external props keyed by purpose. Pure. */
export function externalByPurpose(external: ExternalPkiProps): Partial<Record<CaPurpose, ExternalCaProps>> {
  return {
    'internode': external.internode,
    'frontend': external.frontend,
    'platform-clients': external.platformClients,
    ...(external.workload ? { workload: external.workload } : {}),
  };
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

/**
 * Validates a PEM bundle of trust anchors: at least one certificate, only CERTIFICATE blocks (no
 * private key can slip into a ConfigMap), each a CA certificate. Returns it normalized (LF, one
 * trailing newline). Pure.
 */
export function requireCaBundle(path: string, field: string, pem: string): string {
  if (typeof pem !== 'string' || /PRIVATE KEY/.test(pem)) {
    throw new ValidationError('INVALID_TLS', path, `${field} must hold public CA certificates only, never a private key`,
      typeof pem === 'string' ? '<PEM with a private key>' : pem, 'pass only the CA certificate(s) (tls.crt or ca.crt)');
  }
  const blocks = [...pem.replace(/\r\n/g, '\n').matchAll(PEM_BLOCK)];
  if (blocks.length === 0 || blocks.some((b) => b[1] !== 'CERTIFICATE')) {
    throw new ValidationError('INVALID_TLS', path, `${field} must be one or more PEM "CERTIFICATE" blocks`,
      `${pem.slice(0, 40)}...`, 'paste the CA certificate(s) in PEM form');
  }
  for (const block of blocks) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(block[0]);
    } catch {
      throw new ValidationError('INVALID_TLS', path, `${field} holds a certificate that does not parse`, `${block[0].slice(0, 60)}...`,
        'paste the CA certificate(s) in PEM form');
    }
    if (!cert.ca) {
      throw new ValidationError('INVALID_TLS', path, `${field} holds a certificate that is not a CA (basicConstraints CA:FALSE)`,
        cert.subject, 'trust anchors must be CA certificates: pass the issuing or root CA, not a leaf');
    }
  }
  return `${blocks.map((b) => b[0]).join('\n')}\n`;
}

/** Validates one TrustSource. Pure. */
export function requireTrustSource(path: string, field: string, source: TrustSource): TrustSource {
  if (source !== null && typeof source === 'object' && 'pem' in source) {
    return { pem: requireCaBundle(path, field, source.pem) };
  }
  const name = source && ('secretName' in source ? source.secretName : 'configMapName' in source ? source.configMapName : undefined);
  if (typeof name !== 'string' || name.length === 0 || typeof (source as { key?: unknown }).key !== 'string') {
    throw new ValidationError('INVALID_TLS', path, `${field} must be { pem } or { secretName, key } or { configMapName, key }`,
      source, 'e.g. { secretName: "corp-ca", key: "ca.crt" }');
  }
  return source;
}

function sameIssuer(a: IssuerReference, b: IssuerReference): boolean {
  return a.kind === b.kind && a.name === b.name && (a.group ?? 'cert-manager.io') === (b.group ?? 'cert-manager.io');
}

function sameSource(a: TrustSource, b: TrustSource): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Throws `TLS_SHARED_ISSUER` when two purposes whose certificates a listener must tell apart share an issuer
 * or a trust anchor: then a certificate meant for one would be accepted as the other (a workload certificate
 * on the internode ports, say). The client-capable purposes (internode, platform-clients, workload) must be
 * pairwise separable: the internode listeners accept internode certificates only, and the frontend behind an
 * authorizer proxy accepts internode and platform-clients certificates but not workload ones. The frontend
 * CA issues server certificates only (no client auth usage), so it may share with anything. Pure.
 */
export function assertSeparableCas(path: string, cas: Partial<Record<CaPurpose, ExternalCaProps>>): void {
  const clientCapable = CA_PURPOSES.filter((p) => p !== 'frontend');
  clientCapable.forEach((inside, i) => {
    for (const outside of clientCapable.slice(i + 1)) {
      const a = cas[inside];
      const b = cas[outside];
      if (a && b && (sameIssuer(a.issuer, b.issuer) || sameSource(a.trustAnchor, b.trustAnchor))) {
        const listener = inside === 'internode' ? 'internode listeners, which accept' : 'frontend behind the authorizer proxy, which accepts';
        throw new ValidationError('TLS_SHARED_ISSUER', path,
          `the ${inside} and ${outside} CAs share an issuer or trust anchor, so the ${listener} ${inside} ` +
            `certificates but not ${outside} ones, could not tell them apart`,
          { [inside]: a.issuer.name, [outside]: b.issuer.name }, `give the ${outside} purpose its own issuer and CA`);
      }
    }
  });
}
