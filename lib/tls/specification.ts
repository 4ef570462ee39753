import { CertificateSpec as CertManagerCertificateSpec, CertificateSpecUsages } from '../../imports/cert-manager.io';
import { IssuerReference } from './issuer-check';
import { CertificateRole, KeyRotationPolicy, Lifetime, privateKeySpec, ResolvedPrivateKey } from './settings';
import { CaPurpose } from './trust';

/**
 * The CAs a specification can name: the four purposes and the root above three of them (the generated chain),
 * and `database-clients`, a self-signed CA of its own that only the evaluation database trusts.
 */
export type CaName = CaPurpose | 'root' | 'database-clients';

/**
 * One certificate, independent of how it is issued: what cert-manager is asked for, or what another
 * issuer (e.g. `@pulumi/tls` on the Pulumi path) must mint into a Secret of the same name and shape
 * (`kubernetes.io/tls`: `tls.crt` = the certificate followed by its intermediates, `tls.key` = PKCS#8 key,
 * `ca.crt` = the top of the chain). Pure data.
 */
export interface CertificateSpecification {
  /** Name of the cert-manager Certificate object. */
  readonly certificateName: string;
  /** Name of the Secret holding the key pair. */
  readonly secretName: string;
  /** Namespace of the Secret (and Certificate). */
  readonly namespace: string;
  /** What it is for; decides its usages. */
  readonly role: CertificateRole;
  /** For a CA: which one it is. */
  readonly ca?: CaName;
  /** For a purpose CA of the generated chain: which of its two key slots this is. @default 1 */
  readonly slot?: 1 | 2;
  /** Who signs it: a purpose CA, the root, or itself (`self`: the root and the workload CA). */
  readonly issuer: CaName | 'self';
  readonly commonName?: string;
  /** Subject organizational units. @default - none */
  readonly organizationalUnits?: readonly string[];
  readonly dnsNames: readonly string[];
  readonly uris: readonly string[];
  /** Key usages, as cert-manager names them (`digital signature`, `server auth` ...): `usagesFor(role, algorithm)`. */
  readonly usages: readonly string[];
  readonly privateKey: ResolvedPrivateKey;
  /** `Always`: a new key at every issuance; `Never`: a renewal keeps the key. */
  readonly keyRotation: KeyRotationPolicy;
  readonly lifetime: Lifetime;
  /** Labels of the Certificate and of its Secret. */
  readonly labels: Readonly<Record<string, string>>;
}

/** The `spec` of the cert-manager Certificate that issues `spec` from `issuerRef`. Pure. */
export function certManagerSpec(spec: CertificateSpecification, issuerRef: IssuerReference): CertManagerCertificateSpec {
  const ref = { name: issuerRef.name, kind: issuerRef.kind, group: issuerRef.group ?? 'cert-manager.io' };
  const common = {
    duration: spec.lifetime.duration,
    renewBefore: spec.lifetime.renewBefore,
    privateKey: privateKeySpec(spec.privateKey, spec.keyRotation),
    usages: spec.usages.map((usage) => usage as CertificateSpecUsages),
  };
  if (spec.role === 'ca') {
    return {
      isCa: true,
      commonName: spec.commonName,
      ...(spec.organizationalUnits ? { subject: { organizationalUnits: [...spec.organizationalUnits] } } : {}),
      secretName: spec.secretName,
      secretTemplate: { labels: { ...spec.labels } },
      issuerRef: ref,
      ...common,
    };
  }
  return {
    secretName: spec.secretName,
    secretTemplate: { labels: { ...spec.labels } },
    issuerRef: ref,
    ...(spec.commonName !== undefined ? { commonName: spec.commonName } : {}),
    ...(spec.dnsNames.length > 0 ? { dnsNames: [...spec.dnsNames] } : {}),
    ...(spec.uris.length > 0 ? { uris: [...spec.uris] } : {}),
    ...common,
  };
}

/**
 * Problems of a set of specifications minted outside cert-manager (empty = consistent): a certificate whose
 * issuer is not among the CAs of the set, two certificates writing the same Secret, a CA that is not
 * marked as one. Pure.
 */
export function specificationProblems(specs: readonly CertificateSpecification[]): string[] {
  const problems: string[] = [];
  const cas = new Set(specs.filter((s) => s.role === 'ca').map((s) => s.ca));
  const secrets = new Map<string, string>();
  for (const spec of specs) {
    const where = `${spec.namespace}/${spec.secretName}`;
    if (spec.issuer !== 'self' && !cas.has(spec.issuer)) {
      problems.push(`${where}: its issuer, the ${spec.issuer} CA, is not among the specifications`);
    }
    if (spec.role === 'ca' && spec.ca === undefined) {
      problems.push(`${where}: a CA specification must name the CA it is`);
    }
    const previous = secrets.get(where);
    if (previous !== undefined) {
      problems.push(`${where}: written by two specifications (${previous} and ${spec.certificateName})`);
    }
    secrets.set(where, spec.certificateName);
  }
  return problems;
}
