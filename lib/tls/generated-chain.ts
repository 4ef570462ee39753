import { ApiObject, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { Certificate, ClusterIssuer, Issuer } from '../../imports/cert-manager.io';
import { pascalCase } from '../core/names';
import { IssuerReference } from './issuer-check';
import { KeyRotationPolicy, Lifetime, ResolvedPrivateKey, usagesFor } from './settings';
import { CaName as AnyCaName, certManagerSpec, CertificateSpecification } from './specification';

/** The CAs of the generated chain. */
type CaName = Exclude<AnyCaName, 'database-clients'>;
import { CaSlot } from './layout';
import { TrustSource } from './sources';
import { CA_PURPOSES, CaPurpose } from './trust';

/** Inputs of the generated chain, already validated by TemporalPki. */
export interface GeneratedChainSettings {
  readonly name: string;
  readonly namespace: string;
  /**
   * Where the workload CA's Secret lives: cert-manager's cluster resource namespace (a ClusterIssuer reads
   * its Secret there), or the Temporal namespace when the chain is minted outside cert-manager.
   */
  readonly workloadNamespace: string;
  readonly privateKey: ResolvedPrivateKey;
  readonly rotation: KeyRotationPolicy;
  readonly rootLifetime: Lifetime;
  readonly caLifetime: Lifetime;
  readonly labels: Record<string, string>;
  /** Which key slot of each purpose CA signs new leaves (the other is trusted and signs nothing). */
  readonly signingSlots: Readonly<Record<CaPurpose, CaSlot>>;
}

/** The purpose CAs signed by the root, in order. */
export const ROOT_SIGNED_PURPOSES = ['internode', 'frontend', 'platform-clients'] as const;

/**
 * Name prefix of objects outside the Temporal namespace (the ClusterIssuer, the workload CA in the cluster
 * resource namespace): `<namespace>-<name>`, or `<name>` when both are equal, so that two installations in
 * two namespaces never collide.
 */
export function globalPrefix(name: string, namespace: string): string {
  return name === namespace ? name : `${namespace}-${name}`;
}

/** One CA certificate of an installation (`<name> <which> CA`, OU = its namespace), as a specification. Pure. */
export function caSpecification(s: Pick<GeneratedChainSettings, 'name' | 'namespace' | 'privateKey' | 'rotation' | 'labels'>, ca: {
  readonly which: AnyCaName;
  readonly secretName: string;
  readonly issuer: AnyCaName | 'self';
  readonly lifetime: Lifetime;
  /** @default s.namespace */
  readonly namespace?: string;
  /** The key slot of a purpose CA; slot 2 carries it in its common name. @default - none (slot 1) */
  readonly slot?: CaSlot;
}): CertificateSpecification {
  return {
    certificateName: ca.secretName,
    secretName: ca.secretName,
    namespace: ca.namespace ?? s.namespace,
    role: 'ca',
    ca: ca.which,
    ...(ca.slot !== undefined ? { slot: ca.slot } : {}),
    issuer: ca.issuer,
    commonName: ca.slot === 2 ? `${s.name} ${ca.which} CA 2` : `${s.name} ${ca.which} CA`,
    organizationalUnits: [s.namespace],
    dnsNames: [],
    uris: [],
    usages: usagesFor('ca', s.privateKey.algorithm).map(String),
    privateKey: s.privateKey,
    keyRotation: s.rotation,
    lifetime: ca.lifetime,
    labels: s.labels,
  };
}

/**
 * The CA certificates of the generated chain, as specifications: the root (self-signed), the internode,
 * frontend and platform-clients CAs under it, and the workload CA, a root of its own. Pure.
 */
export function caSpecifications(s: GeneratedChainSettings): Record<CaName, CertificateSpecification> {
  const ca = (which: CaName, secretName: string, issuer: CaName | 'self', life: Lifetime, namespace = s.namespace) =>
    caSpecification(s, { which, secretName, issuer, lifetime: life, namespace });
  const specs: Partial<Record<CaName, CertificateSpecification>> = {
    root: ca('root', `${s.name}-root-ca`, 'self', s.rootLifetime),
  };
  for (const purpose of ROOT_SIGNED_PURPOSES) {
    specs[purpose] = ca(purpose, `${s.name}-${purpose}-ca`, 'root', s.caLifetime);
  }
  specs.workload = ca('workload', `${globalPrefix(s.name, s.namespace)}-workload-ca`, 'self', s.rootLifetime, s.workloadNamespace);
  return specs as Record<CaName, CertificateSpecification>;
}

/** Secret name of a purpose CA's key slot: slot 1 is the CA's own name, slot 2 adds `-2`. Pure. */
export function slotSecretName(slot1SecretName: string, slot: CaSlot): string {
  return slot === 1 ? slot1SecretName : `${slot1SecretName}-${slot}`;
}

/**
 * The second key slot of each purpose CA, as specifications: the same CA (same issuer, lifetime and
 * namespace), another key, Secret `<slot 1 Secret>-2`. Pure.
 */
export function secondSlotSpecifications(s: GeneratedChainSettings, first: Record<CaName, CertificateSpecification>):
  Record<CaPurpose, CertificateSpecification> {
  return Object.fromEntries(CA_PURPOSES.map((purpose) => {
    const one = first[purpose];
    return [purpose, caSpecification(s, {
      which: purpose, secretName: slotSecretName(one.secretName, 2), issuer: one.issuer as CaName | 'self',
      lifetime: one.lifetime, namespace: one.namespace, slot: 2,
    })];
  })) as Record<CaPurpose, CertificateSpecification>;
}

export interface GeneratedChain {
  /** The issuer of each purpose's leaves: it signs with the purpose's signing slot. */
  readonly issuers: Record<CaPurpose, IssuerReference>;
  /**
   * The second slot's trust anchor of the purposes whose CA Secrets live in the Temporal namespace (not the workload CA,
   * whose anchors come by carrier); the first slot's is the CA Secret of `caSpecifications`.
   */
  readonly secondSlotSources: Partial<Record<CaPurpose, TrustSource>>;
  readonly certificates: Record<CaName, Certificate>;
  /**
   * One ClusterIssuer per slot of the workload CA, each signing with its slot whatever signs leaves: the
   * trust carriers of the slots are issued by them, so that each carrier's `ca.crt` is its slot's CA.
   */
  readonly workloadSlotIssuers: Record<CaSlot, IssuerReference>;
}

/**
 * The generated chain, issued by cert-manager:
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
export function createGeneratedChain(scope: Construct, s: GeneratedChainSettings,
  specs: Record<CaName, CertificateSpecification>, second: Record<CaPurpose, CertificateSpecification>): GeneratedChain {
  const certificate = (id: string, spec: CertificateSpecification, issuer: IssuerReference): Certificate =>
    new Certificate(scope, id, {
      metadata: { name: spec.certificateName, namespace: spec.namespace, labels: { ...spec.labels } },
      spec: certManagerSpec(spec, issuer),
    });
  const bootstrap = new Issuer(scope, 'Bootstrap', {
    metadata: { name: `${s.name}-pki-bootstrap`, labels: s.labels },
    spec: { selfSigned: {} },
  });
  const certificates: Partial<Record<CaName, Certificate>> = {
    root: certificate('RootCa', specs.root, { kind: 'Issuer', name: bootstrap.name }),
  };
  const rootIssuer = new Issuer(scope, 'RootIssuer', {
    metadata: { name: specs.root.secretName, labels: s.labels },
    spec: { ca: { secretName: specs.root.secretName } },
  });
  const issuers: Partial<Record<CaPurpose, IssuerReference>> = {};
  const secondSlotSources: Partial<Record<CaPurpose, TrustSource>> = {};
  // The issuer keeps the CA's name whichever slot signs: Certificates, policies and labels never change.
  const signingSecret = (purpose: CaPurpose) => (s.signingSlots[purpose] === 1 ? specs[purpose] : second[purpose]).secretName;
  for (const purpose of ROOT_SIGNED_PURPOSES) {
    const spec = specs[purpose];
    certificates[purpose] = certificate(`${pascalCase(purpose)}Ca`, spec, { kind: 'Issuer', name: rootIssuer.name });
    certificate(`${pascalCase(purpose)}Ca2`, second[purpose], { kind: 'Issuer', name: rootIssuer.name });
    const issuer = new Issuer(scope, `${pascalCase(purpose)}Issuer`, {
      metadata: { name: spec.secretName, labels: s.labels },
      spec: { ca: { secretName: signingSecret(purpose) } },
    });
    issuers[purpose] = { kind: 'Issuer', name: issuer.name };
    // The CA Secret's `tls.crt` is the purpose CA alone (cert-manager leaves the self-signed root out).
    secondSlotSources[purpose] = { secretName: second[purpose].secretName, key: 'tls.crt' };
  }
  const workload = specs.workload;
  const workloadBootstrap = new Issuer(scope, 'WorkloadBootstrap', {
    metadata: { name: `${globalPrefix(s.name, s.namespace)}-workload-bootstrap`, namespace: workload.namespace, labels: s.labels },
    spec: { selfSigned: {} },
  });
  certificates.workload = certificate('WorkloadCa', workload, { kind: 'Issuer', name: workloadBootstrap.name });
  certificate('WorkloadCa2', second.workload, { kind: 'Issuer', name: workloadBootstrap.name });
  const clusterIssuer = (id: string, name: string, secretName: string): IssuerReference => {
    const issuer = new ClusterIssuer(scope, id, { metadata: { name, labels: s.labels }, spec: { ca: { secretName } } });
    stripNamespace(issuer);
    return { kind: 'ClusterIssuer', name: issuer.name };
  };
  issuers.workload = clusterIssuer('WorkloadIssuer', workload.secretName, signingSecret('workload'));
  const workloadSlotIssuers = {
    1: clusterIssuer('WorkloadSlot1Issuer', `${workload.secretName}-slot-1`, workload.secretName),
    2: clusterIssuer('WorkloadSlot2Issuer', `${workload.secretName}-slot-2`, second.workload.secretName),
  };
  return {
    issuers: issuers as Record<CaPurpose, IssuerReference>,
    secondSlotSources,
    certificates: certificates as Record<CaName, Certificate>,
    workloadSlotIssuers,
  };
}

/** cdk8s stamps the chart namespace on every object; a ClusterIssuer is cluster-scoped and must not carry one. */
export function stripNamespace(obj: ApiObject): void {
  if (obj.metadata.namespace !== undefined) {
    obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}

