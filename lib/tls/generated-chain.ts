import { ApiObject, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { Certificate, CertificateProps, ClusterIssuer, Issuer } from '../../imports/cert-manager.io';
import { IssuerReference } from './issuer-check';
import { KeyRotationPolicy, Lifetime, privateKeySpec, ResolvedPrivateKey, usagesFor } from './settings';
import { TrustSource } from './sources';
import { CaPurpose } from './trust';

/** Inputs of the generated chain, already validated by TemporalPki. */
export interface GeneratedChainSettings {
  readonly name: string;
  readonly namespace: string;
  readonly clusterResourceNamespace: string;
  readonly privateKey: ResolvedPrivateKey;
  readonly rotation: KeyRotationPolicy;
  readonly rootLifetime: Lifetime;
  readonly caLifetime: Lifetime;
  readonly labels: Record<string, string>;
}

export interface GeneratedChain {
  readonly issuers: Record<CaPurpose, IssuerReference>;
  /** Trust anchors of the purposes whose CA Secret lives in the Temporal namespace (not the workload CA). */
  readonly sources: Partial<Record<CaPurpose, TrustSource>>;
  readonly certificates: Record<CaPurpose | 'root', Certificate>;
  /** The root CA's certificate (self-signed), for verifiers that need a chain ending at a self-signed root. */
  readonly root: { readonly secretName: string; readonly key: string };
}

/**
 * Name prefix of objects outside the Temporal namespace (the ClusterIssuer, the workload CA in the cluster
 * resource namespace): `<namespace>-<name>`, or `<name>` when both are equal, so that two installations in
 * two namespaces never collide.
 */
export function globalPrefix(name: string, namespace: string): string {
  return name === namespace ? name : `${namespace}-${name}`;
}

/**
 * The generated chain:
 * ```
 * Issuer <name>-pki-bootstrap (selfSigned)  -> Certificate <name>-root-ca (isCA) -> Issuer <name>-root-ca
 *   -> Certificates <name>-{internode,frontend,platform-clients}-ca (isCA) -> Issuers of the same names
 * Issuer <prefix>-workload-bootstrap (selfSigned, cluster resource namespace)
 *   -> Certificate <prefix>-workload-ca (isCA, same namespace) -> ClusterIssuer <prefix>-workload-ca
 * ```
 * The workload CA must be a ClusterIssuer (workers live in other namespaces), and a CA ClusterIssuer reads
 * its Secret from the cluster resource namespace. A namespaced root cannot issue into that namespace, and a
 * root ClusterIssuer would let anyone allowed to create a Certificate anywhere mint certificates under the
 * root. So the workload CA is a root of its own: nothing it signs chains to the cluster root.
 */
export function createGeneratedChain(scope: Construct, s: GeneratedChainSettings): GeneratedChain {
  const caProps = (secretName: string, commonName: string, issuer: IssuerReference, life: Lifetime, ns?: string): CertificateProps => ({
    metadata: { name: secretName, labels: s.labels, ...(ns ? { namespace: ns } : {}) },
    spec: {
      isCa: true,
      commonName,
      subject: { organizationalUnits: [s.namespace] },
      secretName,
      secretTemplate: { labels: s.labels },
      issuerRef: { name: issuer.name, kind: issuer.kind, group: 'cert-manager.io' },
      duration: life.duration,
      renewBefore: life.renewBefore,
      privateKey: privateKeySpec(s.privateKey, s.rotation),
      usages: usagesFor('ca', s.privateKey.algorithm),
    },
  });
  const bootstrap = new Issuer(scope, 'Bootstrap', {
    metadata: { name: `${s.name}-pki-bootstrap`, labels: s.labels },
    spec: { selfSigned: {} },
  });
  const rootName = `${s.name}-root-ca`;
  const root = new Certificate(scope, 'RootCa',
    caProps(rootName, `${s.name} root CA`, { kind: 'Issuer', name: bootstrap.name }, s.rootLifetime));
  const rootIssuer = new Issuer(scope, 'RootIssuer', {
    metadata: { name: rootName, labels: s.labels },
    spec: { ca: { secretName: rootName } },
  });
  const issuers: Partial<Record<CaPurpose, IssuerReference>> = {};
  const sources: Partial<Record<CaPurpose, TrustSource>> = {};
  const certificates: Partial<Record<CaPurpose | 'root', Certificate>> = { root };
  for (const purpose of ['internode', 'frontend', 'platform-clients'] as const) {
    const caName = `${s.name}-${purpose}-ca`;
    certificates[purpose] = new Certificate(scope, `${pascal(purpose)}Ca`,
      caProps(caName, `${s.name} ${purpose} CA`, { kind: 'Issuer', name: rootIssuer.name }, s.caLifetime));
    const issuer = new Issuer(scope, `${pascal(purpose)}Issuer`, {
      metadata: { name: caName, labels: s.labels },
      spec: { ca: { secretName: caName } },
    });
    issuers[purpose] = { kind: 'Issuer', name: issuer.name };
    // The CA Secret's `tls.crt` is the purpose CA alone (cert-manager leaves the self-signed root out).
    sources[purpose] = { secretName: caName, key: 'tls.crt' };
  }
  const prefix = globalPrefix(s.name, s.namespace);
  const workloadName = `${prefix}-workload-ca`;
  const workloadBootstrap = new Issuer(scope, 'WorkloadBootstrap', {
    metadata: { name: `${prefix}-workload-bootstrap`, namespace: s.clusterResourceNamespace, labels: s.labels },
    spec: { selfSigned: {} },
  });
  certificates.workload = new Certificate(scope, 'WorkloadCa', caProps(workloadName, `${s.name} workload CA`,
    { kind: 'Issuer', name: workloadBootstrap.name }, s.rootLifetime, s.clusterResourceNamespace));
  const workloadIssuer = new ClusterIssuer(scope, 'WorkloadIssuer', {
    metadata: { name: workloadName, labels: s.labels },
    spec: { ca: { secretName: workloadName } },
  });
  stripNamespace(workloadIssuer);
  issuers.workload = { kind: 'ClusterIssuer', name: workloadIssuer.name };
  return {
    issuers: issuers as Record<CaPurpose, IssuerReference>,
    sources,
    root: { secretName: rootName, key: 'tls.crt' },
    certificates: certificates as Record<CaPurpose | 'root', Certificate>,
  };
}

/** cdk8s stamps the chart namespace on every object; a ClusterIssuer is cluster-scoped and must not carry one. */
export function stripNamespace(obj: ApiObject): void {
  if (obj.metadata.namespace !== undefined) {
    obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}

function pascal(value: string): string {
  return value.split('-').map((p) => p[0].toUpperCase() + p.slice(1)).join('');
}
